/**
 * The Fossil delta decoder: it turns every delta the Java encoder made (the vectors its tests
 * write) and every delta Fossil itself made back into the exact target, refuses broken chains and
 * malformed deltas with the Java client's reasons, and round-trips seeded random inputs made by
 * the test encoder, which makes the Java encoder's very bytes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { DeltaError, applyDelta, checksum, type DeltaFailure } from '../src/fossil.js';
import { encodeDelta } from './support/fossil-encoder.js';

interface Vector {
  name: string;
  encoding: 'utf-8' | 'base64';
  source: string;
  target: string;
  delta: string;
}

const utf8 = new TextEncoder();
const text = (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(b);

function vectors(file: string): Vector[] {
  const url = new URL(`../../../test/fixtures/${file}`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { vectors: Vector[] }).vectors;
}

function bytes(v: Vector, field: 'source' | 'target' | 'delta'): Uint8Array {
  return v.encoding === 'utf-8' ? utf8.encode(v[field]) : new Uint8Array(Buffer.from(v[field], 'base64'));
}

function refuses(reason: DeltaFailure, run: () => unknown): DeltaError {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DeltaError, `expected a DeltaError (${reason}), got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  assert.ok(caught.message.startsWith(`fossil delta ${reason}: `), caught.message);
  return caught;
}

/** A small seeded generator (mulberry32), so that every run tries the same inputs. */
function random(seed: number): { int(n: number): number; bytes(n: number): Uint8Array } {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    int: (n) => Math.floor(next() * n),
    bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  };
}

type Random = ReturnType<typeof random>;
const PIECES = ['a', 'Z', '7', ' ', '"', '{', ':', ',', '\\', 'é', 'ß', '€', '中', '文', 'ア', '😀', '👩‍💻', '𐀀', 'e\u0301', '\n'];

function randomText(r: Random, pieces: number, words: number): string {
  const vocabulary = Array.from({ length: Math.max(1, words) }, () =>
    Array.from({ length: 1 + r.int(8) }, () => PIECES[r.int(PIECES.length)]).join(''),
  );
  let s = '';
  while (s.length < pieces) s += vocabulary[r.int(vocabulary.length)];
  return s;
}

/** `s` with random inserts, deletions and replacements, never splitting a surrogate pair. */
function editText(r: Random, s: string, edits: number, span: number): string {
  const boundary = (i: number): number => (i > 0 && i < s.length && /[\udc00-\udfff]/.test(s[i]!) ? i - 1 : i);
  for (let k = 0; k < edits; k++) {
    const at = boundary(r.int(s.length + 1));
    const end = boundary(Math.min(s.length, at + 1 + r.int(span)));
    const fresh = randomText(r, 1 + r.int(span), 30);
    const op = r.int(3);
    s = op === 0 ? s.slice(0, at) + fresh + s.slice(at) : op === 1 ? s.slice(0, at) + s.slice(end) : s.slice(0, at) + fresh + s.slice(end);
  }
  return s;
}

function editBytes(r: Random, s: Uint8Array, edits: number, span: number): Uint8Array {
  let b = s;
  for (let k = 0; k < edits; k++) {
    const at = r.int(b.length + 1);
    const cut = Math.min(b.length - at, r.int(span + 1));
    const fresh = r.int(3) === 1 ? new Uint8Array(0) : r.bytes(1 + r.int(span));
    const next = new Uint8Array(b.length - cut + fresh.length);
    next.set(b.subarray(0, at));
    next.set(fresh, at);
    next.set(b.subarray(at + cut), at + fresh.length);
    b = next;
  }
  return b;
}

function stockLevel(qty: number, price: number, version: number): string {
  return JSON.stringify({
    docType: 'stock_level',
    docId: 'A-1@wh-7',
    version,
    data: { sku: 'A-1', name: 'Pallet wrap, 500 mm', qty, price, locationId: 'wh-7' },
    updatedAt: `2026-11-22T10:00:${String(version % 60).padStart(2, '0')}.481Z`,
    updatedBy: 'alice',
    createdBy: 'alice',
    deleted: false,
  });
}

describe('deltas the Java encoder made', () => {
  const all = vectors('fossil-vectors.json');

  test('decode to exactly their targets, as bytes and as text', () => {
    assert.ok(all.length > 100, `${all.length} vectors`);
    for (const v of all) {
      assert.deepEqual(applyDelta(bytes(v, 'source'), bytes(v, 'delta')), bytes(v, 'target'), v.name);
      if (v.encoding === 'utf-8') assert.equal(applyDelta(v.source, v.delta), v.target, v.name);
    }
    const kinds = new Set(all.map((v) => v.name.replace(/,.*/, '')));
    for (const kind of ['empty source', 'empty target', 'identical stock level', 'completely different bytes', 'unicode text edits', 'json edits', 'large text']) {
      assert.ok(kinds.has(kind), `the vectors cover ${kind}`);
    }
  });

  test('are made byte for byte by the test encoder too', () => {
    for (const v of all) {
      assert.deepEqual(encodeDelta(bytes(v, 'source'), bytes(v, 'target')), bytes(v, 'delta'), v.name);
    }
  });
});

describe('deltas Fossil itself made', () => {
  test('decode to exactly their targets', () => {
    const all = vectors('fossil-reference.json');
    assert.ok(all.length >= 8);
    for (const v of all) assert.deepEqual(applyDelta(bytes(v, 'source'), bytes(v, 'delta')), bytes(v, 'target'), v.name);
  });
});

describe('seeded random inputs', () => {
  test('round-trip: text in many scripts, JSON, bytes', () => {
    for (let seed = 0; seed < 600; seed++) {
      const r = random(seed);
      if (seed % 3 === 0) {
        const s = randomText(r, r.int(3000), 1 + r.int(80));
        const t = editText(r, s, r.int(10), 1 + r.int(50));
        const delta = encodeDelta(utf8.encode(s), utf8.encode(t));
        // copies never split a character: the delta of text is text, and travels as a JSON string
        assert.equal(applyDelta(s, text(delta)), t, `text, seed ${seed}`);
      } else if (seed % 3 === 1) {
        const s = JSON.stringify({ items: Array.from({ length: 1 + r.int(60) }, (_, i) => ({ i, name: randomText(r, 8, 5), qty: r.int(1000) })) });
        const t = editText(r, s, 1 + r.int(4), 1 + r.int(15));
        assert.equal(applyDelta(s, text(encodeDelta(utf8.encode(s), utf8.encode(t)))), t, `json, seed ${seed}`);
      } else {
        const s = r.bytes(r.int(3000));
        const t = editBytes(r, s, r.int(10), 1 + r.int(60));
        assert.deepEqual(applyDelta(s, encodeDelta(s, t)), t, `bytes, seed ${seed}`);
      }
    }
  });

  test('round-trip: empty, identical, completely different, around the window size', () => {
    const r = random(99);
    const some = r.bytes(3000);
    const other = r.bytes(2000);
    for (const [s, t] of [
      [new Uint8Array(0), new Uint8Array(0)],
      [new Uint8Array(0), some],
      [some, new Uint8Array(0)],
      [some, some],
      [some, other],
    ] as const) {
      assert.deepEqual(applyDelta(s, encodeDelta(s, t)), t);
    }
    for (let n = 0; n <= 40; n++) {
      const s = some.subarray(0, n);
      const t = some.subarray(5, 5 + n);
      assert.deepEqual(applyDelta(s, encodeDelta(s, t)), t, `length ${n}`);
    }
  });

  test('round-trip: a megabyte of text with scattered edits', () => {
    const r = random(7);
    const s = randomText(r, 1 << 20, 2000);
    const t = editText(r, s, 50, 100);
    const delta = encodeDelta(utf8.encode(s), utf8.encode(t));
    assert.ok(delta.length < 40_000, `${delta.length} bytes`);
    assert.equal(applyDelta(s, delta), t);
  });
});

describe('a broken chain or a malformed delta', () => {
  test('a delta applied to another source than it was made from fails its checksum', () => {
    const [v1, v2, v3] = [stockLevel(24, 17.5, 12), stockLevel(21, 18.5, 13), stockLevel(19, 18.5, 14)];
    const delta = encodeDelta(utf8.encode(v2), utf8.encode(v3));
    assert.equal(applyDelta(v2, delta), v3);
    // a missed event (the price changed): the receiver still has v1 where the sender had v2, of the same length
    refuses('checksum_mismatch', () => applyDelta(v1, delta));
    refuses('copy_out_of_range', () => applyDelta(v2.slice(0, 100), delta));
  });

  test('never yields other bytes than the target: mutated sources fail or give the target', () => {
    let refused = 0;
    for (const v of vectors('fossil-vectors.json')) {
      const source = bytes(v, 'source');
      if (source.length === 0) continue;
      const mutated = source.slice();
      const i = Math.floor(source.length / 2);
      mutated[i] = mutated[i]! ^ 0x20;
      try {
        assert.deepEqual(applyDelta(mutated, bytes(v, 'delta')), bytes(v, 'target'), v.name);
      } catch (e) {
        if (!(e instanceof DeltaError)) throw e;
        refused++;
      }
    }
    assert.ok(refused > 50, `${refused} refused`);
  });

  const cases: [string, DeltaFailure][] = [
    ['3\n3:abc1XObC1;', 'checksum_mismatch'],
    ['4\n3:abc1XObC0;', 'size_mismatch'],
    ['2\n3:abc1XObC0;', 'size_mismatch'],
    ['3\n4@0,1XObC0;', 'copy_out_of_range'],
    ['3\n1@3,2@0,1XObC0;', 'copy_out_of_range'],
    ['3\n3:abc1XObC0', 'malformed'],
    ['3\n3:abc1XObC0;x', 'malformed'],
    ['3\n3:abc', 'malformed'],
    ['3\n4:abc', 'malformed'],
    ['3\n3!abc1XObC0;', 'malformed'],
    ['3 3:abc1XObC0;', 'malformed'],
    ['\n3:abc1XObC0;', 'malformed'],
    ['3\n3:abc41XObC0;', 'malformed'],
    ['3\n3@', 'malformed'],
    ['3\n3@0', 'malformed'],
    ['', 'malformed'],
    ['4~~~~~\n0;', 'malformed'],
    ['1~~~~~\n0;', 'size_mismatch'],
    ['1~~~~\n0;', 'size_mismatch'],
    ['1~~~~r\n3@0,0;', 'size_mismatch'],
  ];
  for (const [delta, reason] of cases) {
    test(`${JSON.stringify(delta)} is refused: ${reason}`, () => {
      refuses(reason, () => applyDelta('xyz', delta));
    });
  }

  test('a target that is not UTF-8 is refused when text was asked for', () => {
    const delta = encodeDelta(new Uint8Array(0), new Uint8Array([0xff, 0xfe]));
    assert.deepEqual(applyDelta(new Uint8Array(0), delta), new Uint8Array([0xff, 0xfe]));
    refuses('malformed', () => applyDelta('', delta));
  });
});

describe('the format', () => {
  test('numbers: the examples of the format description and the largest value', () => {
    for (const [value, digits] of [[0, '0'], [6246, '1Xb'], [4046, '~E'], [2176, 'Y0'], [3193528526, '2zMM3E'], [4294967295, '3~~~~~']] as const) {
      if (value === 0) assert.equal(applyDelta('', `0\n${digits};`), '');
      else assert.ok(refuses('checksum_mismatch', () => applyDelta('', `0\n${digits};`)).message.endsWith(`declares ${value}`));
    }
  });

  test('the checksum wraps at 2^32, and a copy of length 0 copies nothing (as Fossil applies them)', () => {
    assert.equal(checksum(new Uint8Array(8).fill(0xff)), 0xfffffffe);
    assert.equal(checksum(utf8.encode('abc')), 0x61626300);
    assert.equal(applyDelta('xyz', '2\n0@0,2:ab1XOW00;'), 'ab');
  });
});
