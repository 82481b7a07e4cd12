/**
 * Connection: one authenticated connection at a time. The token from `getToken`, asked again
 * before it expires (`refresh`) and after 4003; a lost connection retried with backoff unless the
 * server said not to; no attempts while offline or paused; requests correlated by id; the
 * heartbeat that notices a socket that died without a close.
 */
import { Backoff } from './backoff.js';
import type { TandemClient, TandemClientOptions } from './client.js';
import type { Unsubscribe } from './emitter.js';
import { browserEnvironment, type Environment, type EnvironmentChange } from './environment.js';
import { TandemError, unavailable } from './errors.js';
import { TOKEN_EXPIRED, TOKEN_REVOKED, decodeServerFrame, type ClientFrame, type JsonObject, type WelcomeFrame } from './protocol.js';
import { Conn, Transport, transportOptions } from './transport.js';

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
 * `getToken` threw, rejected or returned no token: code `token_unavailable`, transient unless
 * the app threw a {@link TandemError} that says otherwise (its error is the `cause`).
 */
function tokenUnavailable(reason: TokenReason, e: unknown): TandemError {
  const transient = e instanceof TandemError ? e.transient : true;
  const detail = e instanceof Error ? e.message : String(e);
  return new TandemError('token_unavailable', `getToken('${reason}') failed: ${detail}`, { transient, cause: e });
}

/** The connection lifecycle of a {@link TandemClient}. */
export class Connection {
  readonly transport: Transport;
  private readonly getTokenFn: TandemClientOptions['getToken'];
  private readonly env: Environment | undefined;
  private readonly backoff: Backoff | undefined;
  readonly requestTimeoutMs: number;
  private readonly refreshMarginMs: number;

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
  closed = false;
  private envOff: Unsubscribe | undefined;
  private connectWaiters: Array<{ resolve: (w: WelcomeFrame) => void; reject: (e: TandemError) => void }> = [];
  private readonly readyHooks = new Set<(welcome: WelcomeFrame) => void>();
  private readonly downHooks = new Set<() => void>();

  constructor(
    private readonly client: TandemClient,
    options: TandemClientOptions,
  ) {
    this.transport = new Transport(
      transportOptions(options, client),
      () => this.conn,
      (c, why) => this.lost(c, why, true),
    );
    if (typeof options.getToken !== 'function') {
      throw new TypeError('TandemClient needs getToken');
    }
    this.getTokenFn = options.getToken;
    this.env = options.environment ?? browserEnvironment();
    this.backoff = options.reconnect === false ? undefined : new Backoff(options.reconnect ?? {});
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.refreshMarginMs = options.refreshMarginMs ?? 30_000;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The connection of the current attempt, if any. */
  get current(): Conn | undefined {
    return this.conn;
  }

  get welcome(): WelcomeFrame | undefined {
    return this.welcomeFrame;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Whether a request can be sent now. */
  get isReady(): boolean {
    return this.conn?.ready === true && !this.conn.ended;
  }

  /** The delay before retry `n` of something that failed transiently. */
  retryDelay(n: number): number {
    return this.backoff?.delay(n) ?? 1000;
  }

  /** See {@link TandemClient.connect}. */
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

  pause(): void {
    if (this.paused || this.closed) {
      return;
    }
    this.paused = true;
    this.goOffline('paused');
  }

  resume(): void {
    if (!this.paused || this.closed) {
      return;
    }
    this.paused = false;
    this.comeBack();
  }

  /** Marks the client closed (false if it already was) and stops following the environment. */
  markClosed(): boolean {
    if (this.closed) {
      return false;
    }
    this.closed = true;
    this.envOff?.();
    return true;
  }

  /** Closes the connection with 1000, fails what waits on it, and ends in `closed`. */
  shutdown(err: TandemError): void {
    this.clearTimer('reconnectTimer');
    this.clearTimer('refreshTimer');
    const c = this.conn;
    this.conn = undefined;
    if (c !== undefined) {
      this.endConn(c, err);
      try {
        c.ws?.close(1000, 'client closed');
      } catch {
        // already closing
      }
    }
    this.setState('closed');
    this.failConnectWaiters(err);
  }

  /** See {@link TandemClient.request}; `onReply` sees the reply before any frame that came after it. */
  request(frame: ClientFrame, timeoutMs: number = this.requestTimeoutMs, onReply?: (body: JsonObject) => void): Promise<JsonObject> {
    const c = this.conn;
    if (c === undefined || !c.ready || c.ended) {
      return Promise.reject(unavailable('not connected'));
    }
    return this.transport.request(c, frame, timeoutMs, onReply);
  }

  /** See {@link TandemClient.fire}. */
  fire(frame: ClientFrame): boolean {
    const c = this.conn;
    if (c === undefined || !c.ready || c.ended) {
      return false;
    }
    this.transport.send(c, frame);
    return true;
  }

  /** Runs after every welcome (and at once when connected); returns the remover. */
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

  /** Runs when a ready connection is lost. */
  onDown(hook: () => void): Unsubscribe {
    this.downHooks.add(hook);
    return () => this.downHooks.delete(hook);
  }

  /** A frame from the server that is not valid `tandem.v1`: counted, logged, reported, ignored. */
  invalid(reason: string): void {
    this.client.stats.invalidFrames++;
    this.client.log.warn(`ignoring an invalid frame from the server: ${reason}`);
    this.client.emit('invalidFrame', reason);
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
    this.client.stats.attempts++;
    c.transport = await this.transport.choose();
    if (c !== this.conn || c.ended) {
      return;
    }
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
        this.client.log.warn(err.message);
        this.client.emit('error', err);
        this.failConnectWaiters(err);
        this.lost(c, err, err.transient);
      }
      return;
    }
    if (c !== this.conn || c.ended) {
      return;
    }
    try {
      this.transport.open(c, {
        open: () => this.transport.send(c, { op: 'connect', token }),
        text: (text) => {
          try {
            this.receive(c, text);
          } catch (e) {
            this.client.log.error('failed to handle a frame from the server', e);
          }
        },
        closed: (err, retry) => this.lost(c, err, retry),
        invalid: (reason) => this.invalid(reason),
      });
    } catch (e) {
      this.lost(c, unavailable(`cannot open ${this.transport.url}: ${String(e)}`), true);
      return;
    }
    c.lastHeard = this.client.now();
    c.timers.push(
      setTimeout(() => {
        if (!c.ready && !c.ended) {
          this.transport.abort(c);
          this.lost(c, unavailable(`no welcome within ${this.requestTimeoutMs} ms`), true);
        }
      }, this.requestTimeoutMs),
    );
  }

  /** Dispatches one frame from the server to the concept it belongs to. */
  private receive(c: Conn, text: string): void {
    const f = decodeServerFrame(text);
    switch (f.op) {
      case 'invalid': {
        this.invalid(f.reason);
        if (f.id > 0) {
          this.transport.failRequest(f.id, new TandemError('protocol', `unreadable reply: ${f.reason}`, { transient: false }));
        }
        return;
      }
      case 'welcome':
        this.welcomed(c, f);
        return;
      case 'event':
        this.client.subscriptions.deliver(f);
        return;
      case 'presence':
        this.client.subscriptions.presence(f);
        return;
      case 'conflict':
        this.client.inbox.conflictFrame(f);
        return;
      case 'reply':
        this.transport.reply(f.id, f.body);
        return;
      case 'error': {
        if (f.id > 0 && this.transport.failRequest(f.id, new TandemError(f.code, f.message))) {
          return;
        }
        this.client.emit('error', new TandemError(f.code, f.message));
        return;
      }
      case 'disconnect':
        c.disconnect = f; // the close that follows is judged by its reconnect hint
        this.client.emit('disconnect', f);
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
    this.client.stats.welcomes++;
    this.transport.welcomed(w);
    this.watch(c, w.heartbeatMs);
    this.scheduleRefresh(w.expiresAt ?? this.tokenExpiresAt);
    this.setState('connected');
    this.client.emit('welcome', w);
    this.client.subscriptions.resubscribeAll();
    this.client.inbox.connected(w);
    for (const hook of [...this.readyHooks]) {
      this.client.call(() => hook(w));
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
      if (this.client.now() - c.lastHeard >= every) {
        this.probe(c);
      }
      c.timers.push(setTimeout(tick, every));
    };
    c.timers.push(setTimeout(tick, every));
  }

  /** A ping; no answer within the request timeout ends the connection. */
  private probe(c: Conn): void {
    this.request({ op: 'ping' }).catch((e: TandemError) => {
      if (e.code === 'timeout' && !c.ended) {
        this.transport.abort(c);
        this.lost(c, unavailable('the server stopped answering'), true);
      }
    });
  }

  private scheduleRefresh(expiresAt: number | undefined): void {
    this.clearTimer('refreshTimer');
    if (expiresAt === undefined) {
      return;
    }
    const left = expiresAt - this.client.now();
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
        this.client.log.warn("getToken('refresh') returned a token that expires no later than the current one");
        return;
      }
      this.scheduleRefresh(next);
    } catch (e) {
      const err = e instanceof TandemError ? e : tokenUnavailable('refresh', e);
      this.client.log.warn(`token refresh failed (${err.code}): ${err.message}`);
      this.client.emit('error', err);
      // try again while there is time; at expiry the server closes with 4003 and we reconnect
      const left = expiresAt - this.client.now();
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
    this.endConn(c, why);
    if (c !== this.conn) {
      return;
    }
    this.conn = undefined;
    this.clearTimer('refreshTimer');
    if (wasReady) {
      for (const hook of [...this.downHooks]) {
        this.client.call(() => hook());
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
    this.transport.rotate();
    if (delay === undefined) {
      this.client.log.warn(`connection lost (${why.message}); not reconnecting`);
      this.setState('closed');
      const end = new TandemError(why.code === 'unavailable' ? 'closed' : why.code, why.message, {
        transient: false,
        ...(why.closeCode === undefined ? {} : { closeCode: why.closeCode }),
      });
      this.client.emit('error', end);
      this.failConnectWaiters(end);
      return;
    }
    this.client.log.info(`connection lost (${why.message}); reconnecting in ${Math.round(delay)} ms`);
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
    this.transport.ended(c, why.code === 'closed' ? why : unavailable(`connection lost: ${why.message}`, why.closeCode));
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
          this.probe(this.conn); // after a sleep the socket may be dead without a close: check at once
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
      this.transport.abort(c);
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

  private failConnectWaiters(error: TandemError): void {
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    waiters.forEach((w) => w.reject(error));
  }

  private setState(s: ConnectionState): void {
    if (this.currentState !== s) {
      this.currentState = s;
      this.client.emit('state', s);
    }
  }

  private clearTimer(name: 'reconnectTimer' | 'refreshTimer'): void {
    const t = this[name];
    if (t !== undefined) {
      clearTimeout(t);
      this[name] = undefined;
    }
  }
}
