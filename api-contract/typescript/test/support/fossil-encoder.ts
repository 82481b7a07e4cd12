/**
 * A Fossil delta encoder for the tests: the same algorithm as the gateway's Java encoder
 * (`dev.tandem.delta.Encoder`), step for step, so that it makes the very same bytes. The tests
 * check that against the vectors the Java tests write, then use it to make deltas of inputs too
 * large or too many to keep in a fixture. The client itself only decodes.
 */
import { DIGITS, checksum } from '../../src/fossil.js';

const WINDOW = 16;
const MAX_CANDIDATES = 250;

export function encodeDelta(source: Uint8Array, target: Uint8Array): Uint8Array {
  const out = new Output();
  out.number(target.length);
  out.byte(0x0a);
  const done = source.length > WINDOW && target.length >= WINDOW ? copies(new Index(source), source, target, out) : 0;
  if (done < target.length) out.literal(target, done, target.length);
  out.number(checksum(target));
  out.byte(0x3b);
  return out.bytes();
}

function copies(index: Index, source: Uint8Array, target: Uint8Array, out: Output): number {
  const end = target.length;
  let base = 0;
  while (base + WINDOW <= end) {
    let slide = base;
    let a = 0;
    let b = 0;
    for (let i = 0; i < WINDOW; i++) {
      const z = target[slide + i]!;
      a += z;
      b += (WINDOW - i) * z;
    }
    for (;;) {
      const hash = (b << 16) | (a & 0xffff);
      let bestLength = 0;
      let bestTarget = 0;
      let bestSource = 0;
      let tries = 0;
      for (let block = index.first(hash); block >= 0 && tries < MAX_CANDIDATES; block = index.next(block), tries++) {
        if (index.blockHash(block) !== hash) continue;
        const s = block * WINDOW;
        const ahead = commonAhead(source, s, target, slide);
        if (ahead === 0) continue;
        let behind = 0;
        while (behind < slide - base && behind < s && source[s - behind - 1] === target[slide - behind - 1]) behind++;
        let from = slide - behind;
        let to = slide + ahead;
        let shift = 0;
        while (from < to && isContinuation(target[from]!)) {
          from++;
          shift++;
        }
        while (to > from && to < end && isContinuation(target[to]!)) to--;
        if (to - from > bestLength) {
          bestLength = to - from;
          bestTarget = from;
          bestSource = s - behind + shift;
        }
        if (behind === slide - base && (s + ahead === source.length || slide + ahead === end)) break;
      }
      if (bestLength > 0 && worthCopying(bestLength, bestSource, bestTarget - base)) {
        if (bestTarget > base) out.literal(target, base, bestTarget);
        out.copy(bestLength, bestSource);
        base = bestTarget + bestLength;
        break;
      }
      if (slide + WINDOW >= end) return base;
      const leaving = target[slide]!;
      a += target[slide + WINDOW]! - leaving;
      b += a - WINDOW * leaving;
      slide++;
    }
  }
  return base;
}

function commonAhead(source: Uint8Array, s: number, target: Uint8Array, t: number): number {
  const n = Math.min(source.length - s, target.length - t);
  let i = 0;
  while (i < n && source[s + i] === target[t + i]) i++;
  return i;
}

function digitCount(v: number): number {
  let n = 1;
  while (v >= 64) {
    v = Math.floor(v / 64);
    n++;
  }
  return n;
}

function worthCopying(length: number, offset: number, gap: number): boolean {
  let cost = digitCount(length) + digitCount(offset) + 2;
  if (gap > 0) cost += digitCount(gap) + 1;
  return cost < length;
}

function isContinuation(b: number): boolean {
  return (b & 0xc0) === 0x80;
}

class Index {
  private readonly heads: Int32Array;
  private readonly chain: Int32Array;
  private readonly hashes: Int32Array;
  private readonly shift: number;

  constructor(source: Uint8Array) {
    const blocks = Math.floor(source.length / WINDOW);
    const bits = 33 - Math.clz32(blocks - 1);
    this.heads = new Int32Array(1 << bits).fill(-1);
    this.chain = new Int32Array(blocks);
    this.hashes = new Int32Array(blocks);
    this.shift = 32 - bits;
    for (let block = blocks - 1; block >= 0; block--) {
      let a = 0;
      let b = 0;
      for (let i = 0; i < WINDOW; i++) {
        const z = source[block * WINDOW + i]!;
        a += z;
        b += (WINDOW - i) * z;
      }
      this.hashes[block] = (b << 16) | (a & 0xffff);
      const bucket = this.bucket(this.hashes[block]!);
      this.chain[block] = this.heads[bucket]!;
      this.heads[bucket] = block;
    }
  }

  first(hash: number): number {
    return this.heads[this.bucket(hash)]!;
  }

  next(block: number): number {
    return this.chain[block]!;
  }

  blockHash(block: number): number {
    return this.hashes[block]!;
  }

  private bucket(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> this.shift;
  }
}

class Output {
  private buffer = new Uint8Array(256);
  private size = 0;

  byte(b: number): void {
    this.room(1);
    this.buffer[this.size++] = b;
  }

  number(v: number): void {
    let digits = '';
    do {
      digits = DIGITS[v % 64]! + digits;
      v = Math.floor(v / 64);
    } while (v > 0);
    for (let i = 0; i < digits.length; i++) this.byte(digits.charCodeAt(i));
  }

  copy(length: number, offset: number): void {
    this.number(length);
    this.byte(0x40);
    this.number(offset);
    this.byte(0x2c);
  }

  literal(from: Uint8Array, start: number, end: number): void {
    this.number(end - start);
    this.byte(0x3a);
    this.room(end - start);
    this.buffer.set(from.subarray(start, end), this.size);
    this.size += end - start;
  }

  bytes(): Uint8Array {
    return this.buffer.slice(0, this.size);
  }

  private room(more: number): void {
    if (this.size + more > this.buffer.length) {
      const grown = new Uint8Array(Math.max(2 * this.buffer.length, this.size + more));
      grown.set(this.buffer.subarray(0, this.size));
      this.buffer = grown;
    }
  }
}
