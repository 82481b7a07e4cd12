/**
 * A scripted `tandem.v1` server for what a real gateway never does on purpose: malformed frames,
 * chosen errors, dropped connections at chosen moments. Tests that can use the real gateway do.
 */
import { WebSocketServer, type WebSocket } from 'ws';

/** A frame as the fake received it. */
export type Frame = { op: string; id?: number; [k: string]: unknown };

/** One client connection to the fake. */
export class FakeConnection {
  readonly frames: Frame[] = [];
  /** When each frame arrived (ms). */
  readonly times: number[] = [];

  constructor(readonly ws: WebSocket) {}

  /** Sends a frame (an object) or raw text. */
  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a welcome with the given limits. */
  welcome(user = 'alice', limits: Partial<Record<string, number>> = {}): void {
    this.send({
      op: 'welcome',
      session: 's1',
      node: 'fake',
      user,
      tenant: 'acme',
      heartbeatMs: 25_000,
      limits: { maxFrameBytes: 65_536, messagesPerSecond: 50, burst: 100, maxSubscriptions: 128, ...limits },
    });
  }

  /** Answers a request. */
  reply(id: number | undefined, body: object = {}): void {
    this.send({ op: 'reply', id, ...body });
  }

  /** Refuses a request. */
  error(id: number | undefined, code: string, message = code): void {
    this.send({ op: 'error', id, code, message });
  }

  /** Breaks the connection without a close frame. */
  drop(): void {
    this.ws.terminate();
  }
}

/** What the fake does with each frame; the default answers `connect` with a welcome and pings with a reply. */
export type Script = (conn: FakeConnection, frame: Frame) => void;

export class FakeServer {
  readonly connections: FakeConnection[] = [];
  script: Script = defaultScript();

  private constructor(
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {}

  static start(): Promise<FakeServer> {
    return new Promise((resolve) => {
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      wss.on('listening', () => {
        const a = wss.address();
        const server = new FakeServer(wss, typeof a === 'object' && a !== null ? a.port : 0);
        wss.on('connection', (ws) => {
          const conn = new FakeConnection(ws);
          server.connections.push(conn);
          ws.on('message', (raw) => {
            const frame = JSON.parse(String(raw)) as Frame;
            conn.frames.push(frame);
            conn.times.push(Date.now());
            server.script(conn, frame);
          });
        });
        resolve(server);
      });
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Every frame received, over all connections, with the given op. */
  received(op: string): Frame[] {
    return this.connections.flatMap((c) => c.frames.filter((f) => f.op === op));
  }

  close(): Promise<void> {
    for (const c of this.connections) {
      c.ws.terminate();
    }
    return new Promise((r) => this.wss.close(() => r()));
  }
}

/** Welcomes, answers pings, subscribes (at offset 0) and acks; ignores the rest unless `more` handles it. */
export function defaultScript(more: Script = () => {}, welcome: (c: FakeConnection) => void = (c) => c.welcome()): Script {
  return (conn, frame) => {
    switch (frame.op) {
      case 'connect':
        welcome(conn);
        return;
      case 'ping':
        conn.reply(frame.id);
        return;
      case 'subscribe':
        if (frame.channel !== undefined && String(frame.channel).startsWith('user:')) {
          conn.reply(frame.id, { channel: frame.channel, epoch: 'e1', offset: 0 });
          return;
        }
        break;
      case 'ack':
        conn.reply(frame.id, { acknowledged: 0, remaining: 0 });
        return;
    }
    more(conn, frame);
  };
}
