/**
 * Applying deltas in the Fossil delta format, as the gateway makes them for subscriptions with
 * `delta: "fossil"`. Byte for byte the decoder of the Java client (`dev.tandem.delta.Fossil`).
 *
 * A delta is `LENGTH "\n"`, then commands (`COUNT "@" OFFSET ","` copies COUNT bytes of the
 * source from OFFSET; `COUNT ":" BYTES` inserts COUNT literal bytes), then `CHECKSUM ";"`.
 * Numbers are unsigned 32-bit values in base 64 with the digits of {@link DIGITS}, most
 * significant first. The checksum is the sum, modulo 2^32, of the target read as big-endian
 * 32-bit words, the last one padded with zero bytes. A copy of length 0 copies nothing.
 *
 * @module
 */

/** Why a delta was refused: the same words as the Java client's `DeltaException.Reason`. */
export type DeltaFailure = 'malformed' | 'copy_out_of_range' | 'size_mismatch' | 'checksum_mismatch';

/**
 * A delta that cannot be applied to the source it was given: malformed, or made against another
 * source (a broken chain). The receiver drops its copy of the previous payload and asks for a
 * whole one again.
 */
export class DeltaError extends Error {
  /** Why the delta was refused. */
  readonly reason: DeltaFailure;

  constructor(reason: DeltaFailure, detail: string) {
    super(`fossil delta ${reason}: ${detail}`);
    this.name = 'DeltaError';
    this.reason = reason;
  }
}

/** The 64 digits of the format's numbers, in order of value (not RFC 4648's alphabet). */
export const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~';

const VALUES: Int8Array = (() => {
  const v = new Int8Array(256).fill(-1);
  for (let i = 0; i < DIGITS.length; i++) v[DIGITS.charCodeAt(i)] = i;
  return v;
})();

const MAX_LENGTH = 2 ** 31 - 9; // what the Java client can hold, so that both refuse alike
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The target that `delta` makes from `source`. A string source is taken as its UTF-8 bytes and
 * gives a string (the target must be UTF-8 text); a byte source gives bytes. A string delta is
 * taken as its UTF-8 bytes, which is how deltas of text travel in JSON frames.
 *
 * @throws DeltaError when the delta is malformed or does not fit this source: a copy out of
 *   range, a length or a checksum that differs from what it declares
 */
export function applyDelta(source: string, delta: string | Uint8Array): string;
export function applyDelta(source: Uint8Array, delta: string | Uint8Array): Uint8Array;
export function applyDelta(source: string | Uint8Array, delta: string | Uint8Array): string | Uint8Array {
  const src = typeof source === 'string' ? utf8Encoder.encode(source) : source;
  const d = typeof delta === 'string' ? utf8Encoder.encode(delta) : delta;
  const target = apply(src, d);
  if (typeof source !== 'string') return target;
  try {
    return utf8Decoder.decode(target);
  } catch {
    throw new DeltaError('malformed', 'the result is not UTF-8 text');
  }
}

/** The format's checksum of `bytes[0..length)`, as an unsigned 32-bit number. */
export function checksum(bytes: Uint8Array, length: number = bytes.length): number {
  let sum = 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    sum = (sum + ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!)) >>> 0;
  }
  let last = 0;
  for (let i = whole, shift = 24; i < length; i++, shift -= 8) last |= bytes[i]! << shift;
  return (sum + (last >>> 0)) >>> 0;
}

function apply(source: Uint8Array, delta: Uint8Array): Uint8Array {
  let at = 0;

  const fail = (reason: DeltaFailure, detail: string): DeltaError => new DeltaError(reason, detail);

  /** An unsigned 32-bit number of one or more digits. */
  const number = (): number => {
    const start = at;
    let value = 0;
    while (at < delta.length) {
      const digit = VALUES[delta[at]!]!;
      if (digit < 0) break;
      value = value * 64 + digit;
      if (value > 0xffffffff) throw fail('malformed', `a number over 32 bits at byte ${start}`);
      at++;
    }
    if (at === start) {
      throw fail('malformed', at < delta.length ? `no number at byte ${at}` : `ends at byte ${at} where a number belongs`);
    }
    return value;
  };

  const expect = (c: string): void => {
    if (at >= delta.length || delta[at] !== c.charCodeAt(0)) throw fail('malformed', `expected '${c}' at byte ${at}`);
    at++;
  };

  const length = number();
  expect('\n');
  if (length > MAX_LENGTH) throw fail('size_mismatch', `declares ${length} bytes, more than an array holds`);
  // a delta is rarely much longer than its source and literals together: grow beyond only when it is
  let out = new Uint8Array(Math.min(length, source.length + delta.length));
  let size = 0;

  const append = (from: Uint8Array, start: number, count: number): void => {
    if (count > length - size) throw fail('size_mismatch', `makes more than the ${length} bytes it declares`);
    if (size + count > out.length) {
      const grown = new Uint8Array(Math.min(length, Math.max(2 * out.length, size + count)));
      grown.set(out.subarray(0, size));
      out = grown;
    }
    out.set(from.subarray(start, start + count), size);
    size += count;
  };

  for (;;) {
    const count = number();
    if (at >= delta.length) throw fail('malformed', `ends after a number at byte ${at}`);
    const command = delta[at++]!;
    if (command === 0x40 /* @ */) {
      const offset = number();
      expect(',');
      if (offset + count > source.length) {
        throw fail('copy_out_of_range', `copies ${count} bytes from ${offset} of a source of ${source.length}`);
      }
      append(source, offset, count);
    } else if (command === 0x3a /* : */) {
      if (count > delta.length - at) throw fail('malformed', `a literal of ${count} bytes runs past the end`);
      append(delta, at, count);
      at += count;
    } else if (command === 0x3b /* ; */) {
      if (at !== delta.length) throw fail('malformed', `${delta.length - at} bytes after the checksum`);
      if (size !== length) throw fail('size_mismatch', `makes ${size} bytes, declares ${length}`);
      const sum = checksum(out, size);
      if (sum !== count) throw fail('checksum_mismatch', `checksum ${sum}, declares ${count}`);
      return out.length === size ? out : out.slice(0, size);
    } else {
      throw fail('malformed', `unknown command byte ${command} at ${at - 1}`);
    }
  }
}
