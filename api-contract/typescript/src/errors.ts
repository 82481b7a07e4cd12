import { isTransientCode } from './protocol.js';

/**
 * What went wrong, as a stable code: the server's error codes (`bad_request`, `forbidden`,
 * `rate_limited`, `unavailable` …, see {@link ServerErrorCode}) and the client's own:
 *
 * - `closed` — the client was closed, or the server told it not to reconnect;
 * - `timeout` — no reply within the request timeout (the request may still have taken effect);
 * - `storage` / `storage_quota` — the offline queue could not be persisted;
 * - `too_large` — also used for an operation bigger than the server's frame limit;
 * - `protocol` — the server sent something the contract does not allow;
 * - `token_unavailable` — `getToken` threw, rejected or returned no token (no socket was opened).
 */
export type TandemErrorCode = string;

/** An error of the Tandem client, with a stable code and whether retrying may help. */
export class TandemError extends Error {
  /** The machine-readable code. */
  readonly code: TandemErrorCode;
  /** Whether the same request may succeed later (server transient codes, connection loss, timeouts). */
  readonly transient: boolean;
  /** The WebSocket close code, when the error comes from a closed connection. */
  readonly closeCode: number | undefined;

  constructor(code: TandemErrorCode, message: string, options: { transient?: boolean; closeCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TandemError';
    this.code = code;
    this.transient = options.transient ?? isTransientCode(code);
    this.closeCode = options.closeCode;
  }
}

/** A connection-level failure that a retry may fix. */
export function unavailable(message: string, closeCode?: number): TandemError {
  return new TandemError('unavailable', message, closeCode === undefined ? { transient: true } : { transient: true, closeCode });
}
