/**
 * A TCP proxy in front of a gateway, to lose connections the way networks do: `cut()` destroys
 * every open connection at once (the client sees an abnormal close, the server a broken socket),
 * `refuse(true)` makes new connections fail until `refuse(false)`.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class Proxy {
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards to `targetPort`. */
  static start(targetPort: number): Promise<Proxy> {
    return new Promise((resolve) => {
      let proxy: Proxy;
      const server = createServer((client) => {
        if (proxy.refusing) {
          client.destroy();
          return;
        }
        proxy.accepted++;
        const upstream = connect(targetPort, '127.0.0.1');
        proxy.sockets.add(client);
        proxy.sockets.add(upstream);
        const drop = (): void => {
          client.destroy();
          upstream.destroy();
          proxy.sockets.delete(client);
          proxy.sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        proxy = new Proxy(server, typeof a === 'object' && a !== null ? a.port : 0);
        resolve(proxy);
      });
    });
  }

  /** ws://127.0.0.1:{port}/ws */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Breaks every open connection. */
  cut(): void {
    for (const s of this.sockets) {
      s.destroy();
    }
    this.sockets.clear();
  }

  /** Refuses (true) or accepts (false) new connections. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}
