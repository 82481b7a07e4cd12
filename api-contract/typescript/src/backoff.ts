/** How long to wait between retries: exponential growth with a random part. */
export interface BackoffOptions {
  /** Base delay before the first retry, ms (default 200). */
  readonly initialMs?: number;
  /** Cap on the base delay, ms (default 10,000). */
  readonly maxMs?: number;
  /** Growth per retry (default 2). */
  readonly multiplier?: number;
  /** Largest fraction taken off at random, 0..1 (default 1: "full jitter"). */
  readonly jitter?: number;
  /** Retries in a row before giving up (default: no limit). */
  readonly maxAttempts?: number;
}

/**
 * Exponential backoff with jitter, the same rule as the Java client's `Backoff`: the delay
 * before retry `n` (1-based) is `base = min(max, initial * multiplier^(n-1))` reduced by a
 * random fraction of at most `jitter`, so it lies in `[base * (1 - jitter), base]`. With full
 * jitter, clients that lost their connection at the same moment spread their retries evenly
 * over the window instead of arriving together.
 */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly jitter: number;
  readonly maxAttempts: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 200;
    this.maxMs = options.maxMs ?? 10_000;
    this.multiplier = options.multiplier ?? 2;
    this.jitter = options.jitter ?? 1;
    this.maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    if (!(this.initialMs >= 0) || !(this.maxMs >= this.initialMs)) {
      throw new RangeError('backoff needs 0 <= initialMs <= maxMs');
    }
    if (!(this.multiplier >= 1) || !Number.isFinite(this.multiplier)) {
      throw new RangeError('backoff multiplier must be a finite number >= 1');
    }
    if (!(this.jitter >= 0 && this.jitter <= 1)) {
      throw new RangeError('backoff jitter must be between 0 and 1');
    }
    if (!(this.maxAttempts >= 0)) {
      throw new RangeError('backoff maxAttempts must not be negative');
    }
  }

  /**
   * The delay in ms before retry number `attempt` (1 for the first), or `undefined` when no
   * more retries should be made.
   */
  delay(attempt: number, random: number = Math.random()): number | undefined {
    if (!(attempt >= 1)) {
      throw new RangeError('attempt must be at least 1');
    }
    if (attempt > this.maxAttempts) {
      return undefined;
    }
    const base = Math.min(this.maxMs, this.initialMs * Math.pow(this.multiplier, attempt - 1));
    return base * (1 - this.jitter * random);
  }
}
