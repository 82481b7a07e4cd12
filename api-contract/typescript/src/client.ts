import { Emitter, consoleLogger, type Logger, type Unsubscribe } from './emitter.js';
import type { BackoffOptions } from './backoff.js';
import { Connection, type ConnectionState, type TokenReason, type TokenResult } from './connection.js';
import { Documents } from './documents.js';
import type { Environment } from './environment.js';
import { TandemError } from './errors.js';
import { Inbox } from './inbox.js';
import { IndexedDbStorage } from './indexeddb.js';
import { PresenceChannel, type PresenceOptions } from './presence.js';
import type {
  ClientFrame,
  ConflictFrame,
  DisconnectFrame,
  Json,
  JsonObject,
  Limits,
  Position,
  PresenceFrame,
  WelcomeFrame,
} from './protocol.js';
import type { EventSourceConstructor, FetchFunction } from './sse.js';
import { MemoryStorage, type QueueStorage } from './storage.js';
import {
  Subscriptions,
  type EventMap,
  type SubscribeExtras,
  type Subscription,
  type SubscriptionHandlers,
  type TandemEvent,
} from './subscriptions.js';
import type { TransportOption, WebSocketConstructor } from './transport.js';

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
  /** @internal */
  readonly log: Logger;
  /** @internal */
  readonly now: () => number;
  /** @internal Channels, positions, event delivery and recovery. */
  readonly subscriptions: Subscriptions;
  /** @internal The user's inbox and its acknowledgements. */
  readonly inbox: Inbox;
  /** @internal Connecting, tokens, requests, loss and reconnects. */
  readonly connection: Connection;
  private readonly emitter: Emitter<ClientEvents>;

  constructor(options: TandemClientOptions) {
    this.log = { ...consoleLogger, ...options.logger };
    this.now = options.now ?? (() => Date.now());
    this.emitter = new Emitter<ClientEvents>(this.log);
    this.subscriptions = new Subscriptions(this);
    this.inbox = new Inbox(this, options.inbox ?? true, options.autoAck ?? true);
    this.connection = new Connection(this, options);
    const storage =
      options.storage ?? (IndexedDbStorage.available() ? new IndexedDbStorage(options.storageName) : new MemoryStorage());
    this.documents = new Documents(this, storage);
  }

  // ------------------------------------------------------------------ lifecycle

  /** The connection state. */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /** The transport in use: `websocket`, or `sse` (set, or fallen back to with `transport: 'auto'`). */
  get transport(): 'websocket' | 'sse' {
    return this.connection.transport.kind;
  }

  /** The last welcome (user, tenant, session, limits) while connected or after. */
  get welcome(): WelcomeFrame | undefined {
    return this.connection.welcome;
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
    return this.connection.connect();
  }

  /**
   * Goes offline on purpose (a "work offline" switch): closes the connection and makes no
   * attempts until {@link resume}. Subscriptions and queued operations are kept.
   */
  pause(): void {
    this.connection.pause();
  }

  /** Ends {@link pause}: reconnects soon (after a random fraction of the first backoff step). */
  resume(): void {
    this.connection.resume();
  }

  /** Whether {@link pause} is in effect. */
  get isPaused(): boolean {
    return this.connection.isPaused;
  }

  /**
   * Closes the connection with 1000 and stops for good: pending requests fail with `closed`,
   * subscriptions end. Idempotent.
   */
  close(): void {
    if (!this.connection.markClosed()) {
      return;
    }
    this.documents.close();
    this.inbox.close();
    const err = new TandemError('closed', 'the client is closed', { transient: false });
    this.connection.shutdown(err);
    this.subscriptions.close(err);
  }

  // ------------------------------------------------------------------ requests

  /**
   * Sends a frame with a fresh id and resolves with its reply's fields; rejects with a
   * {@link TandemError}: the server's code for an `error`, `unavailable` when not connected or
   * when the connection is lost before the reply, `timeout` after `timeoutMs`.
   */
  request(frame: ClientFrame, timeoutMs?: number): Promise<JsonObject> {
    return this.connection.request(frame, timeoutMs);
  }

  /** Sends a frame without an id (no reply on success; a refusal comes as an `error` event). */
  fire(frame: ClientFrame): boolean {
    return this.connection.fire(frame);
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
    if (this.connection.current?.ready !== true) {
      return;
    }
    this.connection.transport.signal(key, { op: 'publish', channel, type, data, ephemeral: true });
  }

  /** An application-level ping; resolves with the round-trip time in ms. */
  async ping(): Promise<number> {
    const t = this.now();
    await this.request({ op: 'ping' });
    return this.now() - t;
  }

  /** Acknowledges inbox messages up to `offset` on `user:{you}` (with the epoch seen, so a lost history refuses). */
  ack(channel: string, offset: number): Promise<JsonObject> {
    const p = this.subscriptions.positions.get(channel);
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
    if (this.connection.closed) {
      throw new TandemError('closed', 'the client is closed');
    }
    return this.subscriptions.subscribe(channel, handlers as SubscriptionHandlers<EventMap> | ((event: TandemEvent) => void), extras);
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
    return this.subscriptions.positions.get(channel);
  }

  /** Whether some handle keeps the channel subscribed. */
  isSubscribed(channel: string): boolean {
    return this.subscriptions.has(channel);
  }

  // ------------------------------------------------------------------ hooks for the other modules

  /** @internal Runs after every welcome (and at once when connected); returns the remover. */
  onReady(hook: (welcome: WelcomeFrame) => void): Unsubscribe {
    return this.connection.onReady(hook);
  }

  /** @internal Runs when a ready connection is lost. */
  onDown(hook: () => void): Unsubscribe {
    return this.connection.onDown(hook);
  }

  /** @internal Handles conflict frames; an inbox frame is acknowledged once every hook's promise resolved. */
  onConflictFrame(hook: (frame: ConflictFrame) => Promise<void> | void): Unsubscribe {
    return this.inbox.onConflictFrame(hook);
  }

  /** @internal Whether a request can be sent now. */
  get isReady(): boolean {
    return this.connection.isReady;
  }

  /** @internal The current connection's limits. */
  get limits(): Limits | undefined {
    return this.connection.current?.ready === true ? this.connection.welcome?.limits : undefined;
  }

  /** @internal Emits a client event. */
  emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    this.emitter.emit(event, ...args);
  }

  /** @internal Runs a listener, logging what it throws. */
  call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error('a listener failed', e);
    }
  }
}
