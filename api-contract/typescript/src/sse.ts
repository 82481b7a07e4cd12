/**
 * The Server-Sent Events transport: `tandem.v1` over `GET /sse` (an `EventSource` stream of the
 * server frames) and `POST /sse/send` (one client frame per request), for networks whose proxies
 * refuse WebSocket upgrades while plain HTTP works.
 *
 * {@link SseSocket} looks like a WebSocket to the client, so the client's reconnect, resume,
 * de-duplication, documents and offline queue run unchanged over it. It turns the frames the
 * WebSocket protocol sends into what the SSE endpoint understands:
 *
 * - `connect` opens the stream (`access_token=`, the client's channels, `lastEventId=` built
 *   from the client's positions, and `delta=fossil` when one of its channels asked for deltas);
 *   the SSE `welcome` becomes a `tandem.v1` welcome;
 * - `subscribe` / `unsubscribe` reopen the stream with the new channel list and the positions
 *   reached (make before break: the new stream is welcomed before the old one is closed; what
 *   both deliver is dropped as a duplicate by the client); `subscribe` is answered by the new
 *   stream's `subscribed` (or `error`) event for the channel. A `subscribe` with
 *   `delta: 'fossil'` makes the stream ask for deltas (for all its channels: the client applies
 *   them wherever they come, in the same code as over WebSocket). An `unsubscribe` followed by
 *   a `subscribe` of the same channel (the client mending a broken delta chain) subscribes it
 *   anew on a new stream from the position given, so what is replayed comes whole;
 * - `refresh` opens a new stream with the new token the same way, and answers with its expiry;
 * - a presence state (`presence` with `state`) is refused with `unsupported`: it needs a
 *   WebSocket connection (the server keeps presence per connection);
 * - everything else is POSTed to `/sse/send`, one request at a time (the order the client sent
 *   them in, as on a WebSocket), and the answer is handed back as the reply or error frame.
 *
 * A stream that fails ends the "socket" (close 1006, or 4001 when the server refuses the token);
 * the client then reconnects with backoff and resubscribes from its positions: no gap, no duplicate.
 *
 * @module
 */
import type { Logger } from './emitter.js';
import { isTransientCode, type JsonObject, type Limits, type Position } from './protocol.js';

export { FetchEventSource, type EventSourceConstructor, type EventSourceLike, type FetchFunction } from './event-source.js';
import type { EventSourceConstructor, EventSourceLike, FetchFunction } from './event-source.js';

/** `ws://host/ws` → `http://host/sse`; `wss://` → `https://`; an http(s) URL ending in `/sse` is kept. */
export function sseUrlFor(url: string): string {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  if ((u.protocol === 'http:' || u.protocol === 'https:') && /\/sse\/?$/.test(u.pathname)) {
    return u.toString();
  }
  u.protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  u.pathname = u.pathname.replace(/\/ws\/?$/, '').replace(/\/$/, '') + '/sse';
  return u.toString();
}

/** The gateway's `/health` next to its SSE endpoint (`http://host/sse` → `http://host/health`). */
export function healthUrlFor(sseUrl: string): string {
  const u = new URL(sseUrl);
  u.pathname = u.pathname.replace(/\/sse\/?$/, '') + '/health';
  return u.toString();
}

/** The limits assumed over SSE when the server's welcome names none (the gateway's defaults). */
export const SSE_DEFAULT_LIMITS: Limits = { maxFrameBytes: 65536, messagesPerSecond: 50, burst: 100, maxSubscriptions: 128 };

/** What an {@link SseSocket} needs from the client. */
export interface SseContext {
  /** `http(s)://host/sse`. */
  readonly url: string;
  readonly EventSource: EventSourceConstructor;
  readonly fetch: FetchFunction;
  /** The channels the client wants now (opened with the first stream, so a reconnect needs one stream). */
  channels(): string[];
  /** Whether the client's subscription of a channel asks for Fossil deltas. */
  delta(channel: string): boolean;
  /** The last position the client holds for a channel (what it has delivered). */
  position(channel: string): Position | undefined;
  readonly log: Logger;
}

/** One open `GET /sse` request. */
interface Stream {
  readonly es: EventSourceLike;
  readonly channels: ReadonlySet<string>;
  /** Opened with `delta=fossil`. */
  readonly delta: boolean;
  readonly token: string;
  welcomed: boolean;
  /** The channels' `subscribed` replies (or refusals) on this stream. */
  readonly answers: Map<string, JsonObject>;
  /** The refresh request this stream answers once welcomed. */
  refreshId?: number;
}

const OPEN = 1;
const CLOSED = 3;

/** A refused presence state, as the server would say it. */
export const PRESENCE_OVER_SSE =
  'presence state cannot be set over Server-Sent Events (transport sse): the server keeps presence per WebSocket connection';

/**
 * The SSE transport behind the WebSocket interface the client uses (see the module comment).
 * @internal
 */
export class SseSocket {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  private token = '';
  private live: Stream | undefined;
  private opening: Stream | undefined;
  private readonly want = new Set<string>();
  /** The wanted channels whose subscription asks for deltas. */
  private readonly deltas = new Set<string>();
  private readonly since = new Map<string, Position>();
  /** Subscribe request ids waiting for their channel's `subscribed` event. */
  private readonly waiting = new Map<string, number[]>();
  private reopenTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly posts: Array<{ text: string; id: number }> = [];
  private posting = false;
  private ended = false;

  constructor(private readonly ctx: SseContext) {
    setTimeout(() => {
      if (!this.ended) {
        this.readyState = OPEN;
        this.onopen?.({});
      }
    }, 0);
  }

  send(text: string): void {
    if (this.ended) {
      return;
    }
    const frame = JSON.parse(text) as JsonObject;
    const id = typeof frame['id'] === 'number' ? frame['id'] : 0;
    switch (frame['op']) {
      case 'connect': {
        this.token = String(frame['token']);
        for (const ch of this.ctx.channels()) {
          this.want.add(ch);
          if (this.ctx.delta(ch)) {
            this.deltas.add(ch);
          }
        }
        this.open(this.token);
        return;
      }
      case 'subscribe': {
        const channel = String(frame['channel']);
        const since = frame['since'] as unknown as Position | undefined;
        if (since !== undefined) {
          this.since.set(channel, since);
        }
        const delta = frame['delta'] === 'fossil';
        const latest = this.opening ?? this.live;
        const answer = latest?.answers.get(channel);
        const stale = answer !== undefined && answer['refused'] === true && isTransientCode(String(answer['code']));
        // a channel unsubscribed meanwhile (not wanted) is subscribed anew, as a socket would
        const carried = latest !== undefined && latest.channels.has(channel) && this.want.has(channel)
          && (!delta || latest.delta);
        if (delta) {
          this.deltas.add(channel);
        }
        if (carried && answer !== undefined && !stale) {
          this.answer(id, answer);
          return;
        }
        this.waiting.set(channel, [...(this.waiting.get(channel) ?? []), id]);
        if (!carried || stale) {
          // a new channel, deltas the stream does not ask for, or a retry of a transient
          // refusal: a stream that subscribes again
          latest?.answers.delete(channel);
          this.want.add(channel);
          this.scheduleReopen();
        }
        return;
      }
      case 'unsubscribe': {
        const channel = String(frame['channel']);
        this.want.delete(channel);
        this.deltas.delete(channel);
        this.since.delete(channel);
        this.scheduleReopen();
        if (id > 0) {
          this.emit({ op: 'reply', id, channel });
        }
        return;
      }
      case 'refresh':
        this.open(String(frame['token']), id);
        return;
      case 'presence':
        if (frame['state'] !== undefined) {
          if (id > 0) {
            this.emit({ op: 'error', id, code: 'unsupported', message: PRESENCE_OVER_SSE });
          }
          return;
        }
        break;
      default:
        break;
    }
    this.posts.push({ text, id });
    void this.post();
  }

  close(code = 1000, reason = ''): void {
    this.end(code, reason);
  }

  // ------------------------------------------------------------------ the stream

  private scheduleReopen(): void {
    if (this.reopenTimer !== undefined || this.live === undefined) {
      return; // the first stream is still opening: its welcome reopens if the set changed
    }
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.open(this.token);
    }, 15);
  }

  /** Opens a stream with the wanted channels from the client's positions (`refreshId`: for a refresh). */
  private open(token: string, refreshId?: number): void {
    if (this.ended) {
      return;
    }
    const old = this.opening;
    if (old !== undefined) {
      old.es.close();
      if (old.refreshId !== undefined && refreshId === undefined) {
        refreshId = old.refreshId;
        token = old.token;
      }
    }
    const channels = new Set(this.want);
    const delta = this.wantsDelta();
    const ids: Record<string, [string, number]> = {};
    for (const ch of channels) {
      const p = this.ctx.position(ch) ?? this.since.get(ch);
      if (p !== undefined) {
        ids[ch] = [p.epoch, p.offset];
      }
    }
    const q = new URLSearchParams();
    for (const ch of channels) {
      q.append('channel', ch);
    }
    q.set('access_token', token);
    if (delta) {
      q.set('delta', 'fossil');
    }
    if (Object.keys(ids).length > 0) {
      q.set('lastEventId', base64url(JSON.stringify(ids)));
    }
    let es: EventSourceLike;
    try {
      es = new this.ctx.EventSource(`${this.ctx.url}?${q}`);
    } catch (e) {
      this.end(1006, `cannot open the event stream: ${String(e)}`);
      return;
    }
    const s: Stream = { es, channels, delta, token, welcomed: false, answers: new Map(), ...(refreshId === undefined ? {} : { refreshId }) };
    this.opening = s;
    const on = (type: string, fn: (data: JsonObject, raw: string) => void): void =>
      es.addEventListener(type, (e) => {
        if (this.ended || (s !== this.live && s !== this.opening) || typeof e.data !== 'string') {
          return; // (a browser's EventSource also fires 'error' without data when the connection fails)
        }
        let data: JsonObject;
        try {
          data = JSON.parse(e.data) as JsonObject;
        } catch {
          this.onmessage?.({ data: e.data }); // the client reports it as invalid
          return;
        }
        fn(data, e.data);
      });
    on('welcome', (w) => this.welcomed(s, w));
    on('subscribed', (body) => this.subscribed(s, body));
    on('error', (f) => this.streamError(s, f));
    for (const type of ['event', 'presence', 'conflict']) {
      on(type, (_f, raw) => this.onmessage?.({ data: raw }));
    }
    on('disconnect', (f, raw) => {
      this.onmessage?.({ data: raw });
      this.end(typeof f['code'] === 'number' ? f['code'] : 1006, typeof f['reason'] === 'string' ? f['reason'] : 'stream ended');
    });
    es.onerror = () => {
      if (this.ended || (s !== this.live && s !== this.opening)) {
        return;
      }
      es.close();
      if (s === this.opening && this.live !== undefined) {
        this.opening = undefined;
        if (s.refreshId !== undefined) {
          this.emit({ op: 'error', id: s.refreshId, code: 'unauthorized', message: 'the event stream refused the new token' });
          if (this.differs(this.live)) {
            this.scheduleReopen();
          }
          return;
        }
      }
      void this.streamFailed(s);
    };
  }

  private welcomed(s: Stream, w: JsonObject): void {
    s.welcomed = true;
    if (s === this.opening) {
      const old = this.live;
      this.live = s;
      this.opening = undefined;
      old?.es.close();
      this.token = s.token;
    }
    if (s.refreshId !== undefined) {
      this.emit({ op: 'reply', id: s.refreshId, ...(w['expiresAt'] === undefined ? {} : { expiresAt: w['expiresAt'] }) });
      delete s.refreshId;
    }
    if (!this.welcomedOnce) {
      this.welcomedOnce = true;
      // the stream's welcome is the tandem.v1 welcome (session = the stream's id, heartbeatMs, limits)
      const heartbeat = typeof w['heartbeatMs'] === 'number' ? w['heartbeatMs'] : 25_000;
      const limits = typeof w['limits'] === 'object' && w['limits'] !== null ? w['limits'] : SSE_DEFAULT_LIMITS;
      this.emit({
        op: 'welcome',
        session: typeof w['session'] === 'string' ? w['session'] : 'sse',
        node: typeof w['node'] === 'string' ? w['node'] : 'sse',
        user: w['user'] ?? '',
        tenant: w['tenant'] ?? '',
        heartbeatMs: heartbeat,
        ...(w['expiresAt'] === undefined ? {} : { expiresAt: w['expiresAt'] }),
        limits: limits as JsonObject,
      });
    }
    // channels (or deltas) asked for while this stream was opening
    if (this.differs(s)) {
      this.scheduleReopen();
    }
  }

  /** Whether the stream asks for deltas: when a wanted channel's subscription does. */
  private wantsDelta(): boolean {
    return [...this.want].some((c) => this.deltas.has(c));
  }

  /** Whether a stream carries other channels, or other deltas, than those wanted now. */
  private differs(s: Stream): boolean {
    return s.delta !== this.wantsDelta() || s.channels.size !== this.want.size || [...this.want].some((c) => !s.channels.has(c));
  }

  private welcomedOnce = false;

  private subscribed(s: Stream, body: JsonObject): void {
    const channel = String(body['channel']);
    const reply: JsonObject = { ...body };
    delete reply['op'];
    s.answers.set(channel, reply);
    for (const id of this.waiting.get(channel) ?? []) {
      this.answer(id, reply);
    }
    this.waiting.delete(channel);
  }

  private streamError(s: Stream, f: JsonObject): void {
    const channel = f['channel'];
    if (typeof channel !== 'string') {
      this.onmessage?.({ data: JSON.stringify({ ...f, op: 'error' }) });
      return;
    }
    const refusal: JsonObject = { refused: true, code: f['code'] ?? 'bad_request', message: f['message'] ?? '' };
    s.answers.set(channel, refusal);
    for (const id of this.waiting.get(channel) ?? []) {
      this.answer(id, refusal);
    }
    this.waiting.delete(channel);
  }

  /** Answers a subscribe with a `subscribed` body or a refusal. */
  private answer(id: number, body: JsonObject): void {
    if (id <= 0) {
      return;
    }
    if (body['refused'] === true) {
      this.emit({ op: 'error', id, code: body['code'] ?? 'bad_request', message: body['message'] ?? '' });
    } else {
      this.emit({ op: 'reply', id, ...body });
    }
  }

  /** A stream failed before or after its welcome: find out whether the token was refused, then end. */
  private async streamFailed(s: Stream): Promise<void> {
    if (!s.welcomed) {
      try {
        const res = await this.ctx.fetch(sendUrl(this.ctx.url), {
          method: 'POST',
          headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ op: 'ping', id: 1 }),
        });
        const text = await res.text();
        if (res.status === 401) {
          let message = 'the server refused the token';
          try {
            message = String((JSON.parse(text) as JsonObject)['message'] ?? message);
          } catch {
            // not JSON
          }
          this.end(4001, message);
          return;
        }
      } catch {
        // HTTP fails too: a network failure
      }
    }
    this.end(1006, s.welcomed ? 'the event stream was lost' : 'the event stream could not be opened');
  }

  // ------------------------------------------------------------------ POST /sse/send

  /** Sends queued frames one at a time, in order. */
  private async post(): Promise<void> {
    if (this.posting) {
      return;
    }
    this.posting = true;
    try {
      while (!this.ended && this.posts.length > 0) {
        const { text, id } = this.posts.shift() as { text: string; id: number };
        let status: number;
        let body: string;
        try {
          const res = await this.ctx.fetch(sendUrl(this.ctx.url), {
            method: 'POST',
            headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
            body: text,
          });
          status = res.status;
          body = await res.text();
        } catch (e) {
          this.end(1006, `POST /sse/send failed: ${String(e)}`);
          return;
        }
        if (this.ended) {
          return;
        }
        let frame: JsonObject | undefined;
        try {
          const parsed = JSON.parse(body) as unknown;
          frame = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : undefined;
        } catch {
          frame = undefined;
        }
        if (frame === undefined || (frame['op'] !== 'reply' && frame['op'] !== 'error')) {
          frame = { op: 'error', id, code: status >= 500 || status === 0 ? 'unavailable' : 'bad_request', message: `POST /sse/send answered ${status}` };
        }
        if (id === 0 && frame['op'] === 'reply') {
          continue; // a frame sent without id wants no reply
        }
        this.emit({ ...frame, id });
      }
    } finally {
      this.posting = false;
    }
  }

  // ------------------------------------------------------------------ helpers

  private emit(frame: JsonObject): void {
    if (!this.ended) {
      this.onmessage?.({ data: JSON.stringify(frame) });
    }
  }

  private end(code: number, reason: string): void {
    if (this.ended) {
      return;
    }
    this.ended = true;
    this.readyState = CLOSED;
    if (this.reopenTimer !== undefined) {
      clearTimeout(this.reopenTimer);
    }
    this.live?.es.close();
    this.opening?.es.close();
    this.posts.length = 0;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }
}

function sendUrl(sse: string): string {
  const u = new URL(sse);
  u.pathname = u.pathname.replace(/\/?$/, '/send');
  return u.toString();
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) {
    bin += String.fromCharCode(b);
  }
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
