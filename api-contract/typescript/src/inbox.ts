/**
 * Inbox and acks: the user's own channel (`user:{you}`), followed once connected, where
 * manual-conflict notices, `doc.overwritten` and backend confirmations arrive; its frames are
 * acknowledged once every listener handled them, at most one ack per quarter second.
 */
import type { TandemClient } from './client.js';
import type { Unsubscribe } from './emitter.js';
import type { TandemError } from './errors.js';
import type { ConflictFrame, Position, WelcomeFrame } from './protocol.js';
import type { Subscription } from './subscriptions.js';

/** The client's inbox: its subscription, conflict frames and acknowledgements. */
export class Inbox {
  private sub: Subscription | undefined;
  private ackTarget: { channel: string; position: Position } | undefined;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly conflictHooks = new Set<(frame: ConflictFrame) => Promise<void> | void>();

  constructor(
    private readonly client: TandemClient,
    /** Follow `user:{you}` once connected. */
    private readonly wanted: boolean,
    /** Acknowledge handled inbox frames. */
    private readonly autoAck: boolean,
  ) {}

  /** After a welcome: subscribes the inbox, and sends an acknowledgement the last connection could not. */
  connected(w: WelcomeFrame): void {
    if (this.wanted && this.sub === undefined) {
      this.sub = this.client.subscribe(`user:${w.user}`, {});
    }
    if (this.ackTarget !== undefined && this.ackTimer === undefined) {
      // replays of what it covers are dropped as duplicates, so nothing else would trigger it
      this.ackTimer = setTimeout(() => this.sendAck(), 250);
    }
  }

  /** The channel's last handle stopped. */
  unsubscribed(channel: string): void {
    if (this.sub?.channel === channel) {
      this.sub = undefined;
    }
  }

  /** Handles conflict frames; an inbox frame is acknowledged once every hook's promise resolved. */
  onConflictFrame(hook: (frame: ConflictFrame) => Promise<void> | void): Unsubscribe {
    this.conflictHooks.add(hook);
    return () => this.conflictHooks.delete(hook);
  }

  /** A conflict frame: de-duplicated like an event when it came on a channel, handed to the hooks. */
  conflictFrame(f: ConflictFrame): void {
    if (f.channel !== undefined && f.position !== undefined && !this.client.subscriptions.accept(f.channel, f.position)) {
      return;
    }
    const done = Promise.all(
      [...this.conflictHooks].map(async (hook) => {
        await hook(f);
      }),
    );
    this.client.emit('conflict', f);
    if (f.channel !== undefined && f.position !== undefined) {
      this.delivered(f.channel, f.position, done);
    }
  }

  /** A durable frame was delivered: acknowledged once `handled` resolves if it is the own inbox's. */
  delivered(channel: string, position: Position, handled: Promise<unknown>): void {
    const w = this.client.welcome;
    if (w === undefined || channel !== `user:${w.user}` || !this.autoAck) {
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
      (e: unknown) => this.client.log.warn(`not acknowledging ${channel} at ${position.offset}: handling failed`, e),
    );
  }

  close(): void {
    if (this.ackTimer !== undefined) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
  }

  private sendAck(): void {
    this.ackTimer = undefined;
    const t = this.ackTarget;
    if (t === undefined || !this.client.isReady) {
      return;
    }
    this.ackTarget = undefined;
    this.client
      .request({ op: 'ack', channel: t.channel, offset: t.position.offset, epoch: t.position.epoch })
      .catch((e: TandemError) => this.client.log.debug(`ack of ${t.channel} at ${t.position.offset}: ${e.message}`));
  }
}
