import type { TandemClient } from './client.js';
import type { SubscribeReply, Subscription, TandemEvent } from './subscriptions.js';
import { Emitter, type Unsubscribe } from './emitter.js';
import { TandemError } from './errors.js';
import { isJsonObject, type Json, type JsonObject, type PresenceFrame } from './protocol.js';

/** Someone present on a channel (all their tabs and devices together). */
export interface Member {
  readonly user: string;
  /** Open connections of the user on the channel, when known. */
  readonly connections?: number;
  /** The user's state (an object: status, what they edit …), when they set one. */
  readonly state?: JsonObject;
  /** ISO-8601 time of the last heartbeat, when known. */
  readonly lastSeen?: string;
}

/** A typing or cursor signal from someone on the channel. */
export interface Signal<T = Json> {
  readonly type: string;
  readonly from: string;
  readonly data: T;
}

/** Events of a {@link PresenceChannel}. */
export interface PresenceEvents {
  /** The member list changed (join, leave, state, or a fresh snapshot after a reconnect). */
  change: (members: readonly Member[]) => void;
  /** A user's first connection arrived: someone not in {@link PresenceChannel.members} before. */
  join: (member: Member) => void;
  /** A user's last connection left: someone who was in {@link PresenceChannel.members}. */
  leave: (member: Member) => void;
  /** Someone's state changed. */
  state: (member: Member) => void;
  /** A typing, cursor or other ephemeral signal (your own ones included: compare `from`). */
  signal: (signal: Signal) => void;
}

/** Options of {@link PresenceChannel}. */
export interface PresenceOptions {
  /** The shortest time between two `typing` signals of this channel (default 2,000 ms). */
  typingIntervalMs?: number;
}

/**
 * Presence on one channel (a namespace with presence: `doc:`, `workspace:`, `project:` by
 * default): who is here, their state, join/leave, and throttled typing and cursor signals.
 * Subscribing joins; {@link close} leaves. After a reconnect the member list is fetched afresh
 * and your own state is set again.
 */
export class PresenceChannel {
  private readonly list = new Map<string, Member>();
  private readonly emitter: Emitter<PresenceEvents>;
  private readonly sub: Subscription;
  private ownState: JsonObject | undefined;
  private lastTyping = Number.NEGATIVE_INFINITY;
  private readonly typingIntervalMs: number;

  /** Resolves once joined with the first member list. */
  readonly ready: Promise<readonly Member[]>;

  constructor(
    private readonly client: TandemClient,
    readonly channel: string,
    options: PresenceOptions = {},
  ) {
    this.emitter = new Emitter<PresenceEvents>(client.log);
    this.typingIntervalMs = options.typingIntervalMs ?? 2000;
    this.sub = client.subscribe(
      channel,
      {
        onSubscribed: (reply) => void this.subscribed(reply),
        onPresence: (frame) => this.presence(frame),
        onEvent: (event) => this.event(event),
      },
      { presence: true },
    );
    this.ready = this.sub.ready.then(() => this.members());
  }

  /** Listens to a presence event; returns the remover. */
  on<K extends keyof PresenceEvents>(event: K, listener: PresenceEvents[K]): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  /** Everyone present now, sorted by user. */
  members(): readonly Member[] {
    return [...this.list.values()].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  }

  /** One member, if present. */
  member(user: string): Member | undefined {
    return this.list.get(user);
  }

  /**
   * Sets your state on the channel (a JSON object, at most `presence.max-state-bytes`); it is
   * set again after every reconnect. Resolves when the server took it; while disconnected it
   * is kept and sent on the next connection.
   */
  async setState(state: JsonObject): Promise<void> {
    if (!isJsonObject(state)) {
      throw new TypeError('presence state must be a JSON object');
    }
    this.ownState = state;
    if (this.client.isReady) {
      await this.client.request({ op: 'presence', channel: this.channel, state });
    }
  }

  /** Your state as last set. */
  get state(): JsonObject | undefined {
    return this.ownState;
  }

  /**
   * Says you are typing (call it on every keystroke): at most one `typing` signal per
   * `typingIntervalMs` reaches the channel, within the server's signal limit.
   */
  typing(data: JsonObject = {}): void {
    const now = this.client.now();
    if (now - this.lastTyping < this.typingIntervalMs) {
      return;
    }
    this.lastTyping = now;
    this.client.signal(this.channel, 'typing', data);
  }

  /** Says typing stopped (e.g. on blur), so others can clear the hint at once. */
  stoppedTyping(data: JsonObject = {}): void {
    this.lastTyping = Number.NEGATIVE_INFINITY;
    this.client.signal(this.channel, 'typing', { ...data, stopped: true });
  }

  /**
   * Shares a cursor or selection (call it as often as it moves): the latest value is sent as
   * soon as the server's signal limit allows; older unsent ones are replaced.
   */
  cursor(data: Json): void {
    this.client.signal(this.channel, 'cursor', data);
  }

  /** Sends another ephemeral signal type, under the same limit (latest wins per type). */
  signal(type: string, data: Json): void {
    this.client.signal(this.channel, type, data);
  }

  /** Leaves the channel (unsubscribes this handle). */
  close(): void {
    this.sub.unsubscribe();
  }

  private async subscribed(reply: SubscribeReply): Promise<void> {
    const members = reply.body['presence'];
    if (Array.isArray(members)) {
      this.replace(members);
    } else {
      // the channel was already subscribed without a snapshot: ask for the members
      try {
        const body = await this.client.request({ op: 'presence', channel: this.channel });
        if (Array.isArray(body['members'])) {
          this.replace(body['members']);
        }
      } catch (e) {
        this.client.log.warn(`presence of ${this.channel}: ${(e as TandemError).message}`);
      }
    }
    if (this.ownState !== undefined && this.client.isReady) {
      this.client
        .request({ op: 'presence', channel: this.channel, state: this.ownState })
        .catch((e: TandemError) => this.client.log.warn(`setting presence on ${this.channel}: ${e.message}`));
    }
  }

  private replace(members: Json[]): void {
    this.list.clear();
    for (const m of members) {
      const member = toMember(m);
      if (member !== undefined) {
        this.list.set(member.user, member);
      }
    }
    this.emitter.emit('change', this.members());
  }

  private presence(frame: PresenceFrame): void {
    const m = toMember(frame.data);
    if (m === undefined) {
      return;
    }
    switch (frame.kind) {
      // the member list in a subscribe reply is read once the subscription is live, so a join or
      // leave from just before it may follow it: one that changes nothing is not announced
      case 'join':
        if (this.list.has(m.user)) {
          return;
        }
        this.list.set(m.user, m);
        this.emitter.emit('join', m);
        break;
      case 'leave':
        if (!this.list.delete(m.user)) {
          return;
        }
        this.emitter.emit('leave', m);
        break;
      case 'state':
        this.list.set(m.user, { ...this.list.get(m.user), ...m });
        this.emitter.emit('state', this.list.get(m.user) as Member);
        break;
      default:
        return;
    }
    this.emitter.emit('change', this.members());
  }

  private event(event: TandemEvent): void {
    if (event.position === undefined && event.from !== undefined) {
      this.emitter.emit('signal', { type: event.type, from: event.from, data: event.data });
    }
  }
}

function toMember(v: Json): Member | undefined {
  if (!isJsonObject(v) || typeof v['user'] !== 'string') {
    return undefined;
  }
  const connections = v['connections'];
  const state = v['state'];
  const lastSeen = v['lastSeen'];
  return {
    user: v['user'],
    ...(typeof connections === 'number' ? { connections } : {}),
    ...(isJsonObject(state) ? { state } : {}),
    ...(typeof lastSeen === 'string' ? { lastSeen } : {}),
  };
}
