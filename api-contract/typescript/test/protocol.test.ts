/** The pieces without a server: frame decoding, backoff, positions, the token bucket. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff, decodeServerFrame } from '@tandem/client';
import { Positions, TokenBucket } from '@tandem/client/internal';

describe('decodeServerFrame', () => {
  test('reads every frame of the contract', () => {
    const w = decodeServerFrame(
      '{"op":"welcome","session":"s1","node":"n1","user":"alice","tenant":"acme","heartbeatMs":25000,' +
        '"expiresAt":"2030-01-01T00:00:00Z","limits":{"maxFrameBytes":65536,"messagesPerSecond":50,"burst":100,"maxSubscriptions":128}}',
    );
    assert.equal(w.op, 'welcome');
    assert.ok(w.op === 'welcome' && w.expiresAt === Date.parse('2030-01-01T00:00:00Z') && w.limits.burst === 100);
    const e = decodeServerFrame(
      '{"op":"event","channel":"tenant","epoch":"e1","offset":3,"type":"t","eventId":"x","ts":1767225600000,"data":{"a":1}}',
    );
    assert.deepEqual(e.op === 'event' && e.position, { epoch: 'e1', offset: 3 });
    assert.ok(e.op === 'event' && e.time === Date.parse('2026-01-01T00:00:00Z') && e.eventId === 'x');
    const compact = decodeServerFrame('{"op":"event","channel":"tenant","epoch":"e1","offset":4,"type":"t","ts":5,"data":1}');
    assert.ok(compact.op === 'event' && compact.eventId === undefined && compact.delta === undefined, 'no id when the publisher gave none');
    const delta = decodeServerFrame('{"op":"event","channel":"tenant","epoch":"e1","offset":5,"type":"t","ts":5,"delta":true,"data":"3\\n1:3J2N;"}');
    assert.ok(delta.op === 'event' && delta.delta === true && typeof delta.data === 'string');
    const eph = decodeServerFrame(
      '{"op":"event","channel":"doc:a:b","ephemeral":true,"type":"typing","ts":1,"from":"bob","data":{}}',
    );
    assert.ok(eph.op === 'event' && eph.position === undefined && eph.from === 'bob');
    const r = decodeServerFrame('{"op":"reply","id":7,"channel":"tenant","epoch":"e","offset":0,"extra":[1]}');
    assert.deepEqual(r, { op: 'reply', id: 7, body: { channel: 'tenant', epoch: 'e', offset: 0, extra: [1] } });
    const c = decodeServerFrame('{"op":"conflict","conflictId":"k1","data":{"fields":["price"]},"channel":"user:a","epoch":"e","offset":4}');
    assert.ok(c.op === 'conflict' && c.channel === 'user:a' && c.position?.offset === 4);
    assert.deepEqual(decodeServerFrame('{"op":"disconnect","code":4003,"reason":"expired","reconnect":true}'), {
      op: 'disconnect',
      code: 4003,
      reason: 'expired',
      reconnect: true,
    });
    assert.deepEqual(decodeServerFrame('{"op":"error","id":2,"code":"forbidden","message":"no"}'), {
      op: 'error',
      id: 2,
      code: 'forbidden',
      message: 'no',
    });
  });

  test('turns anything malformed into a failure it can report, never an exception', () => {
    const bad = [
      'not json',
      '[1,2]',
      '"text"',
      'null',
      '{}',
      '{"op":42}',
      '{"op":"nope"}',
      '{"op":"event","channel":"c","type":"t","ts":1,"data":1}', // durable without position
      '{"op":"event","channel":"c","epoch":"e","offset":-1,"type":"t","ts":1,"data":1}',
      '{"op":"event","channel":"c","epoch":"e","offset":1,"type":"t","time":"2026-01-01T00:00:00Z","data":1}', // no ts
      '{"op":"event","channel":"c","epoch":"e","offset":1,"type":"t","ts":1,"delta":true,"data":{}}', // a delta is text
      '{"op":"welcome","session":"s"}',
      '{"op":"reply"}',
      '{"op":"reply","id":"7"}',
      '{"op":"reply","id":1.5}',
      '{"op":"conflict","conflictId":"k","data":[1]}',
      '{"op":"welcome","session":"s","node":"n","user":"u","tenant":"t","heartbeatMs":1,"expiresAt":"yesterday","limits":{"maxFrameBytes":1,"messagesPerSecond":1,"burst":1,"maxSubscriptions":1}}',
    ];
    for (const text of bad) {
      const f = decodeServerFrame(text);
      assert.equal(f.op, 'invalid', text);
    }
    const withId = decodeServerFrame('{"op":"event","id":9}');
    assert.ok(withId.op === 'invalid' && withId.id === 9, 'the id is kept so that request fails instead of hanging');
  });
});

describe('Backoff', () => {
  test('grows exponentially to the cap and full jitter spreads over [0, base]', () => {
    const b = new Backoff();
    assert.equal(b.delay(1, 0), 200);
    assert.equal(b.delay(2, 0), 400);
    assert.equal(b.delay(7, 0), 10_000);
    assert.equal(b.delay(30, 0), 10_000);
    assert.equal(b.delay(1, 0.5), 100);
    assert.ok((b.delay(1, 0.999999) as number) < 1);
    const samples = Array.from({ length: 2000 }, () => b.delay(3) as number);
    const buckets = [0, 0, 0, 0];
    samples.forEach((d) => buckets[Math.min(3, Math.floor(d / 200))]!++);
    for (const n of buckets) {
      assert.ok(n > 350 && n < 650, `uniform over 0-800 ms: ${buckets.join(',')}`);
    }
  });

  test('stops after maxAttempts and validates its settings', () => {
    assert.equal(new Backoff({ maxAttempts: 2 }).delay(3), undefined);
    assert.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), RangeError);
    assert.throws(() => new Backoff({ jitter: 2 }), RangeError);
    assert.throws(() => new Backoff({ multiplier: 0.5 }), RangeError);
  });
});

describe('Positions', () => {
  test('drops offsets already seen in the epoch and accepts a new epoch', () => {
    const p = new Positions();
    assert.ok(p.accept('c', { epoch: 'e1', offset: 1 }));
    assert.ok(p.accept('c', { epoch: 'e1', offset: 2 }));
    assert.ok(!p.accept('c', { epoch: 'e1', offset: 2 }));
    assert.ok(!p.accept('c', { epoch: 'e1', offset: 1 }));
    assert.ok(p.accept('c', { epoch: 'e2', offset: 1 }));
  });

  test('a subscribe reply moves to the top unless the server is replaying from our position', () => {
    const p = new Positions();
    p.accept('c', { epoch: 'e1', offset: 5 });
    p.top('c', { epoch: 'e1', offset: 9 }, true);
    assert.deepEqual(p.get('c'), { epoch: 'e1', offset: 5 });
    p.top('c', { epoch: 'e1', offset: 9 }, false);
    assert.deepEqual(p.get('c'), { epoch: 'e1', offset: 9 });
    p.top('c', { epoch: 'e1', offset: 3 }, false);
    assert.deepEqual(p.get('c'), { epoch: 'e1', offset: 9 }, 'never back within an epoch');
    p.top('c', { epoch: 'e2', offset: 3 }, false);
    assert.deepEqual(p.get('c'), { epoch: 'e2', offset: 3 });
  });
});

describe('TokenBucket', () => {
  test('allows the burst, then the rate', () => {
    let now = 0;
    const b = new TokenBucket(10, 3, () => now);
    assert.ok(b.tryTake() && b.tryTake() && b.tryTake());
    assert.ok(!b.tryTake());
    assert.equal(b.waitMs(), 100);
    now += 100;
    assert.ok(b.tryTake());
    assert.ok(!b.tryTake());
  });
});

describe('close codes', () => {
  test('every close code of the Java contract is known, with the same reconnect advice', async () => {
    const { readFileSync } = await import('node:fs');
    const { resolve } = await import('node:path');
    const { PACKAGE_DIR } = await import('./support/gateway.js');
    const { CLOSE_CODES } = await import('@tandem/client');
    const java = readFileSync(resolve(PACKAGE_DIR, '../protocol/src/main/java/dev/tandem/protocol/CloseCode.java'), 'utf8');
    const declared = [...java.matchAll(/^\s+[A-Z_]+\((\d+), (true|false), "/gm)].map((m) => [Number(m[1]), m[2] === 'true'] as const);
    assert.ok(declared.length >= 15, `read ${declared.length} close codes from CloseCode.java`);
    for (const [code, reconnect] of declared) {
      assert.equal(CLOSE_CODES[code]?.reconnect, reconnect, `close code ${code}`);
    }
    assert.equal(Object.keys(CLOSE_CODES).length, declared.length, 'no close code the server does not have');
  });
});
