import type { Position } from './protocol.js';

/**
 * The last position seen per channel, for de-duplication and recovery (the Java client's
 * `Positions`). Within one epoch offsets only grow; a position in another epoch replaces the
 * old one, because the history of the old epoch is gone.
 */
export class Positions {
  private readonly last = new Map<string, Position>();

  /**
   * Records an event's position; false when the event is a duplicate (its offset is not beyond
   * the last one seen in the same epoch) and must be dropped.
   */
  accept(channel: string, p: Position): boolean {
    const old = this.last.get(channel);
    if (old !== undefined && old.epoch === p.epoch && p.offset <= old.offset) {
      return false;
    }
    this.last.set(channel, p);
    return true;
  }

  /**
   * Records the channel's top position named by a subscribe reply. When the server
   * `recovered` from our position in the same epoch, the replayed events advance the position
   * themselves; otherwise whatever lies before the top is not coming and the top becomes the
   * position (never moving back within an epoch).
   */
  top(channel: string, top: Position, recovered: boolean): void {
    const old = this.last.get(channel);
    if (old === undefined || old.epoch !== top.epoch || (!recovered && old.offset < top.offset)) {
      this.last.set(channel, top);
    }
  }

  /** The last position seen on a channel. */
  get(channel: string): Position | undefined {
    return this.last.get(channel);
  }

  /** Forgets a channel, e.g. after unsubscribing. */
  forget(channel: string): void {
    this.last.delete(channel);
  }
}

/** A token bucket: `rate` tokens per second up to `capacity`; like the server's, so the client stays under it. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    private capacity: number,
    private readonly now: () => number,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Changes the rate and capacity (the bucket keeps its tokens, capped). */
  reset(rate: number, capacity: number, full: boolean): void {
    this.refill();
    this.rate = rate;
    this.capacity = capacity;
    this.tokens = full ? capacity : Math.min(this.tokens, capacity);
  }

  /** Takes one token if there is one. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until a token is available (0 when one is). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  private refill(): void {
    const t = this.now();
    const elapsed = t - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (elapsed / 1000) * this.rate);
      this.last = t;
    }
  }
}
