/**
 * Transport: the socket of one connection attempt (a WebSocket, or the SSE transport behind the
 * same interface), the outbound queue paced below the server's rate limit, ephemeral signals,
 * and the decision to fall back to Server-Sent Events when WebSocket upgrades are refused.
 */
import type { TandemClient, TandemClientOptions } from './client.js';
import type { Logger } from './emitter.js';
import { TandemError, unavailable } from './errors.js';
import { TokenBucket, type Positions } from './positions.js';
import { CLOSE_CODES, SUBPROTOCOL, type ClientFrame, type DisconnectFrame, type JsonObject, type WelcomeFrame } from './protocol.js';
import { SseSocket, healthUrlFor, sseUrlFor, type EventSourceConstructor, type FetchFunction } from './sse.js';

/**
 * An event handler slot of a {@link WebSocketLike}. Declared through a method so its parameter
 * is checked both ways: the browser's handlers take a `MessageEvent`/`CloseEvent`, the `ws`
 * package's its own event classes, and both carry at least the fields named here.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/**
 * The part of the WebSocket API the client uses, structurally: the browser's `WebSocket`, the
 * `ws` package's and any other implementation with these members fit without a cast.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket constructor: `globalThis.WebSocket` in browsers (and Node 22+), or `WebSocket`
 * from the `ws` package in Node 20, passed as it is.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * How the client reaches the server: `websocket` only, `sse` only (Server-Sent Events plus
 * HTTP POSTs), or `auto`: WebSocket first, and Server-Sent Events after `fallbackAfter`
 * WebSocket attempts in a row failed before the upgrade completed while the gateway still
 * answers plain HTTP (`GET /health`), e.g. behind a proxy that refuses upgrades.
 */
export type TransportOption = 'auto' | 'websocket' | 'sse';

/** One connection attempt and its per-socket state. */
export class Conn {
  ws: WebSocketLike | undefined;
  transport: 'websocket' | 'sse' = 'websocket';
  /** The socket opened (for a WebSocket: the upgrade succeeded). */
  opened = false;
  ready = false;
  ended = false;
  disconnect: DisconnectFrame | undefined;
  lastHeard = 0;
  timers: Array<ReturnType<typeof setTimeout>> = [];
}

/** What a socket reports to the connection that opened it. */
export interface SocketEvents {
  /** The socket opened: send the connect frame. */
  open(): void;
  /** A text frame arrived. */
  text(text: string): void;
  /** The socket closed; `error` says why and `retry` whether to reconnect. */
  closed(error: TandemError, retry: boolean): void;
  /** Something the server sent that is not a frame (binary). */
  invalid(reason: string): void;
}

/** The transport's settings, from the client's options. */
export interface TransportOptions {
  readonly urls: readonly string[];
  readonly sseUrls: readonly string[];
  readonly option: TransportOption;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly EventSource: EventSourceConstructor | undefined;
  readonly fetch: FetchFunction | undefined;
  readonly fallbackAfter: number;
  readonly ephemeralPerSecond: number;
  readonly log: Logger;
  readonly now: () => number;
  /** The channels the SSE stream must carry and where each stands. */
  readonly channels: () => string[];
  /** Whether a channel's subscription asks for Fossil deltas (the SSE stream asks with `delta=fossil`). */
  readonly delta: (channel: string) => boolean;
  readonly positions: Positions;
}

const OPEN = 1;

interface Pending {
  readonly conn: Conn;
  /** Run as the reply is read, before the frames after it (a promise's callbacks run later). */
  readonly onReply: ((body: JsonObject) => void) | undefined;
  readonly resolve: (body: JsonObject) => void;
  readonly reject: (error: TandemError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** The transport's settings from the client's options, checked (throws a TypeError for a bad one). */
export function transportOptions(options: TandemClientOptions, client: TandemClient): TransportOptions {
  const urls = typeof options.url === 'string' ? [options.url] : [...options.url];
  if (urls.length === 0) {
    throw new TypeError('TandemClient needs a url');
  }
  const option: TransportOption = options.transport ?? 'auto';
  if (!['auto', 'websocket', 'sse'].includes(option)) {
    throw new TypeError(`transport must be 'auto', 'websocket' or 'sse', not ${String(option)}`);
  }
  for (const u of urls) {
    if (!/^wss?:\/\//.test(u) && !(option === 'sse' && /^https?:\/\//.test(u))) {
      throw new TypeError(`the url must be ws:// or wss://, not ${u}`);
    }
  }
  const g = globalThis as { WebSocket?: WebSocketConstructor; EventSource?: unknown; fetch?: FetchFunction };
  const WS = options.WebSocket ?? g.WebSocket;
  const ES = options.EventSource ?? (g.EventSource as EventSourceConstructor | undefined);
  const f = options.fetch ?? g.fetch;
  const fetchFn: FetchFunction | undefined = f === undefined ? undefined : (input, init) => f(input, init);
  if (option !== 'sse' && WS === undefined) {
    throw new TypeError("no global WebSocket here: pass options.WebSocket (in Node 20, the ws package's WebSocket)");
  }
  if (option === 'sse' && (ES === undefined || fetchFn === undefined)) {
    throw new TypeError('transport sse needs EventSource and fetch: pass options.EventSource (in Node 20, FetchEventSource)');
  }
  const sseUrl = options.sseUrl;
  return {
    urls,
    sseUrls: sseUrl === undefined ? urls.map(sseUrlFor) : typeof sseUrl === 'string' ? [sseUrl] : [...sseUrl],
    option,
    WebSocket: WS,
    EventSource: ES,
    fetch: fetchFn,
    fallbackAfter: Math.max(1, options.fallbackAfter ?? 3),
    ephemeralPerSecond: options.ephemeralPerSecond ?? 10,
    log: client.log,
    now: client.now,
    channels: () => client.subscriptions.names(),
    delta: (channel) => client.subscriptions.wantsDelta(channel),
    positions: client.subscriptions.positions,
  };
}

/** Sockets, pacing and the SSE fallback of one client. */
export class Transport {
  private mode: 'websocket' | 'sse';
  /** WebSocket attempts in a row that failed before the upgrade completed. */
  private upgradeFailures = 0;
  private urlIndex = 0;
  private readonly outbox: string[] = [];
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly bucket: TokenBucket;
  private readonly signalBucket: TokenBucket;
  private readonly signals = new Map<string, ClientFrame>();
  private signalTimer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly o: TransportOptions,
    /** The connection frames are written to (the current attempt). */
    private readonly current: () => Conn | undefined,
    /** Ends a connection whose socket failed. */
    private readonly fail: (c: Conn, why: TandemError) => void,
  ) {
    this.mode = o.option === 'sse' ? 'sse' : 'websocket';
    this.bucket = new TokenBucket(40, 80, o.now);
    const eps = o.ephemeralPerSecond;
    this.signalBucket = new TokenBucket(eps * 0.8, Math.max(1, Math.floor(eps * 0.8)), o.now);
  }

  /** The transport in use. */
  get kind(): 'websocket' | 'sse' {
    return this.mode;
  }

  /** The URL of the current attempt (attempts rotate through the list). */
  get url(): string {
    return this.o.urls[this.urlIndex % this.o.urls.length] as string;
  }

  /** The next attempt goes to the next URL. */
  rotate(): void {
    this.urlIndex++;
  }

  /** Before an attempt: after repeated refused upgrades, may switch to SSE (see {@link considerFallback}). */
  async choose(): Promise<'websocket' | 'sse'> {
    if (this.mode === 'websocket' && this.o.option === 'auto' && this.upgradeFailures >= this.o.fallbackAfter) {
      await this.considerFallback();
    }
    return this.mode;
  }

  /** Opens the socket of `c` (its transport chosen) and wires its events; throws if it cannot be created. */
  open(c: Conn, events: SocketEvents): void {
    const ws = c.transport === 'sse' ? this.sseSocket() : new (this.o.WebSocket as WebSocketConstructor)(this.url.replace(/^http/, 'ws'), SUBPROTOCOL);
    c.ws = ws;
    ws.onopen = () => {
      if (c.ended) {
        return;
      }
      c.opened = true;
      // the server's bucket starts full; ours too, with a margin (see drain)
      this.bucket.reset(40, 80, true);
      events.open();
    };
    ws.onmessage = (event) => {
      if (c.ended) {
        return;
      }
      c.lastHeard = this.o.now();
      if (typeof event.data !== 'string') {
        events.invalid('a binary message');
        return;
      }
      events.text(event.data);
    };
    ws.onclose = (event) => {
      const d = c.disconnect;
      const code = event.code;
      const reason = event.reason !== '' ? event.reason : (d?.reason ?? CLOSE_CODES[code]?.name ?? 'connection closed');
      const retry = d !== undefined ? d.reconnect : (CLOSE_CODES[code]?.reconnect ?? true);
      const err =
        code === 4001
          ? new TandemError('unauthorized', `the server refused the token: ${reason}`, { transient: false, closeCode: code })
          : new TandemError(retry ? 'unavailable' : 'closed', `connection closed (${code}): ${reason}`, {
              transient: retry,
              closeCode: code,
            });
      events.closed(err, retry);
    };
    ws.onerror = () => {
      // a close event follows; it carries the code
    };
  }

  /** After a welcome: pace below the server's limits, with a margin for network jitter. */
  welcomed(w: WelcomeFrame): void {
    const rate = Math.max(1, w.limits.messagesPerSecond * 0.8);
    const cap = Math.max(1, Math.floor(w.limits.burst * 0.8) - 1);
    this.bucket.reset(rate, cap, false);
    const eps = w.limits.ephemeralPerSecond ?? this.o.ephemeralPerSecond;
    this.signalBucket.reset(eps * 0.8, Math.max(1, Math.floor(eps * 0.8)), true);
  }

  /**
   * Sends a frame with a fresh id on `c`; the promise settles with its reply or error, or after
   * `timeoutMs`. `onReply` sees the reply at once, before any frame that came after it.
   */
  request(c: Conn, frame: ClientFrame, timeoutMs: number, onReply?: (body: JsonObject) => void): Promise<JsonObject> {
    const id = this.nextId++;
    return new Promise<JsonObject>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) {
          reject(new TandemError('timeout', `no reply to ${frame.op} within ${timeoutMs} ms`, { transient: true }));
        }
      }, timeoutMs);
      this.pending.set(id, { conn: c, onReply, resolve, reject, timer });
      this.send(c, { ...frame, id });
    });
  }

  /** The reply to request `id`. */
  reply(id: number, body: JsonObject): void {
    const p = this.pending.get(id);
    if (p === undefined) {
      this.o.log.debug(`reply ${id} came after its request gave up`);
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.onReply?.(body);
    p.resolve(body);
  }

  /** Fails request `id`; false if no request waits with that id. */
  failRequest(id: number, error: TandemError): boolean {
    const p = this.pending.get(id);
    if (p === undefined) {
      return false;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.reject(error);
    return true;
  }

  /**
   * A connection ended: counts a refused upgrade, fails its requests with `why`, drops what
   * waited to be written, detaches the socket.
   */
  ended(c: Conn, why: TandemError): void {
    for (const [id, p] of [...this.pending]) {
      if (p.conn === c) {
        this.failRequest(id, why);
      }
    }
    if (c.transport === 'websocket' && c.ws !== undefined) {
      // only a socket that was opened and never upgraded counts (not a getToken failure)
      this.upgradeFailures = c.opened ? 0 : this.upgradeFailures + 1;
    }
    this.outbox.length = 0;
    this.signals.clear();
    if (c.ws !== undefined) {
      c.ws.onmessage = null;
      c.ws.onopen = null;
      c.ws.onclose = null;
    }
  }

  /** Closes the socket without waiting for the server (4000). */
  abort(c: Conn): void {
    try {
      c.ws?.close(4000, 'abandoned by the client');
    } catch {
      // nothing to close
    }
  }

  /** Queues a frame for `c` and writes what the rate limit allows. */
  send(c: Conn, frame: ClientFrame): void {
    this.outbox.push(JSON.stringify(frame));
    if (this.current() === c) {
      this.drain();
    }
  }

  /**
   * Queues an ephemeral signal; signals with the same `key` replace each other while they wait,
   * so the latest one is sent and none is refused by the server's limit.
   */
  signal(key: string, frame: ClientFrame): void {
    this.signals.delete(key); // re-insert at the end: the oldest waiting key goes first
    this.signals.set(key, frame);
    this.drainSignals();
  }

  /** Writes queued frames while the bucket allows, then waits for the next token. */
  private drain(): void {
    const c = this.current();
    if (c === undefined || c.ended || c.ws === undefined || c.ws.readyState !== OPEN) {
      return;
    }
    while (this.outbox.length > 0 && this.bucket.tryTake()) {
      const text = this.outbox.shift() as string;
      try {
        c.ws.send(text);
      } catch (e) {
        this.abort(c);
        this.fail(c, unavailable(`send failed: ${String(e)}`));
        return;
      }
    }
    if (this.outbox.length > 0 && this.drainTimer === undefined) {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = undefined;
        this.drain();
      }, this.bucket.waitMs());
    }
  }

  private drainSignals(): void {
    while (this.signals.size > 0 && this.signalBucket.tryTake()) {
      const [key, frame] = this.signals.entries().next().value as [string, ClientFrame];
      this.signals.delete(key);
      const c = this.current();
      if (c === undefined || !c.ready || c.ended) {
        this.signals.clear();
        return;
      }
      this.send(c, frame);
    }
    if (this.signals.size > 0 && this.signalTimer === undefined) {
      this.signalTimer = setTimeout(() => {
        this.signalTimer = undefined;
        this.drainSignals();
      }, this.signalBucket.waitMs());
    }
  }

  /** An SSE "socket" to the current URL's SSE endpoint. */
  private sseSocket(): WebSocketLike {
    return new SseSocket({
      url: this.o.sseUrls[this.urlIndex % this.o.sseUrls.length] as string,
      EventSource: this.o.EventSource as EventSourceConstructor,
      fetch: this.o.fetch as FetchFunction,
      channels: this.o.channels,
      delta: this.o.delta,
      position: (channel) => this.o.positions.get(channel),
      log: this.o.log,
    });
  }

  /**
   * After repeated failed upgrades: switches to SSE for the rest of this client's life when
   * the gateway answers plain HTTP (`GET /health`), i.e. something between refuses WebSocket.
   */
  private async considerFallback(): Promise<void> {
    const fetchFn = this.o.fetch;
    if (this.o.EventSource === undefined || fetchFn === undefined) {
      return;
    }
    const url = this.o.sseUrls[this.urlIndex % this.o.sseUrls.length] as string;
    const answers = async (target: string, ok: (status: number) => boolean): Promise<boolean> => {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 5000);
      try {
        const res = await fetchFn(target, { signal: abort.signal, cache: 'no-store' });
        await res.body?.cancel().catch(() => undefined);
        return ok(res.status);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    };
    // the gateway answers /health with 200 (or 503 while draining), and a stream without a token with 401
    if ((await answers(healthUrlFor(url), (s) => s === 200 || s === 503)) || (await answers(url, (s) => s === 401))) {
      this.o.log.warn(`${this.upgradeFailures} WebSocket upgrades failed while HTTP works: falling back to Server-Sent Events`);
      this.mode = 'sse';
    } else {
      this.o.log.info('WebSocket upgrades fail and HTTP does not answer either: the network is down, staying on WebSocket');
    }
  }
}
