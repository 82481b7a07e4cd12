/**
 * An HTTP proxy in front of a gateway that refuses WebSocket upgrades, like corporate proxies
 * that break WebSocket: a request with `Upgrade: websocket` is answered 403, everything else is
 * forwarded, streaming responses (`text/event-stream`) included, chunk by chunk. `cut()` breaks
 * every open connection (a network drop).
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';

export class RefusingProxy {
  private readonly sockets = new Set<Socket>();
  /** Upgrade requests refused so far. */
  refusedUpgrades = 0;
  /** Requests forwarded so far, by path (without query). */
  readonly forwarded: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards to 127.0.0.1:`targetPort`. */
  static start(targetPort: number): Promise<RefusingProxy> {
    return new Promise((resolve) => {
      let proxy: RefusingProxy;
      const server = createServer((req, res) => {
        proxy.forwarded.push((req.url ?? '').split('?')[0] ?? '');
        const upstream = request(
          { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
          (up: IncomingMessage) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.flushHeaders();
            up.on('data', (chunk: Buffer) => res.write(chunk));
            up.on('end', () => res.end());
            up.on('error', () => res.destroy());
          },
        );
        upstream.on('error', () => {
          if (!res.headersSent) {
            res.writeHead(502).end();
          } else {
            res.destroy();
          }
        });
        res.on('close', () => upstream.destroy());
        req.pipe(upstream);
      });
      server.on('connection', (s: Socket) => {
        proxy.sockets.add(s);
        s.on('close', () => proxy.sockets.delete(s));
      });
      server.on('upgrade', (_req, socket: Socket) => {
        proxy.refusedUpgrades++;
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 24\r\nConnection: close\r\n\r\nWebSocket is not allowed');
      });
      server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        proxy = new RefusingProxy(server, typeof a === 'object' && a !== null ? a.port : 0);
        resolve(proxy);
      });
    });
  }

  /** http://127.0.0.1:{port} */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** ws://127.0.0.1:{port}/ws (always refused) */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Breaks every open connection (streams and requests). */
  cut(): void {
    for (const s of this.sockets) {
      s.destroy();
    }
    this.sockets.clear();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}
