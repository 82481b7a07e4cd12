import { Backoff, type BackoffOptions } from './backoff.js';
import { Emitter, consoleLogger, type Logger, type Unsubscribe } from './emitter.js';
import { browserEnvironment, type Environment, type EnvironmentChange } from './environment.js';
import { TandemError, unavailable } from './errors.js';
import { Documents } from './documents.js';
import { IndexedDbStorage } from './indexeddb.js';
import { Positions, TokenBucket } from './positions.js';
import { PresenceChannel, type PresenceOptions } from './presence.js';
import { MemoryStorage, type QueueStorage } from './storage.js';
import { SseSocket, healthUrlFor, sseUrlFor, type EventSourceConstructor, type FetchFunction } from './sse.js';
import {
  CLOSE_CODES,
  SUBPROTOCOL,
  TOKEN_EXPIRED,
  TOKEN_REVOKED,
  decodeServerFrame,
  type ClientFrame,
  type ConflictFrame,
  type DisconnectFrame,
  type EventFrame,
  type Json,
  type JsonObject,
  type Limits,
  type Position,
  type PresenceFrame,
  type WelcomeFrame,
} from './protocol.js';

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

/** Why the client asks for a token. */
export type TokenReason =
  /** a connection attempt */
  | 'connect'
  /** the current token expires soon: it will be sent as `refresh` on the open connection */
  | 'refresh'
  /** the server closed with 4003 (token expired): a cached token must not be returned again */
  | 'expired';

/** A token, optionally with its expiry (ms since the epoch, or a Date); `welcome.expiresAt` wins when the server sends it. */
export type TokenResult = string | { token: string; expiresAt?: number | Date };

/** Where the connection stands. */
export type ConnectionState =
  /** not started: call {@link TandemClient.connect} */
  | 'idle'
  /** opening the first connection */
  | 'connecting'
  /** authenticated: requests flow */
  | 'connected'
  /** the connection was lost; waiting for or making a new attempt (with backoff) */
  | 'reconnecting'
  /** the network is down or {@link TandemClient.pause} was called: no attempts until it is back */
  | 'offline'
  /** ended: {@link TandemClient.close}, or the server said not to reconnect (e.g. 4001; `connect()` starts over) */
  | 'closed';

/**
 * How the client reaches the server: `websocket` only, `sse` only (Server-Sent Events plus
 * HTTP POSTs), or `auto`: WebSocket first, and Server-Sent Events after `fallbackAfter`
 * WebSocket attempts in a row failed before the upgrade completed while the gateway still
 * answers plain HTTP (`GET /health`), e.g. behind a proxy that refuses upgrades.
 */
export type TransportOption = 'auto' | 'websocket' | 'sse';

/** Options of a {@link TandemClient}. Only `url` and `getToken` are required. */
export interface TandemClientOptions {
  /** `ws://host/ws` or `wss://…`; with several, each new attempt goes to the next one. */
  url: string | readonly string[];
  /**
   * Supplies the token (a JWT). Called for every connection attempt, before the token expires
   * (`refresh`) and after the server closed with 4003 (`expired`). Throwing, rejecting or
   * returning no token fails the attempt with code `token_unavailable`: reported on `error`,
   * pending `connect()` calls reject with it, and the client tries again with backoff (a
   * {@link TandemError} thrown with `transient: false` ends it instead). It never counts as a
   * refused WebSocket, so it does not trigger the SSE fallback.
   */
  getToken: (reason: TokenReason) => TokenResult | Promise<TokenResult>;
  /** The WebSocket constructor; defaults to `globalThis.WebSocket` (Node 20 has none: pass the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  /**
   * `auto` (default): WebSocket, falling back to Server-Sent Events when upgrades are refused
   * (see {@link TransportOption}); `websocket`; or `sse`. Over SSE everything works the same
   * except setting a presence state (refused with `unsupported`).
   */
  transport?: TransportOption;
  /** `auto`: WebSocket attempts in a row that must fail before the upgrade before SSE is tried (default 3). */
  fallbackAfter?: number;
  /**
   * The `EventSource` constructor for SSE; defaults to `globalThis.EventSource`. Node 20 has
   * none: pass {@link FetchEventSource}. Without one, `auto` never falls back.
   */
  EventSource?: EventSourceConstructor;
  /** The `fetch` SSE POSTs and the health probe use; defaults to `globalThis.fetch`. */
  fetch?: FetchFunction;
  /** The SSE stream URL(s), default derived from `url`: `ws://host/ws` → `http://host/sse`. */
  sseUrl?: string | readonly string[];
  /** Network and page signals; defaults to the browser's, else always online and visible. */
  environment?: Environment;
  /** Backoff between reconnect attempts (default 200 ms doubling to 10 s, full jitter), or `false` never to reconnect. */
  reconnect?: BackoffOptions | false;
  /** How long a request waits for its reply, and an attempt for its welcome (default 10 s). */
  requestTimeoutMs?: number;
  /** Refresh the token this long before it expires (default 30 s, at most a third of its lifetime). */
  refreshMarginMs?: number;
  /**
   * Subscribe to `user:{you}` (your inbox) once connected, default true: manual-conflict notices,
   * `doc.overwritten` and backend confirmations arrive there. Received inbox frames are
   * acknowledged after their listeners ran unless `autoAck` is false.
   */
  inbox?: boolean;
  /** Acknowledge inbox frames once handled (default true). */
  autoAck?: boolean;
  /** Typing/cursor signals per second when the server does not announce its limit (default 10, the server's default). */
  ephemeralPerSecond?: number;
  /**
   * Where the offline operation queue is kept: default IndexedDB (database `tandem:{storageName}`)
   * in browsers, memory elsewhere.
   */
  storage?: QueueStorage;
  /** Name of the default IndexedDB queue; use one per app and user (default `default`). */
  storageName?: string;
  /** Where log lines go (default: warnings and errors to the console). */
  logger?: Partial<Logger>;
  /** The clock, ms since the epoch (for tests). */
  now?: () => number;
}

/** An event as handed to subscribers: a durable publication (with `position`) or an ephemeral signal. */
export interface TandemEvent<T = Json> {
  readonly channel: string;
  readonly type: string;
  readonly data: T;
  /** Epoch and offset; absent for ephemeral signals (typing, cursor). */
  readonly position?: Position;
  readonly eventId: string;
  readonly time: string;
  /** The publishing user, for client publications. */
  readonly from?: string;
}

/** The reply to a (re)subscribe: the channel's newest position and whatever the request asked for. */
export interface SubscribeReply {
  readonly channel: string;
  readonly position: Position;
  /** With `since`: whether the server replayed everything missed (false: re-read state). */
  readonly recovered?: boolean;
  /** Every field of the reply (`presence`, `document`, `inbox` …). */
  readonly body: JsonObject;
}

/** Event types to data types, for typed handlers, e.g. `{ 'stock.updated': { sku: string; qty: number } }`. */
export type EventMap = { [type: string]: unknown };

/** Handlers of one subscription. */
export interface SubscriptionHandlers<M extends EventMap = EventMap> {
  /** Every event of the channel, duplicates dropped, in order. */
  onEvent?: (event: TandemEvent) => void;
  /** Events by type. */
  on?: { [K in keyof M & string]?: (data: M[K], event: TandemEvent<M[K]>) => void };
  /** After each (re)subscribe; `reply.body` holds what the subscribe asked for. */
  onSubscribed?: (reply: SubscribeReply) => void;
  /** The server could not replay what was missed while disconnected: re-read state. */
  onRecoveryLost?: (top: Position) => void;
  /** Presence frames of the channel. */
  onPresence?: (frame: PresenceFrame) => void;
  /** The subscription ended for good (refused on resubscribe, or the client closed). */
  onEnded?: (error: TandemError) => void;
}

/** A live subscription; the channel is resubscribed after every reconnect, resuming from its position. */
export interface Subscription {
  readonly channel: string;
  /** Resolves with the first reply, rejects if the server refuses the channel. */
  readonly ready: Promise<SubscribeReply>;
  /** The last position seen on the channel. */
  position(): Position | undefined;
  /** Stops this handle; the channel is unsubscribed when its last handle stops. */
  unsubscribe(): void;
}

/** What a channel subscription asks the server for besides events. */
export interface SubscribeExtras {
  /** Ask for the presence members in the reply. */
  presence?: boolean;
  /** Ask for the document in the reply (`doc:` channels). */
  snapshot?: boolean;
  /**
   * Where to resume from when the client has no position of its own for the channel (e.g. the
   * position a `doc.query` page was read at): the server replays what came after it.
   */
  since?: Position;
}

/** Counters for tests, dashboards and benchmarks. */
export interface ClientStats {
  /** Durable and ephemeral events handed to subscribers. */
  events: number;
  /** Durable events dropped because their offset was already seen. */
  duplicates: number;
  /** Frames from the server that were not valid `tandem.v1`. */
  invalidFrames: number;
  /** Welcomes received (1 + successful reconnects). */
  welcomes: number;
  /** Connection attempts made. */
  attempts: number;
}

/** Events of a {@link TandemClient}. */
export interface ClientEvents {
  /** The connection state changed. */
  state: (state: ConnectionState) => void;
  /** A connection was authenticated. */
  welcome: (welcome: WelcomeFrame) => void;
  /** Every event delivered to subscribers (after de-duplication). */
  event: (event: TandemEvent) => void;
  /** Every presence frame. */
  presence: (frame: PresenceFrame) => void;
  /** Every conflict frame (de-duplicated); the documents API turns them into records. */
  conflict: (frame: ConflictFrame) => void;
  /**
   * A channel's missed events could not be recovered; `top` is where it stands now: a
   * (re)subscribe the server could not replay, or a live event in a new epoch (the server lost
   * the history; reported before that event). The Java client's `onRecoveryLost` reports the same.
   */
  recoveryLost: (channel: string, top: Position) => void;
  /** The server's `disconnect` frame, just before it closes. */
  disconnect: (frame: DisconnectFrame) => void;
  /** An error not tied to a request: refused resubscribe, error frames without id, token failures, the end of the client. */
  error: (error: TandemError) => void;
  /** A frame the server sent that is not valid `tandem.v1` (it was ignored). */
  invalidFrame: (reason: string) => void;
}

interface Pending {
  readonly conn: Conn;
  readonly resolve: (body: JsonObject) => void;
  readonly reject: (error: TandemError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** One WebSocket attempt and its per-socket state. */
class Conn {
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

interface Handle {
  readonly handlers: SubscriptionHandlers<EventMap>;
  readonly extras: SubscribeExtras;
  resolve?: (reply: SubscribeReply) => void;
  reject?: (error: TandemError) => void;
  settled: boolean;
}

/** A channel the client wants to be subscribed to, with all handles that asked for it. */
class Channel {
  readonly handles = new Set<Handle>();
  /** The connection the server-side subscription belongs to. */
  conn: Conn | undefined;
  inflight = false;
  lastReply: SubscribeReply | undefined;
  retries = 0;
  retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly name: string) {}

  wants(extra: 'presence' | 'snapshot'): boolean {
    for (const h of this.handles) {
      if (h.extras[extra] === true) {
        return true;
      }
    }
    return false;
  }
}

const OPEN = 1;

/**
 * `getToken` threw, rejected or returned no token: code `token_unavailable`, transient unless
 * the app threw a {@link TandemError} that says otherwise (its error is the `cause`).
 */
function tokenUnavailable(reason: TokenReason, e: unknown): TandemError {
  const transient = e instanceof TandemError ? e.transient : true;
  const detail = e instanceof Error ? e.message : String(e);
  return new TandemError('token_unavailable', `getToken('${reason}') failed: ${detail}`, { transient, cause: e });
}

/**
 * A `tandem.v1` client: one WebSocket, authenticated with a `connect` frame (browsers cannot
 * set headers), requests correlated by id, subscriptions that survive reconnects, presence and
 * signals; {@link Documents} (`client.documents`) adds documents and the offline queue.
 *
 * Connection: the token comes from `getToken()`, asked again before it expires (and sent as
 * `refresh`) and after the server closed with 4003. A lost connection is retried with
 * exponential backoff and full jitter unless the server said `reconnect: false` (e.g. 4001). While
 * the environment is offline (or after {@link pause}) no attempt is made; when it comes back, or
 * the page becomes visible, the client tries again after a random fraction of the first backoff
 * step, so a whole office coming back online does not arrive at once.
 *
 * Delivery: the client remembers the last (epoch, offset) per channel, drops durable events at
 * or below it, and resubscribes with `since` after a reconnect; if the server cannot replay the
 * gap, or a live event arrives in a new epoch (its history was lost), it says so through
 * `recoveryLost` / `onRecoveryLost`. Outbound frames are paced below the
 * server's rate limit (from `welcome.limits`), so a busy app is slowed down rather than refused.
 *
 * Robustness: a frame from the server that is not valid JSON or not a frame of the contract is
 * reported (`invalidFrame`) and ignored; a reply that cannot be read fails its request only.
 *
 * Transport: with `transport: 'auto'` (default) a client whose WebSocket upgrades keep failing
 * while the gateway answers HTTP switches to Server-Sent Events (`GET /sse` + `POST /sse/send`,
 * see `sse.ts`) with the same guarantees; only setting a presence state is refused there.
 */
export class TandemClient {
  /** Documents, live documents and queries, and the offline operation queue. */
  readonly documents: Documents;
  /** Counters (events, duplicates dropped, invalid frames, attempts). */
  readonly stats: ClientStats = { events: 0, duplicates: 0, invalidFrames: 0, welcomes: 0, attempts: 0 };

  private readonly urls: readonly string[];
  private urlIndex = 0;
  private readonly getTokenFn: TandemClientOptions['getToken'];
  private readonly WS: WebSocketConstructor | undefined;
  private readonly transportOption: TransportOption;
  private mode: 'websocket' | 'sse';
  private readonly fallbackAfter: number;
  /** WebSocket attempts in a row that failed before the upgrade completed. */
  private upgradeFailures = 0;
  private readonly ES: EventSourceConstructor | undefined;
  private readonly fetchFn: FetchFunction | undefined;
  private readonly sseUrls: readonly string[];
  private readonly env: Environment | undefined;
  private readonly backoff: Backoff | undefined;
  private readonly requestTimeoutMs: number;
  private readonly refreshMarginMs: number;
  private readonly inboxWanted: boolean;
  private readonly autoAck: boolean;
  private readonly ephemeralDefault: number;
  /** @internal */
  readonly log: Logger;
  /** @internal */
  readonly now: () => number;
  private readonly emitter: Emitter<ClientEvents>;

  private currentState: ConnectionState = 'idle';
  private conn: Conn | undefined;
  private welcomeFrame: WelcomeFrame | undefined;
  private everWelcomed = false;
  private attempts = 0;
  private tokenReason: TokenReason = 'connect';
  /** The expiry getToken gave with the token of the current attempt, if any. */
  private tokenExpiresAt: number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private paused = false;
  private closed = false;
  private envOff: Unsubscribe | undefined;
  private connectWaiters: Array<{ resolve: (w: WelcomeFrame) => void; reject: (e: TandemError) => void }> = [];

  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly outbox: string[] = [];
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly bucket: TokenBucket;
  private readonly signalBucket: TokenBucket;
  private readonly signals = new Map<string, ClientFrame>();
  private signalTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly positions = new Positions();
  private readonly channels = new Map<string, Channel>();
  private inboxSub: Subscription | undefined;
  private ackTarget: { channel: string; position: Position } | undefined;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly readyHooks = new Set<(welcome: WelcomeFrame) => void>();
  private readonly downHooks = new Set<() => void>();
  private readonly conflictHooks = new Set<(frame: ConflictFrame) => Promise<void> | void>();

  constructor(options: TandemClientOptions) {
    this.urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (this.urls.length === 0) {
      throw new TypeError('TandemClient needs a url');
    }
    this.transportOption = options.transport ?? 'auto';
    if (!['auto', 'websocket', 'sse'].includes(this.transportOption)) {
      throw new TypeError(`transport must be 'auto', 'websocket' or 'sse', not ${String(this.transportOption)}`);
    }
    for (const u of this.urls) {
      if (!/^wss?:\/\//.test(u) && !(this.transportOption === 'sse' && /^https?:\/\//.test(u))) {
        throw new TypeError(`the url must be ws:// or wss://, not ${u}`);
      }
    }
    if (typeof options.getToken !== 'function') {
      throw new TypeError('TandemClient needs getToken');
    }
    this.getTokenFn = options.getToken;
    const g = globalThis as { WebSocket?: WebSocketConstructor; EventSource?: unknown; fetch?: FetchFunction };
    this.WS = options.WebSocket ?? g.WebSocket;
    this.ES = options.EventSource ?? (g.EventSource as EventSourceConstructor | undefined);
    const f = options.fetch ?? g.fetch;
    this.fetchFn = f === undefined ? undefined : (input, init) => f(input, init);
    this.fallbackAfter = Math.max(1, options.fallbackAfter ?? 3);
    this.sseUrls =
      options.sseUrl === undefined ? this.urls.map(sseUrlFor) : typeof options.sseUrl === 'string' ? [options.sseUrl] : [...options.sseUrl];
    if (this.transportOption !== 'sse' && this.WS === undefined) {
      throw new TypeError('no global WebSocket here: pass options.WebSocket (in Node 20, the ws package\'s WebSocket)');
    }
    if (this.transportOption === 'sse' && (this.ES === undefined || this.fetchFn === undefined)) {
      throw new TypeError('transport sse needs EventSource and fetch: pass options.EventSource (in Node 20, FetchEventSource)');
    }
    this.mode = this.transportOption === 'sse' ? 'sse' : 'websocket';
    this.env = options.environment ?? browserEnvironment();
    this.backoff = options.reconnect === false ? undefined : new Backoff(options.reconnect ?? {});
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.refreshMarginMs = options.refreshMarginMs ?? 30_000;
    this.inboxWanted = options.inbox ?? true;
    this.autoAck = options.autoAck ?? true;
    this.ephemeralDefault = options.ephemeralPerSecond ?? 10;
    this.log = { ...consoleLogger, ...options.logger };
    this.now = options.now ?? (() => Date.now());
    this.emitter = new Emitter<ClientEvents>(this.log);
    this.bucket = new TokenBucket(40, 80, this.now);
    this.signalBucket = new TokenBucket(this.ephemeralDefault * 0.8, Math.max(1, Math.floor(this.ephemeralDefault * 0.8)), this.now);
    const storage =
      options.storage ?? (IndexedDbStorage.available() ? new IndexedDbStorage(options.storageName) : new MemoryStorage());
    this.documents = new Documents(this, storage);
  }

  // ------------------------------------------------------------------ lifecycle

  /** The connection state. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** The transport in use: `websocket`, or `sse` (set, or fallen back to with `transport: 'auto'`). */
  get transport(): 'websocket' | 'sse' {
    return this.mode;
  }

  /** The last welcome (user, tenant, session, limits) while connected or after. */
  get welcome(): WelcomeFrame | undefined {
    return this.welcomeFrame;
  }

  /** Listens to a client event; returns the function that stops listening. */
  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  /**
   * Starts connecting (idempotent) and resolves with the first welcome. Failed attempts are
   * retried with backoff (also the first one); the promise rejects when `getToken` fails (code
   * `token_unavailable`: the client keeps trying, a later `connect()` waits for the next welcome)
   * and when the connection ends for good: {@link close}, or a close the server marks
   * `reconnect: false` (4001: the token was refused). After the latter, `connect()` starts over
   * (e.g. once the user signed in again); after `close()` it rejects.
   */
  connect(): Promise<WelcomeFrame> {
    if (this.closed) {
      return Promise.reject(new TandemError('closed', 'the client is closed'));
    }
    const p = new Promise<WelcomeFrame>((resolve, reject) => {
      if (this.currentState === 'connected' && this.welcomeFrame !== undefined) {
        resolve(this.welcomeFrame);
        return;
      }
      this.connectWaiters.push({ resolve, reject });
    });
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      if (this.env !== undefined && this.envOff === undefined) {
        this.envOff = this.env.subscribe((c) => this.environmentChanged(c));
      }
      this.attempts = 0;
      if (this.offline()) {
        this.setState('offline');
      } else {
        this.setState('connecting');
        void this.attempt();
      }
    }
    return p;
  }

  /**
   * Goes offline on purpose (a "work offline" switch): closes the connection and makes no
   * attempts until {@link resume}. Subscriptions and queued operations are kept.
   */
  pause(): void {
    if (this.paused || this.closed) {
      return;
    }
    this.paused = true;
    this.goOffline('paused');
  }

  /** Ends {@link pause}: reconnects soon (after a random fraction of the first backoff step). */
  resume(): void {
    if (!this.paused || this.closed) {
      return;
    }
    this.paused = false;
    this.comeBack();
  }

  /** Whether {@link pause} is in effect. */
  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Closes the connection with 1000 and stops for good: pending requests fail with `closed`,
   * subscriptions end. Idempotent.
   */
  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.envOff?.();
    this.documents.close();
    this.clearTimer('reconnectTimer');
    this.clearTimer('refreshTimer');
    this.clearTimer('ackTimer');
    const c = this.conn;
    this.conn = undefined;
    if (c !== undefined) {
      this.endConn(c, new TandemError('closed', 'the client is closed', { transient: false }));
      try {
        c.ws?.close(1000, 'client closed');
      } catch {
        // already closing
      }
    }
    this.setState('closed');
    const err = new TandemError('closed', 'the client is closed', { transient: false });
    this.failConnectWaiters(err);
    for (const ch of this.channels.values()) {
      for (const h of ch.handles) {
        this.settleReject(h, err);
        this.call(() => h.handlers.onEnded?.(err));
      }
      if (ch.retryTimer !== undefined) {
        clearTimeout(ch.retryTimer);
      }
    }
    this.channels.clear();
  }

  // ------------------------------------------------------------------ requests

  /**
   * Sends a frame with a fresh id and resolves with its reply's fields; rejects with a
   * {@link TandemError}: the server's code for an `error`, `unavailable` when not connected or
   * when the connection is lost before the reply, `timeout` after `timeoutMs`.
   */
  request(frame: ClientFrame, timeoutMs: number = this.requestTimeoutMs): Promise<JsonObject> {
    const c = this.conn;
    if (c === undefined || !c.ready || c.ended) {
      return Promise.reject(unavailable('not connected'));
    }
    const id = this.nextId++;
    return new Promise<JsonObject>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) {
          reject(new TandemError('timeout', `no reply to ${frame.op} within ${timeoutMs} ms`, { transient: true }));
        }
      }, timeoutMs);
      this.pending.set(id, { conn: c, resolve, reject, timer });
      this.send(c, { ...frame, id });
    });
  }

  /** Sends a frame without an id (no reply on success; a refusal comes as an `error` event). */
  fire(frame: ClientFrame): boolean {
    const c = this.conn;
    if (c === undefined || !c.ready || c.ended) {
      return false;
    }
    this.send(c, frame);
    return true;
  }

  /** Publishes a durable event where the namespace allows client publications; resolves with `{epoch, offset, eventId}`. */
  publish(channel: string, type: string, data: Json): Promise<JsonObject> {
    return this.request({ op: 'publish', channel, type, data });
  }

  /**
   * Sends an ephemeral signal (typing, cursor) under the server's per-connection limit
   * (`ephemeralPerSecond`): signals with the same `key` (default channel + type) replace each
   * other while they wait, so the latest one is sent and none is refused. Dropped while not connected.
   */
  signal(channel: string, type: string, data: Json, key: string = `${channel}\u0000${type}`): void {
    if (this.conn?.ready !== true) {
      return;
    }
    this.signals.delete(key); // re-insert at the end: the oldest waiting key goes first
    this.signals.set(key, { op: 'publish', channel, type, data, ephemeral: true });
    this.drainSignals();
  }

  /** An application-level ping; resolves with the round-trip time in ms. */
  async ping(): Promise<number> {
    const t = this.now();
    await this.request({ op: 'ping' });
    return this.now() - t;
  }

  /** Acknowledges inbox messages up to `offset` on `user:{you}` (with the epoch seen, so a lost history refuses). */
  ack(channel: string, offset: number): Promise<JsonObject> {
    const p = this.positions.get(channel);
    return this.request({ op: 'ack', channel, offset, ...(p === undefined ? {} : { epoch: p.epoch }) });
  }

  // ------------------------------------------------------------------ subscriptions

  /**
   * Subscribes to a channel. Returns at once; the subscribe is sent now or as soon as the
   * client is connected, and again (with `since`) after every reconnect. Several handles on
   * one channel share one server subscription.
   */
  subscribe<M extends EventMap = EventMap>(
    channel: string,
    handlers: SubscriptionHandlers<M> | ((event: TandemEvent) => void) = {},
    extras: SubscribeExtras = {},
  ): Subscription {
    if (this.closed) {
      throw new TandemError('closed', 'the client is closed');
    }
    const h: Handle = {
      handlers: (typeof handlers === 'function' ? { onEvent: handlers } : handlers) as SubscriptionHandlers<EventMap>,
      extras,
      settled: false,
    };
    const ready = new Promise<SubscribeReply>((resolve, reject) => {
      h.resolve = resolve;
      h.reject = reject;
    });
    ready.catch(() => undefined); // a refused channel is also reported through onEnded and 'error'
    let ch = this.channels.get(channel);
    if (ch === undefined) {
      ch = new Channel(channel);
      this.channels.set(channel, ch);
      if (extras.since !== undefined && this.positions.get(channel) === undefined) {
        this.positions.top(channel, extras.since, false);
      }
      ch.handles.add(h);
      this.subscribeOnServer(ch);
    } else {
      ch.handles.add(h);
      const last = ch.lastReply;
      if (last !== undefined && ch.conn === this.conn && !ch.inflight) {
        // joining a live subscription: the earlier reply's snapshot and members are out of date,
        // so they are left out (the handle reads them itself)
        const body: JsonObject = { ...last.body, joined: true };
        delete body['document'];
        delete body['presence'];
        const joined: SubscribeReply = { ...last, body };
        this.settleResolve(h, joined);
        this.call(() => h.handlers.onSubscribed?.(joined));
      }
    }
    const client = this;
    return {
      channel,
      ready,
      position: () => client.positions.get(channel),
      unsubscribe: () => client.removeHandle(channel, h),
    };
  }

  /**
   * Presence on a channel (subscribes to it): members, join/leave, your state, typing and
   * cursor signals within the server's limit.
   */
  presence(channel: string, options: PresenceOptions = {}): PresenceChannel {
    return new PresenceChannel(this, channel, options);
  }

  /** The last position seen on a channel. */
  position(channel: string): Position | undefined {
    return this.positions.get(channel);
  }

  /** Whether some handle keeps the channel subscribed. */
  isSubscribed(channel: string): boolean {
    return this.channels.has(channel);
  }

  // ------------------------------------------------------------------ hooks for the other modules

  /** @internal Runs after every welcome (and at once when connected); returns the remover. */
  onReady(hook: (welcome: WelcomeFrame) => void): Unsubscribe {
    this.readyHooks.add(hook);
    if (this.conn?.ready === true && this.welcomeFrame !== undefined) {
      const w = this.welcomeFrame;
      queueMicrotask(() => {
        if (this.readyHooks.has(hook)) {
          hook(w);
        }
      });
    }
    return () => this.readyHooks.delete(hook);
  }

  /** @internal Runs when a ready connection is lost. */
  onDown(hook: () => void): Unsubscribe {
    this.downHooks.add(hook);
    return () => this.downHooks.delete(hook);
  }

  /** @internal Handles conflict frames; an inbox frame is acknowledged once every hook's promise resolved. */
  onConflictFrame(hook: (frame: ConflictFrame) => Promise<void> | void): Unsubscribe {
    this.conflictHooks.add(hook);
    return () => this.conflictHooks.delete(hook);
  }

  /** @internal Whether a request can be sent now. */
  get isReady(): boolean {
    return this.conn?.ready === true && !this.conn.ended;
  }

  /** @internal The current connection's limits. */
  get limits(): Limits | undefined {
    return this.conn?.ready === true ? this.welcomeFrame?.limits : undefined;
  }

  // ------------------------------------------------------------------ connecting

  private offline(): boolean {
    return this.paused || (this.env !== undefined && !this.env.online());
  }

  private async attempt(): Promise<void> {
    if (this.closed || this.offline() || this.conn !== undefined) {
      return;
    }
    const c = new Conn();
    this.conn = c;
    this.stats.attempts++;
    if (this.mode === 'websocket' && this.transportOption === 'auto' && this.upgradeFailures >= this.fallbackAfter) {
      await this.considerFallback();
      if (c !== this.conn || c.ended) {
        return;
      }
    }
    c.transport = this.mode;
    const reason = this.tokenReason;
    let token: string;
    try {
      const t = await this.getTokenFn(reason);
      token = typeof t === 'string' ? t : t.token;
      if (typeof token !== 'string' || token === '') {
        throw new TypeError('getToken returned no token');
      }
      this.tokenExpiresAt = typeof t === 'string' || t.expiresAt === undefined ? undefined : +t.expiresAt;
    } catch (e) {
      if (c === this.conn && !c.ended) {
        // no socket was opened: not a failed upgrade (no SSE fallback), and connect() learns it now
        const err = tokenUnavailable(reason, e);
        this.log.warn(err.message);
        this.emitter.emit('error', err);
        this.failConnectWaiters(err);
        this.lost(c, err, err.transient);
      }
      return;
    }
    if (c !== this.conn || c.ended) {
      return;
    }
    const url = this.urls[this.urlIndex % this.urls.length] as string;
    let ws: WebSocketLike;
    try {
      ws = c.transport === 'sse' ? this.sseSocket() : new (this.WS as WebSocketConstructor)(url.replace(/^http/, 'ws'), SUBPROTOCOL);
    } catch (e) {
      this.lost(c, unavailable(`cannot open ${url}: ${String(e)}`), true);
      return;
    }
    c.ws = ws;
    c.lastHeard = this.now();
    c.timers.push(
      setTimeout(() => {
        if (!c.ready && !c.ended) {
          this.abort(c);
          this.lost(c, unavailable(`no welcome within ${this.requestTimeoutMs} ms`), true);
        }
      }, this.requestTimeoutMs),
    );
    ws.onopen = () => {
      if (c.ended) {
        return;
      }
      c.opened = true;
      // the server's bucket starts full; ours too, with a margin (see drain)
      this.bucket.reset(40, 80, true);
      this.send(c, { op: 'connect', token });
    };
    ws.onmessage = (event) => {
      if (c.ended) {
        return;
      }
      c.lastHeard = this.now();
      if (typeof event.data !== 'string') {
        this.invalid('a binary message');
        return;
      }
      try {
        this.receive(c, event.data);
      } catch (e) {
        this.log.error('failed to handle a frame from the server', e);
      }
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
      this.lost(c, err, retry);
    };
    ws.onerror = () => {
      // a close event follows; it carries the code
    };
  }

  /** An SSE "socket" to the current URL's SSE endpoint. */
  private sseSocket(): WebSocketLike {
    return new SseSocket({
      url: this.sseUrls[this.urlIndex % this.sseUrls.length] as string,
      EventSource: this.ES as EventSourceConstructor,
      fetch: this.fetchFn as FetchFunction,
      channels: () => [...this.channels.keys()],
      position: (channel) => this.positions.get(channel),
      log: this.log,
    });
  }

  /**
   * After repeated failed upgrades: switches to SSE for the rest of this client's life when
   * the gateway answers plain HTTP (`GET /health`), i.e. something between refuses WebSocket.
   */
  private async considerFallback(): Promise<void> {
    if (this.ES === undefined || this.fetchFn === undefined) {
      return;
    }
    const url = this.sseUrls[this.urlIndex % this.sseUrls.length] as string;
    const answers = async (target: string, ok: (status: number) => boolean): Promise<boolean> => {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 5000);
      try {
        const res = await (this.fetchFn as FetchFunction)(target, { signal: abort.signal, cache: 'no-store' });
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
      this.log.warn(`${this.upgradeFailures} WebSocket upgrades failed while HTTP works: falling back to Server-Sent Events`);
      this.mode = 'sse';
    } else {
      this.log.info('WebSocket upgrades fail and HTTP does not answer either: the network is down, staying on WebSocket');
    }
  }

  private receive(c: Conn, text: string): void {
    const f = decodeServerFrame(text);
    switch (f.op) {
      case 'invalid': {
        this.invalid(f.reason);
        const p = f.id > 0 ? this.pending.get(f.id) : undefined;
        if (p !== undefined) {
          this.settlePending(f.id, new TandemError('protocol', `unreadable reply: ${f.reason}`, { transient: false }));
        }
        return;
      }
      case 'welcome':
        this.welcomed(c, f);
        return;
      case 'event':
        this.deliver(f);
        return;
      case 'presence': {
        const ch = this.channels.get(f.channel);
        if (ch !== undefined) {
          for (const h of ch.handles) {
            this.call(() => h.handlers.onPresence?.(f));
          }
        }
        this.emitter.emit('presence', f);
        return;
      }
      case 'conflict':
        this.conflictFrame(f);
        return;
      case 'reply': {
        const p = this.pending.get(f.id);
        if (p === undefined) {
          this.log.debug(`reply ${f.id} came after its request gave up`);
          return;
        }
        this.pending.delete(f.id);
        clearTimeout(p.timer);
        p.resolve(f.body);
        return;
      }
      case 'error': {
        if (f.id > 0 && this.pending.has(f.id)) {
          this.settlePending(f.id, new TandemError(f.code, f.message));
          return;
        }
        this.emitter.emit('error', new TandemError(f.code, f.message));
        return;
      }
      case 'disconnect':
        c.disconnect = f; // the close that follows is judged by its reconnect hint
        this.emitter.emit('disconnect', f);
        return;
    }
  }

  private welcomed(c: Conn, w: WelcomeFrame): void {
    if (c !== this.conn || c.ended || c.ready) {
      return;
    }
    c.timers.forEach(clearTimeout);
    c.timers = [];
    c.ready = true;
    this.welcomeFrame = w;
    this.everWelcomed = true;
    this.attempts = 0;
    this.tokenReason = 'connect';
    this.stats.welcomes++;
    // stay under the server's token bucket with a margin for network jitter
    const rate = Math.max(1, w.limits.messagesPerSecond * 0.8);
    const cap = Math.max(1, Math.floor(w.limits.burst * 0.8) - 1);
    this.bucket.reset(rate, cap, false);
    const eps = w.limits.ephemeralPerSecond ?? this.ephemeralDefault;
    this.signalBucket.reset(eps * 0.8, Math.max(1, Math.floor(eps * 0.8)), true);
    this.watch(c, w.heartbeatMs);
    this.scheduleRefresh(w.expiresAt ?? this.tokenExpiresAt);
    this.setState('connected');
    this.emitter.emit('welcome', w);
    for (const ch of this.channels.values()) {
      this.subscribeOnServer(ch);
    }
    if (this.inboxWanted && this.inboxSub === undefined) {
      this.inboxSub = this.subscribe(`user:${w.user}`, {});
    }
    if (this.ackTarget !== undefined && this.ackTimer === undefined) {
      // an acknowledgement the last connection could not send (replays of what it covers are
      // dropped as duplicates, so nothing else would trigger it)
      this.ackTimer = setTimeout(() => this.sendAck(), 250);
    }
    for (const hook of [...this.readyHooks]) {
      this.call(() => hook(w));
    }
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    waiters.forEach((x) => x.resolve(w));
  }

  /** Checks a quiet connection with a ping: a socket can die without a close (sleep, network change). */
  private watch(c: Conn, heartbeatMs: number): void {
    const every = Math.max(1000, heartbeatMs > 0 ? heartbeatMs : 25_000);
    const tick = (): void => {
      if (c.ended) {
        return;
      }
      if (this.now() - c.lastHeard >= every) {
        this.request({ op: 'ping' }).catch((e: TandemError) => {
          if (e.code === 'timeout' && !c.ended) {
            this.abort(c);
            this.lost(c, unavailable('the server stopped answering'), true);
          }
        });
      }
      c.timers.push(setTimeout(tick, every));
    };
    c.timers.push(setTimeout(tick, every));
  }

  private scheduleRefresh(expiresAt: number | undefined): void {
    this.clearTimer('refreshTimer');
    if (expiresAt === undefined) {
      return;
    }
    const left = expiresAt - this.now();
    const margin = Math.min(this.refreshMarginMs, Math.max(0, left / 3));
    this.refreshTimer = setTimeout(() => void this.refresh(expiresAt), Math.max(0, left - margin));
  }

  private async refresh(expiresAt: number): Promise<void> {
    const c = this.conn;
    if (c === undefined || !c.ready || c.ended) {
      return;
    }
    try {
      const t = await this.getTokenFn('refresh');
      const token = typeof t === 'string' ? t : t.token;
      const body = await this.request({ op: 'refresh', token });
      const parsed = typeof body['expiresAt'] === 'string' ? Date.parse(body['expiresAt']) : Number.NaN;
      const next = Number.isNaN(parsed) ? (typeof t === 'string' || t.expiresAt === undefined ? undefined : +t.expiresAt) : parsed;
      if (next !== undefined && next <= expiresAt) {
        // the same (cached) token again: asking more often will not help; at expiry the server
        // closes with 4003 and the reconnect asks for an 'expired' token
        this.log.warn("getToken('refresh') returned a token that expires no later than the current one");
        return;
      }
      this.scheduleRefresh(next);
    } catch (e) {
      const err = e instanceof TandemError ? e : tokenUnavailable('refresh', e);
      this.log.warn(`token refresh failed (${err.code}): ${err.message}`);
      this.emitter.emit('error', err);
      // try again while there is time; at expiry the server closes with 4003 and we reconnect
      const left = expiresAt - this.now();
      if (c === this.conn && !c.ended && left > 1000) {
        this.refreshTimer = setTimeout(() => void this.refresh(expiresAt), Math.min(5000, left / 2));
      }
    }
  }

  // ------------------------------------------------------------------ losing and getting back

  /**
   * Ends a connection and decides what comes next: nothing (closed), waiting for the network
   * (offline), or a new attempt after a backoff delay. Idempotent per connection.
   */
  private lost(c: Conn, why: TandemError, retry: boolean): void {
    if (c.ended) {
      return;
    }
    const wasReady = c.ready;
    if (c.transport === 'websocket' && c.ws !== undefined) {
      // only a socket that was opened and never upgraded counts (not a getToken failure)
      this.upgradeFailures = c.opened ? 0 : this.upgradeFailures + 1;
    }
    this.endConn(c, why);
    if (c !== this.conn) {
      return;
    }
    this.conn = undefined;
    this.clearTimer('refreshTimer');
    if (wasReady) {
      for (const hook of [...this.downHooks]) {
        this.call(() => hook());
      }
    }
    if (this.closed) {
      return;
    }
    if (this.offline()) {
      this.setState('offline');
      return;
    }
    const expired = why.closeCode === TOKEN_EXPIRED || c.disconnect?.code === TOKEN_EXPIRED;
    const revoked = why.closeCode === TOKEN_REVOKED || c.disconnect?.code === TOKEN_REVOKED;
    if (expired || revoked) {
      // the cached token is no good any more; a revoked one comes back after the usual backoff
      this.tokenReason = 'expired';
    }
    let delay: number | undefined;
    if (!retry || this.backoff === undefined) {
      delay = undefined;
    } else if (expired && this.attempts === 0) {
      // an expired token is not a failure of the server: get a fresh one and come back soon
      this.attempts = 1;
      delay = Math.random() * 100;
    } else {
      delay = this.backoff.delay(++this.attempts);
    }
    this.urlIndex++;
    if (delay === undefined) {
      this.log.warn(`connection lost (${why.message}); not reconnecting`);
      this.setState('closed');
      const end = new TandemError(why.code === 'unavailable' ? 'closed' : why.code, why.message, {
        transient: false,
        ...(why.closeCode === undefined ? {} : { closeCode: why.closeCode }),
      });
      this.emitter.emit('error', end);
      this.failConnectWaiters(end);
      return;
    }
    this.log.info(`connection lost (${why.message}); reconnecting in ${Math.round(delay)} ms`);
    this.setState(this.everWelcomed ? 'reconnecting' : 'connecting');
    this.clearTimer('reconnectTimer');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.attempt();
    }, delay);
  }

  /** Fails what waited on a connection and stops its timers. */
  private endConn(c: Conn, why: TandemError): void {
    if (c.ended) {
      return;
    }
    c.ended = true;
    c.timers.forEach(clearTimeout);
    c.timers = [];
    this.outbox.length = 0;
    this.signals.clear();
    for (const [id, p] of [...this.pending]) {
      if (p.conn === c) {
        this.settlePending(id, why.code === 'closed' ? why : unavailable(`connection lost: ${why.message}`, why.closeCode));
      }
    }
    if (c.ws !== undefined) {
      c.ws.onmessage = null;
      c.ws.onopen = null;
      c.ws.onclose = null;
    }
  }

  private abort(c: Conn): void {
    try {
      c.ws?.close(4000, 'abandoned by the client');
    } catch {
      // nothing to close
    }
  }

  private environmentChanged(change: EnvironmentChange): void {
    if (this.closed) {
      return;
    }
    switch (change) {
      case 'offline':
        this.goOffline('offline');
        break;
      case 'online':
        this.comeBack();
        break;
      case 'visible':
        if (this.currentState === 'reconnecting' || this.currentState === 'connecting') {
          this.soon();
        } else if (this.conn?.ready === true) {
          // after a sleep the socket may be dead without a close: check at once
          const c = this.conn;
          this.request({ op: 'ping' }).catch((e: TandemError) => {
            if (e.code === 'timeout' && !c.ended) {
              this.abort(c);
              this.lost(c, unavailable('the server stopped answering'), true);
            }
          });
        }
        break;
      case 'hidden':
        break;
    }
  }

  private goOffline(why: string): void {
    this.clearTimer('reconnectTimer');
    const c = this.conn;
    if (c !== undefined) {
      this.abort(c);
      this.lost(c, unavailable(why), true); // offline() is true now: lost() goes to 'offline'
    } else if (this.currentState !== 'idle' && this.currentState !== 'closed') {
      this.setState('offline');
    }
  }

  private comeBack(): void {
    if (this.offline() || this.currentState === 'idle' || this.currentState === 'closed') {
      return;
    }
    if (this.currentState === 'offline') {
      this.attempts = 0;
      this.setState(this.everWelcomed ? 'reconnecting' : 'connecting');
      this.soon();
    }
  }

  /** A new attempt after a random fraction of the first backoff step (no storm, no long wait). */
  private soon(): void {
    if (this.conn !== undefined) {
      return;
    }
    this.clearTimer('reconnectTimer');
    const window = this.backoff?.initialMs ?? 200;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.attempt();
    }, Math.random() * window);
  }

  // ------------------------------------------------------------------ channels

  private subscribeOnServer(ch: Channel): void {
    const c = this.conn;
    if (c === undefined || !c.ready || c.ended || ch.inflight || ch.conn === c) {
      return;
    }
    ch.inflight = true;
    const since = this.positions.get(ch.name);
    const frame: ClientFrame = {
      op: 'subscribe',
      channel: ch.name,
      ...(since === undefined ? {} : { since }),
      ...(ch.wants('presence') ? { presence: true } : {}),
      ...(ch.wants('snapshot') ? { snapshot: true } : {}),
    };
    this.request(frame).then(
      (body) => {
        if (this.channels.get(ch.name) !== ch) {
          return; // unsubscribed meanwhile: removeHandle sent (or will send) the unsubscribe
        }
        ch.inflight = false;
        ch.conn = c;
        ch.retries = 0;
        const epoch = body['epoch'];
        const offset = body['offset'];
        if (typeof epoch !== 'string' || epoch === '' || typeof offset !== 'number' || offset < 0) {
          this.invalid(`subscribe reply for ${ch.name} without a position`);
          return;
        }
        const top: Position = { epoch, offset };
        const recovered = body['recovered'] === true;
        const inboxPending = typeof body['inbox'] === 'number' ? body['inbox'] : 0;
        if (since === undefined && inboxPending > 0) {
          // the own inbox: its unacknowledged messages (at or below the top) follow this reply;
          // holding no position yet lets them in, and they set it
        } else {
          this.positions.top(ch.name, top, recovered);
        }
        const reply: SubscribeReply = {
          channel: ch.name,
          position: top,
          ...(since === undefined ? {} : { recovered }),
          body,
        };
        ch.lastReply = reply;
        if (since !== undefined && !recovered) {
          this.log.info(`${ch.name}: missed events could not be recovered`);
          this.emitter.emit('recoveryLost', ch.name, top);
        }
        for (const h of [...ch.handles]) {
          this.settleResolve(h, reply);
          this.call(() => h.handlers.onSubscribed?.(reply));
          if (since !== undefined && !recovered) {
            this.call(() => h.handlers.onRecoveryLost?.(top));
          }
        }
      },
      (e: TandemError) => {
        ch.inflight = false;
        if (this.channels.get(ch.name) !== ch) {
          return;
        }
        if (e.transient) {
          // connection lost (resubscribed on welcome), rate limited, or the server is busy: try again
          if (this.conn === c && c.ready && !c.ended) {
            const delay = this.backoff?.delay(++ch.retries) ?? 1000;
            ch.retryTimer = setTimeout(() => this.subscribeOnServer(ch), delay);
          }
          return;
        }
        this.log.warn(`subscribing to ${ch.name} failed, dropping it: ${e.message}`);
        this.channels.delete(ch.name);
        this.positions.forget(ch.name);
        for (const h of ch.handles) {
          this.settleReject(h, e);
          this.call(() => h.handlers.onEnded?.(e));
        }
        this.emitter.emit('error', new TandemError(e.code, `subscribing to ${ch.name} failed: ${e.message}`));
      },
    );
  }

  private removeHandle(channel: string, h: Handle): void {
    const ch = this.channels.get(channel);
    if (ch === undefined || !ch.handles.delete(h)) {
      return;
    }
    this.settleReject(h, new TandemError('closed', `unsubscribed from ${channel}`, { transient: false }));
    if (ch.handles.size > 0) {
      return;
    }
    this.channels.delete(channel);
    this.positions.forget(channel);
    if (ch.retryTimer !== undefined) {
      clearTimeout(ch.retryTimer);
    }
    if (this.inboxSub?.channel === channel) {
      this.inboxSub = undefined;
    }
    const c = this.conn;
    // the server handles a connection's frames in order, so this may follow a subscribe in flight
    if ((ch.conn === c || ch.inflight) && c?.ready === true) {
      this.request({ op: 'unsubscribe', channel }).catch((e: TandemError) =>
        this.log.debug(`unsubscribe ${channel}: ${e.message}`),
      );
    }
  }

  private deliver(f: EventFrame): void {
    const ch = this.channels.get(f.channel);
    if (ch === undefined) {
      return; // after an unsubscribe
    }
    const before = f.position === undefined ? undefined : this.positions.get(f.channel);
    if (f.position !== undefined && !this.positions.accept(f.channel, f.position)) {
      this.stats.duplicates++;
      return;
    }
    if (f.position !== undefined) {
      this.newEpoch(ch, before, f.position);
    }
    this.stats.events++;
    const event: TandemEvent = {
      channel: f.channel,
      type: f.type,
      data: f.data,
      eventId: f.eventId,
      time: f.time,
      ...(f.position === undefined ? {} : { position: f.position }),
      ...(f.from === undefined ? {} : { from: f.from }),
    };
    for (const h of [...ch.handles]) {
      const byType = h.handlers.on?.[f.type];
      if (byType !== undefined) {
        this.call(() => byType(f.data as never, event as never));
      }
      if (h.handlers.onEvent !== undefined) {
        const onEvent = h.handlers.onEvent;
        this.call(() => onEvent(event));
      }
    }
    this.emitter.emit('event', event);
    if (f.position !== undefined && this.isOwnInbox(f.channel)) {
      this.scheduleAck(f.channel, f.position, Promise.resolve());
    }
  }

  /**
   * A live event in another epoch than the position held: the server lost the channel's history
   * (e.g. Redis restarted without persistence) while the socket stayed up, so what came before
   * it may never arrive. Reported like a gap the server could not replay, before the event.
   */
  private newEpoch(ch: Channel, before: Position | undefined, now: Position): void {
    if (before === undefined || before.epoch === now.epoch) {
      return;
    }
    this.log.info(`${ch.name}: moved to a new epoch, missed events could not be recovered`);
    this.emitter.emit('recoveryLost', ch.name, now);
    for (const h of [...ch.handles]) {
      this.call(() => h.handlers.onRecoveryLost?.(now));
    }
  }

  private conflictFrame(f: ConflictFrame): void {
    if (f.channel !== undefined && f.position !== undefined) {
      const before = this.positions.get(f.channel);
      if (!this.positions.accept(f.channel, f.position)) {
        this.stats.duplicates++;
        return;
      }
      const ch = this.channels.get(f.channel);
      if (ch !== undefined) {
        this.newEpoch(ch, before, f.position);
      }
    }
    const done = Promise.all(
      [...this.conflictHooks].map(async (hook) => {
        await hook(f);
      }),
    );
    this.emitter.emit('conflict', f);
    if (f.channel !== undefined && f.position !== undefined && this.isOwnInbox(f.channel)) {
      this.scheduleAck(f.channel, f.position, done);
    }
  }

  private isOwnInbox(channel: string): boolean {
    const w = this.welcomeFrame;
    return w !== undefined && channel === `user:${w.user}`;
  }

  /** Acknowledges inbox frames once handled, at most one ack per quarter second. */
  private scheduleAck(channel: string, position: Position, handled: Promise<unknown>): void {
    if (!this.autoAck) {
      return;
    }
    handled.then(
      () => {
        const t = this.ackTarget;
        if (t === undefined || t.position.epoch !== position.epoch || t.position.offset < position.offset) {
          this.ackTarget = { channel, position };
        }
        if (this.ackTimer === undefined) {
          this.ackTimer = setTimeout(() => this.sendAck(), 250);
        }
      },
      (e: unknown) => this.log.warn(`not acknowledging ${channel} at ${position.offset}: handling failed`, e),
    );
  }

  private sendAck(): void {
    this.ackTimer = undefined;
    const t = this.ackTarget;
    if (t === undefined || !this.isReady) {
      return;
    }
    this.ackTarget = undefined;
    this.request({ op: 'ack', channel: t.channel, offset: t.position.offset, epoch: t.position.epoch }).catch(
      (e: TandemError) => this.log.debug(`ack of ${t.channel} at ${t.position.offset}: ${e.message}`),
    );
  }

  // ------------------------------------------------------------------ sending

  private send(c: Conn, frame: ClientFrame): void {
    this.outbox.push(JSON.stringify(frame));
    if (this.conn === c) {
      this.drain();
    }
  }

  /** Writes queued frames while the bucket allows, then waits for the next token. */
  private drain(): void {
    const c = this.conn;
    if (c === undefined || c.ended || c.ws === undefined || c.ws.readyState !== OPEN) {
      return;
    }
    while (this.outbox.length > 0 && this.bucket.tryTake()) {
      const text = this.outbox.shift() as string;
      try {
        c.ws.send(text);
      } catch (e) {
        this.abort(c);
        this.lost(c, unavailable(`send failed: ${String(e)}`), true);
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
      if (!this.fire(frame)) {
        this.signals.clear();
        return;
      }
    }
    if (this.signals.size > 0 && this.signalTimer === undefined) {
      this.signalTimer = setTimeout(() => {
        this.signalTimer = undefined;
        this.drainSignals();
      }, this.signalBucket.waitMs());
    }
  }

  // ------------------------------------------------------------------ helpers

  private settlePending(id: number, error: TandemError): void {
    const p = this.pending.get(id);
    if (p !== undefined) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  private settleResolve(h: Handle, reply: SubscribeReply): void {
    if (!h.settled) {
      h.settled = true;
      h.resolve?.(reply);
    }
  }

  private settleReject(h: Handle, error: TandemError): void {
    if (!h.settled) {
      h.settled = true;
      h.reject?.(error);
    }
  }

  private failConnectWaiters(error: TandemError): void {
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    waiters.forEach((w) => w.reject(error));
  }

  private invalid(reason: string): void {
    this.stats.invalidFrames++;
    this.log.warn(`ignoring an invalid frame from the server: ${reason}`);
    this.emitter.emit('invalidFrame', reason);
  }

  private setState(s: ConnectionState): void {
    if (this.currentState !== s) {
      this.currentState = s;
      this.emitter.emit('state', s);
    }
  }

  private clearTimer(name: 'reconnectTimer' | 'refreshTimer' | 'ackTimer'): void {
    const t = this[name];
    if (t !== undefined) {
      clearTimeout(t);
      this[name] = undefined;
    }
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error('a listener failed', e);
    }
  }
}
