/**
 * Subscriptions and recovery: the channels the app wants, shared by handles, (re)subscribed on
 * every welcome from the last position held (`since`), events de-duplicated by offset and
 * handed to the handles, and a gap the server could not replay reported as recovery lost.
 */
import type { TandemClient } from './client.js';
import { Deltas, type DeltaFormat } from './deltas.js';
import { TandemError } from './errors.js';
import { Positions } from './positions.js';
import type { ClientFrame, EventFrame, Json, JsonObject, Position, PresenceFrame } from './protocol.js';
import type { Conn } from './transport.js';

/** An event as handed to subscribers: a durable publication (with `position`) or an ephemeral signal. */
export interface TandemEvent<T = Json> {
  readonly channel: string;
  readonly type: string;
  readonly data: T;
  /** Epoch and offset; absent for ephemeral signals (typing, cursor). */
  readonly position?: Position;
  /** The event id the publisher gave, if it gave one. */
  readonly eventId?: string;
  /** When the gateway accepted it, ms since the Unix epoch. */
  readonly time: number;
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
   * Ask for payloads as Fossil deltas (`'fossil'`) where the channel's namespace allows them
   * (the reply's `delta` says); handlers still get whole payloads.
   */
  delta?: DeltaFormat;
  /**
   * Where to resume from when the client has no position of its own for the channel (e.g. the
   * position a `doc.query` page was read at): the server replays what came after it.
   */
  since?: Position;
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

/** The event a subscriber sees for an event frame. */
export function toEvent(f: EventFrame): TandemEvent {
  return {
    channel: f.channel,
    type: f.type,
    data: f.data,
    ...(f.eventId === undefined ? {} : { eventId: f.eventId }),
    time: f.time,
    ...(f.position === undefined ? {} : { position: f.position }),
    ...(f.from === undefined ? {} : { from: f.from }),
  };
}

/** The client's channels, their positions and the recovery of what was missed. */
export class Subscriptions {
  /** The last (epoch, offset) seen per channel. */
  readonly positions = new Positions();
  private readonly channels = new Map<string, Channel>();
  /** Whole payloads from delta subscriptions. */
  private readonly deltas = new Deltas();

  constructor(private readonly client: TandemClient) {}

  /** The channels wanted (the SSE stream carries them). */
  names(): string[] {
    return [...this.channels.keys()];
  }

  has(channel: string): boolean {
    return this.channels.has(channel);
  }

  /** Whether a handle of the channel asked for deltas (an SSE stream asks for them when it carries such a channel). */
  wantsDelta(channel: string): boolean {
    const ch = this.channels.get(channel);
    return ch !== undefined && Deltas.asked([...ch.handles].map((h) => h.extras)) !== undefined;
  }

  /** See {@link TandemClient.subscribe}. */
  subscribe(channel: string, handlers: SubscriptionHandlers<EventMap> | ((event: TandemEvent) => void), extras: SubscribeExtras): Subscription {
    const h: Handle = {
      handlers: typeof handlers === 'function' ? { onEvent: handlers } : handlers,
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
      if (last !== undefined && ch.conn === this.client.connection.current && !ch.inflight) {
        // joining a live subscription: the earlier reply's snapshot and members are out of date,
        // so they are left out (the handle reads them itself)
        const body: JsonObject = { ...last.body, joined: true };
        delete body['document'];
        delete body['presence'];
        const joined: SubscribeReply = { ...last, body };
        settleResolve(h, joined);
        this.call(() => h.handlers.onSubscribed?.(joined));
      }
    }
    return {
      channel,
      ready,
      position: () => this.positions.get(channel),
      unsubscribe: () => this.removeHandle(channel, h),
    };
  }

  /** After a welcome: every channel is subscribed again from its position. */
  resubscribeAll(): void {
    for (const ch of this.channels.values()) {
      this.subscribeOnServer(ch);
    }
  }

  /** The client closed: every handle ends. */
  close(err: TandemError): void {
    for (const ch of this.channels.values()) {
      for (const h of ch.handles) {
        settleReject(h, err);
        this.call(() => h.handlers.onEnded?.(err));
      }
      if (ch.retryTimer !== undefined) {
        clearTimeout(ch.retryTimer);
      }
    }
    this.channels.clear();
  }

  /** An event frame: de-duplicated by offset, then handed to the channel's handles. */
  deliver(received: EventFrame): void {
    const ch = this.channels.get(received.channel);
    if (ch === undefined) {
      return; // after an unsubscribe
    }
    // delta subscriptions: handlers get whole payloads; a broken chain is subscribed again
    const outcome = this.deltas.resolve(received);
    if (outcome.kind !== 'whole') {
      if (outcome.kind === 'broken') {
        this.mendDeltas(ch, outcome.why);
      }
      return;
    }
    const f = outcome.frame;
    if (f.position !== undefined && !this.accept(f.channel, f.position)) {
      return;
    }
    this.client.stats.events++;
    const event = toEvent(f);
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
    this.client.emit('event', event);
    if (f.position !== undefined) {
      this.client.inbox.delivered(f.channel, f.position, Promise.resolve());
    }
  }

  /**
   * Takes a durable frame's position: false for a duplicate (at or below the position held);
   * a new epoch is reported as recovery lost, before the frame is handled.
   */
  accept(channel: string, position: Position): boolean {
    const before = this.positions.get(channel);
    if (!this.positions.accept(channel, position)) {
      this.client.stats.duplicates++;
      return false;
    }
    const ch = this.channels.get(channel);
    if (ch !== undefined) {
      this.newEpoch(ch, before, position);
    }
    return true;
  }

  /** A presence frame, for the channel's handles. */
  presence(f: PresenceFrame): void {
    const ch = this.channels.get(f.channel);
    if (ch !== undefined) {
      for (const h of ch.handles) {
        this.call(() => h.handlers.onPresence?.(f));
      }
    }
    this.client.emit('presence', f);
  }

  private subscribeOnServer(ch: Channel): void {
    const c = this.client.connection.current;
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
      ...(Deltas.asked([...ch.handles].map((h) => h.extras)) === undefined ? {} : { delta: 'fossil' }),
    };
    // the channel's frames follow the reply at once, often in the same network read: the reply
    // (position, member list, delta chain) is taken as it is read, before them, never later in
    // the promise's callbacks
    const replied = (body: JsonObject): void => {
      if (this.channels.get(ch.name) !== ch) {
        return; // unsubscribed meanwhile: removeHandle sent (or will send) the unsubscribe
      }
      ch.inflight = false;
      ch.conn = c;
      ch.retries = 0;
      this.deltas.subscribed(ch.name);
      this.subscribed(ch, since, body);
    };
    this.client.connection.request(frame, undefined, replied).catch(
      (e: TandemError) => {
        ch.inflight = false;
        if (this.channels.get(ch.name) !== ch) {
          return;
        }
        if (e.transient) {
          // connection lost (resubscribed on welcome), rate limited, or the server is busy: try again
          if (this.client.connection.current === c && c.ready && !c.ended) {
            ch.retryTimer = setTimeout(() => this.subscribeOnServer(ch), this.client.connection.retryDelay(++ch.retries));
          }
          return;
        }
        this.client.log.warn(`subscribing to ${ch.name} failed, dropping it: ${e.message}`);
        this.channels.delete(ch.name);
        this.positions.forget(ch.name);
        for (const h of ch.handles) {
          settleReject(h, e);
          this.call(() => h.handlers.onEnded?.(e));
        }
        this.client.emit('error', new TandemError(e.code, `subscribing to ${ch.name} failed: ${e.message}`));
      },
    );
  }

  /** A subscribe reply: the channel's top, and recovery lost when `since` could not be replayed. */
  private subscribed(ch: Channel, since: Position | undefined, body: JsonObject): void {
    const epoch = body['epoch'];
    const offset = body['offset'];
    if (typeof epoch !== 'string' || epoch === '' || typeof offset !== 'number' || offset < 0) {
      this.client.connection.invalid(`subscribe reply for ${ch.name} without a position`);
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
      this.client.log.info(`${ch.name}: missed events could not be recovered`);
      this.client.emit('recoveryLost', ch.name, top);
    }
    for (const h of [...ch.handles]) {
      settleResolve(h, reply);
      this.call(() => h.handlers.onSubscribed?.(reply));
      if (since !== undefined && !recovered) {
        this.call(() => h.handlers.onRecoveryLost?.(top));
      }
    }
  }

  private removeHandle(channel: string, h: Handle): void {
    const ch = this.channels.get(channel);
    if (ch === undefined || !ch.handles.delete(h)) {
      return;
    }
    settleReject(h, new TandemError('closed', `unsubscribed from ${channel}`, { transient: false }));
    if (ch.handles.size > 0) {
      return;
    }
    this.channels.delete(channel);
    this.positions.forget(channel);
    this.deltas.forget(channel);
    if (ch.retryTimer !== undefined) {
      clearTimeout(ch.retryTimer);
    }
    this.client.inbox.unsubscribed(channel);
    const c = this.client.connection.current;
    // the server handles a connection's frames in order, so this may follow a subscribe in flight
    if ((ch.conn === c || ch.inflight) && c?.ready === true) {
      this.client.request({ op: 'unsubscribe', channel }).catch((e: TandemError) =>
        this.client.log.debug(`unsubscribe ${channel}: ${e.message}`),
      );
    }
  }

  /** A delta chain broke (deltas.ts): unsubscribe, then subscribe again from the last whole position. */
  private mendDeltas(ch: Channel, why: string): void {
    this.client.log.info(`${ch.name}: delta chain broken (${why}); subscribing again`);
    const c = this.client.connection.current;
    if (c === undefined || !c.ready || c.ended || ch.conn !== c) {
      return; // a (re)subscribe is under way and starts a new chain
    }
    this.client.request({ op: 'unsubscribe', channel: ch.name }).catch(() => undefined);
    ch.conn = undefined;
    this.subscribeOnServer(ch);
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
    this.client.log.info(`${ch.name}: moved to a new epoch, missed events could not be recovered`);
    this.client.emit('recoveryLost', ch.name, now);
    for (const h of [...ch.handles]) {
      this.call(() => h.handlers.onRecoveryLost?.(now));
    }
  }

  private call(fn: () => void): void {
    this.client.call(fn);
  }
}

function settleResolve(h: Handle, reply: SubscribeReply): void {
  if (!h.settled) {
    h.settled = true;
    h.resolve?.(reply);
  }
}

function settleReject(h: Handle, error: TandemError): void {
  if (!h.settled) {
    h.settled = true;
    h.reject?.(error);
  }
}
