/**
 * Bad input from a server (a scripted fake: a real gateway never sends these on purpose):
 * malformed frames, errors on every kind of request, connections dropped mid-batch, limits.
 * Nothing breaks the client and no queued operation is lost.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  MemoryStorage,
  TandemClient,
  TandemError,
  type OpView,
  type QueueStorage,
  type StoredOp,
  type TandemEvent,
} from '@tandem/client';
import { LogSink, NodeWebSocket } from './support/clients.js';
import { FakeServer, defaultScript, type FakeConnection, type Frame } from './support/fake-server.js';
import { eventually, sleep } from './support/gateway.js';

let fake: FakeServer;
let client: TandemClient | undefined;

beforeEach(async () => {
  fake = await FakeServer.start();
});

afterEach(async () => {
  client?.close();
  client = undefined;
  await fake.close();
});

function newClient(options: Partial<ConstructorParameters<typeof TandemClient>[0]> = {}): { client: TandemClient; log: LogSink } {
  const log = new LogSink();
  client = new TandemClient({
    url: fake.url,
    WebSocket: NodeWebSocket,
    getToken: () => 'token',
    logger: log.logger,
    reconnect: { initialMs: 20, maxMs: 100 },
    ...options,
  });
  return { client, log };
}

/** A server-side opId memory: each op applied once, a repeat is a duplicate (like the real store). */
class Store {
  readonly applied: string[] = [];
  answer(conn: FakeConnection, frame: Frame, override: (opId: string) => object | undefined = () => undefined): void {
    const ops = frame['ops'] as Array<{ opId: string }>;
    const results = ops.map((op) => {
      const special = override(op.opId);
      if (special !== undefined) {
        return { opId: op.opId, ...special };
      }
      if (this.applied.includes(op.opId)) {
        return { opId: op.opId, result: 'duplicate', version: 1 };
      }
      this.applied.push(op.opId);
      return { opId: op.opId, result: 'applied', version: this.applied.length + 1 };
    });
    conn.reply(frame.id, { results });
  }
}

describe('malformed frames from a server', () => {
  test('are reported and ignored; the client keeps delivering and answering', async () => {
    fake.script = defaultScript((conn, frame) => {
      if (frame.op === 'subscribe') {
        conn.reply(frame.id, { channel: frame['channel'], epoch: 'e1', offset: 0 });
        conn.send('this is not json');
        conn.send('[1,2,3]');
        conn.send('{"op":"teleport"}');
        conn.send('{"op":"event","channel":"tenant","type":"x"}');
        conn.send('{"op":"event","channel":"tenant","epoch":"e1","offset":"one","type":"x","eventId":"i","ts":1,"data":{}}');
        conn.send('{"op":"reply","id":"seven"}');
        conn.send('{"op":"presence","channel":"tenant","kind":"join","data":null}');
        conn.send('{"op":"conflict","conflictId":7,"data":{}}');
        conn.send('{"op":"error","id":424242,"code":"internal","message":"for nobody"}');
        conn.send('{"op":"reply","id":999999}');
        conn.ws.send(Buffer.from([0, 1, 2]), { binary: true });
        conn.send('{"op":"event","channel":"tenant","epoch":"e1","offset":1,"type":"ok","eventId":"i1","ts":1767225600000,"data":{"n":1}}');
      }
    });
    const { client, log } = newClient();
    const events: TandemEvent[] = [];
    const invalid: string[] = [];
    client.on('invalidFrame', (r) => invalid.push(r));
    await client.connect();
    client.subscribe('tenant', (e) => events.push(e));
    await eventually(() => events.length === 1, 'the valid event after the garbage');
    assert.equal(events[0]?.type, 'ok');
    assert.ok(invalid.length >= 9, `reported: ${invalid.join(' | ')}`);
    assert.equal(client.stats.invalidFrames, invalid.length);
    assert.equal(client.state, 'connected');
    assert.ok((await client.ping()) >= 0, 'requests still work');
    assert.ok(log.lines.some((l) => l.startsWith('warn ignoring an invalid frame')));
  });

  test('an unreadable answer fails only its own request', async () => {
    fake.script = defaultScript((conn, frame) => {
      if (frame.op === 'doc.get') {
        conn.send(JSON.stringify({ op: 'welcome', id: frame.id }));
      }
    });
    const { client } = newClient();
    await client.connect();
    await assert.rejects(client.documents.get('t', 'd'), (e: TandemError) => e.code === 'protocol');
    assert.ok((await client.ping()) >= 0);
  });
});

describe('closes', () => {
  test('a disconnect with reconnect:false ends the client; 1012 (draining) is followed by a reconnect', async () => {
    let n = 0;
    fake.script = defaultScript(() => {}, (conn) => {
      n++;
      conn.welcome();
      if (n === 1) {
        setTimeout(() => {
          conn.send({ op: 'disconnect', code: 1012, reason: 'draining', reconnect: true });
          conn.ws.close(1012, 'draining');
        }, 50);
      } else {
        setTimeout(() => {
          conn.send({ op: 'disconnect', code: 4001, reason: 'revoked', reconnect: false });
          conn.ws.close(4001, 'revoked');
        }, 50);
      }
    });
    const { client } = newClient();
    const errors: TandemError[] = [];
    client.on('error', (e) => errors.push(e));
    await client.connect();
    await eventually(() => client.state === 'closed', 'closed after the refusal');
    assert.equal(client.stats.welcomes, 2);
    await sleep(300);
    assert.equal(fake.connections.length, 2, 'no attempt after reconnect:false');
    assert.ok(errors.some((e) => e.closeCode === 4001));
  });
});

describe('the offline queue against server errors', () => {
  test('transient errors and lost connections retry the batch; every operation is applied once, in order', async () => {
    const store = new Store();
    let syncs = 0;
    fake.script = defaultScript((conn, frame) => {
      if (frame.op !== 'sync') {
        return;
      }
      syncs++;
      if (syncs === 1) {
        conn.error(frame.id, 'unavailable', 'database down');
      } else if (syncs === 2) {
        conn.error(frame.id, 'rate_limited', 'slow down');
      } else if (syncs === 3) {
        // applies the batch, then the connection dies before the answer
        store.answer({ reply() {} } as unknown as FakeConnection, frame);
        conn.drop();
      } else {
        store.answer(conn, frame);
      }
    });
    const { client } = newClient();
    const statuses = new Map<string, string[]>();
    client.documents.on('op', (o) => statuses.set(o.opId, [...(statuses.get(o.opId) ?? []), o.status]));
    const ops: OpView[] = [];
    for (let i = 0; i < 5; i++) {
      ops.push(await client.documents.update('stock_level', 'A-1@wh-7', { patch: { inc: { qty: 1 } } }, { baseVersion: 1 }));
    }
    await client.connect();
    await eventually(() => client.documents.ops().length === 0, 'queue drained', 10_000);
    assert.deepEqual(store.applied, ops.map((o) => o.opId), 'each once, in order');
    for (const o of ops) {
      const s = statuses.get(o.opId) ?? [];
      assert.equal(s[0], 'queued');
      assert.equal(s.at(-1), 'duplicate', `${o.opId}: ${s.join('>')}`); // applied before the drop
      assert.ok(s.filter((x) => x === 'sending').length === 4, `${o.opId} sent four times: ${s.join('>')}`);
    }
    for (const f of fake.received('sync')) {
      assert.deepEqual((f['ops'] as Array<{ opId: string }>).map((o) => o.opId), ops.map((o) => o.opId), 'same batch, same order');
    }
  });

  test('an edit held by a conflict the client saw resolved meanwhile is sent again at once', async () => {
    let syncs = 0;
    fake.script = defaultScript((conn, frame) => {
      if (frame.op === 'conflict.resolve') {
        const document = { docType: 'stock_level', docId: 'A-1@wh-7', version: 5, data: { price: 13 } };
        conn.reply(frame.id, { result: 'resolved', conflictId: 'cf-1', version: 5, document });
        return;
      }
      if (frame.op !== 'sync') {
        return;
      }
      syncs++;
      const ops = frame['ops'] as Array<{ opId: string; afterOpId?: string }>;
      const results = ops.map((op) =>
        syncs === 1 && op.afterOpId === undefined
          ? { opId: op.opId, result: 'conflict', conflictId: 'cf-1', conflict: { conflictId: 'cf-1', opId: op.opId, status: 'open' } }
          : syncs <= 2 // the second: judged just before the resolution committed
            ? { opId: op.opId, result: 'held', conflictId: 'cf-1' }
            : { opId: op.opId, result: 'applied', version: 6 },
      );
      conn.reply(frame.id, { results });
    });
    const { client } = newClient();
    const price = await client.documents.update('stock_level', 'A-1@wh-7', { patch: { set: { price: 13 } } }, { baseVersion: 3 });
    const qty = await client.documents.update('stock_level', 'A-1@wh-7', { patch: { inc: { qty: -1 } } }, { baseVersion: 3 });
    assert.equal(qty.afterOpId, price.opId);
    await client.connect();
    await eventually(() => client.documents.ops().some((o) => o.opId === qty.opId && o.heldBy === 'cf-1'), 'held');
    await sleep(200);
    assert.equal(syncs, 1, 'a held edit is not sent while its conflict is open');
    await client.documents.resolve('cf-1', 'accept_local');
    const done = await client.documents.settled(qty.opId);
    assert.equal(done.status, 'applied');
    assert.equal(syncs, 3, 'sent after the resolution, and again at once when held by the conflict that ended');
  });

  test('the answer to a batch in flight does not bring back an operation whose conflict was resolved meanwhile', async () => {
    let inFlight: { conn: FakeConnection; frame: Frame } | undefined;
    fake.script = defaultScript((conn, frame) => {
      if (frame.op === 'sync') {
        inFlight = { conn, frame }; // answered last
      } else if (frame.op === 'conflict.resolve') {
        const document = { docType: 'stock_level', docId: 'A-1@wh-7', version: 5, data: { price: 12 } };
        conn.reply(frame.id, { result: 'resolved', conflictId: 'cf-9', version: 5, document });
      }
    });
    const storage = new MemoryStorage();
    const { client } = newClient({ storage });
    const op = await client.documents.update('stock_level', 'A-1@wh-7', { patch: { set: { price: 13 } } }, { baseVersion: 3 });
    await client.connect();
    await eventually(() => inFlight !== undefined && fake.received('subscribe').length > 0, 'the batch sent, the inbox followed');
    const sent = inFlight as { conn: FakeConnection; frame: Frame };
    const record = { conflictId: 'cf-9', opId: op.opId, status: 'open' };
    // the inbox tells of the conflict (another device's answer) while the batch is in flight
    sent.conn.send({ op: 'conflict', conflictId: 'cf-9', channel: 'user:alice', epoch: 'e1', offset: 1, data: record });
    await eventually(() => client.documents.ops().some((o) => o.status === 'conflict'), 'the conflict noticed');
    await client.documents.resolve('cf-9', 'accept_server');
    assert.deepEqual(client.documents.ops(), []);
    const after: OpView[] = [];
    client.documents.on('op', (o) => after.push(o));
    sent.conn.reply(sent.frame.id, { results: [{ opId: op.opId, result: 'conflict', conflictId: 'cf-9', conflict: record }] });
    await sleep(300);
    assert.deepEqual(after, [], 'no status for an operation that left the queue');
    assert.deepEqual(client.documents.ops(), []);
    assert.deepEqual((await storage.load()).ops, [], 'not stored again, so not back after a reload');
  });

  test('an operation the inbox reports in conflict while its batch is in flight stays in conflict when the batch fails', async () => {
    let inFlight: { conn: FakeConnection; frame: Frame } | undefined;
    fake.script = defaultScript((conn, frame) => {
      if (frame.op === 'sync') {
        inFlight = { conn, frame };
      }
    });
    const { client } = newClient();
    const op = await client.documents.update('stock_level', 'A-1@wh-7', { patch: { set: { price: 13 } } }, { baseVersion: 3 });
    await client.connect();
    await eventually(() => inFlight !== undefined && fake.received('subscribe').length > 0, 'the batch sent, the inbox followed');
    const sent = inFlight as { conn: FakeConnection; frame: Frame };
    const record = { conflictId: 'cf-8', opId: op.opId, status: 'open' };
    sent.conn.send({ op: 'conflict', conflictId: 'cf-8', channel: 'user:alice', epoch: 'e1', offset: 1, data: record });
    await eventually(() => client.documents.ops().some((o) => o.status === 'conflict'), 'the conflict noticed');
    sent.conn.error(sent.frame.id, 'unavailable', 'the node is busy');
    await sleep(300);
    assert.equal(fake.received('sync').length, 1, 'an operation in conflict is not sent');
    assert.deepEqual(client.documents.ops().map((o) => [o.status, o.conflictId]), [['conflict', 'cf-8']]);
    await client.documents.dismiss(op.opId); // the app may give it up, as any conflict
    assert.deepEqual(client.documents.ops(), []);
  });

  test('a batch refused as a whole is retried one by one: only the bad operation fails, and it stays', async () => {
    const store = new Store();
    let badOpId = '';
    fake.script = defaultScript((conn, frame) => {
      if (frame.op !== 'sync') {
        return;
      }
      const ids = (frame['ops'] as Array<{ opId: string }>).map((o) => o.opId);
      if (ids.includes(badOpId)) {
        conn.error(frame.id, 'forbidden', 'you may not write price');
        return;
      }
      store.answer(conn, frame);
    });
    const { client } = newClient();
    const a = await client.documents.update('stock_level', 'A-1@wh-7', { patch: { inc: { qty: 1 } } });
    const bad = await client.documents.update('stock_level', 'A-1@wh-7', { patch: { set: { price: 1 } } });
    badOpId = bad.opId;
    const c = await client.documents.update('stock_level', 'A-1@wh-7', { patch: { inc: { qty: 1 } } });
    await client.connect();
    const failed = await client.documents.settled(bad.opId);
    await eventually(() => client.documents.ops().length === 1, 'only the bad one left');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.code, 'forbidden');
    assert.equal(failed.reason, 'you may not write price');
    assert.deepEqual(store.applied, [a.opId, c.opId]);
    assert.throws(() => client.documents.retry(a.opId), TandemError);
    // the app fixes the permission and retries
    badOpId = 'none';
    client.documents.retry(bad.opId);
    assert.equal((await client.documents.settled(bad.opId)).status, 'applied');
  });

  test('an operation larger than the server\'s frame limit fails without being sent; the rest go', async () => {
    const store = new Store();
    fake.script = defaultScript((conn, frame) => frame.op === 'sync' && store.answer(conn, frame), (c) => c.welcome('alice', { maxFrameBytes: 2048 }));
    const { client } = newClient();
    const big = await client.documents.update('note', 'n-1', { data: { text: 'x'.repeat(5000) } });
    const small = await client.documents.update('note', 'n-2', { data: { text: 'ok' } });
    await client.connect();
    const b = await client.documents.settled(big.opId);
    assert.equal(b.status, 'failed');
    assert.equal(b.code, 'too_large');
    assert.equal((await client.documents.settled(small.opId)).status, 'applied');
    assert.deepEqual(store.applied, [small.opId]);
    // batches respect the limit too: 60 ops of ~200 bytes go in several frames under 2048 bytes
    const many: OpView[] = [];
    for (let i = 0; i < 60; i++) {
      many.push(await client.documents.update('note', `m-${i}`, { data: { text: 'y'.repeat(120) } }));
    }
    await eventually(() => many.every((o) => store.applied.includes(o.opId)), 'all sent');
    for (const c of fake.connections) {
      const sizes = c.frames.filter((f) => f.op === 'sync').map((f) => Buffer.byteLength(JSON.stringify(f)));
      assert.ok(sizes.every((s) => s <= 2048), `sync frames within the limit: ${sizes.join(',')}`);
    }
  });

  test('internal errors are retried a few times, then the operation fails and stays', async () => {
    fake.script = defaultScript((conn, frame) => frame.op === 'sync' && conn.error(frame.id, 'internal', 'bug'));
    const { client } = newClient();
    const op = await client.documents.update('note', 'n-1', { data: { text: 'x' } });
    await client.connect();
    const done = await client.documents.settled(op.opId);
    // retries back off from 500 ms: 4 waits are well under 10 s
    assert.equal(done.status, 'failed');
    assert.equal(done.code, 'internal');
    assert.equal(done.attempts, 5);
    assert.equal(client.documents.ops().length, 1);
  });

  test('outbound frames are paced under the announced rate limit', async () => {
    fake.script = defaultScript(() => {}, (c) => c.welcome('alice', { messagesPerSecond: 20, burst: 10 }));
    const { client } = newClient({ inbox: false });
    await client.connect();
    const start = Date.now();
    await Promise.all(Array.from({ length: 40 }, () => client.ping()));
    const elapsed = Date.now() - start;
    // 40 pings at 16/s after a burst of 7 need about 2 s; the server would refuse a faster client
    assert.ok(elapsed >= 1500, `took ${elapsed} ms`);
    const times = (fake.connections[0] as FakeConnection).times.slice(1); // after connect
    for (let i = 0; i < times.length; i++) {
      const inWindow = times.filter((t) => t >= (times[i] as number) && t < (times[i] as number) + 1000).length;
      assert.ok(inWindow <= 30, `at most burst + rate in any second: ${inWindow}`);
    }
  });
});

describe('storage failures', () => {
  test('are reported with their code and the operation is kept in memory and sent', async () => {
    const store = new Store();
    fake.script = defaultScript((conn, frame) => frame.op === 'sync' && store.answer(conn, frame));
    const inner = new MemoryStorage();
    let failing = false;
    const flaky: QueueStorage = {
      load: () => inner.load(),
      append: (op) => (failing ? Promise.reject(new Error('disk I/O error')) : inner.append(op)),
      put: (op: StoredOp) => (failing ? Promise.reject(new Error('disk I/O error')) : inner.put(op)),
      remove: (seq) => inner.remove(seq),
      putConflict: (c) => inner.putConflict(c),
      removeConflict: (id) => inner.removeConflict(id),
      close: () => inner.close(),
    };
    const { client } = newClient({ storage: flaky });
    const errors: TandemError[] = [];
    client.documents.on('storageError', (e) => errors.push(e));
    const kept = await client.documents.update('note', 'n-1', { data: { text: 'a' } });
    failing = true;
    const memoryOnly = await client.documents.update('note', 'n-2', { data: { text: 'b' } });
    assert.ok(kept.durable);
    assert.ok(!memoryOnly.durable);
    assert.equal(errors[0]?.code, 'storage');
    assert.match(errors[0]?.message ?? '', /disk I\/O error/);
    assert.notEqual(memoryOnly.opId.split(':')[0], kept.opId.split(':')[0], 'a client id of its own, so no opId is reused');
    await client.connect();
    await eventually(() => store.applied.length === 2, 'both sent');
    assert.deepEqual(store.applied, [kept.opId, memoryOnly.opId]);
  });
});

describe('a history lost while connected', () => {
  test('a live event in a new epoch is reported as recoveryLost before it is delivered, once', async () => {
    let conn: FakeConnection | undefined;
    fake.script = defaultScript((c, frame) => {
      if (frame.op === 'subscribe') {
        conn = c;
        c.reply(frame.id, { channel: frame.channel, epoch: 'e1', offset: 1 });
      }
    });
    const { client: c } = newClient();
    const seen: string[] = [];
    c.on('recoveryLost', (channel, top) => seen.push(`lost ${channel} ${top.epoch}/${top.offset}`));
    await c.connect();
    await c.subscribe('room:1', {
      onEvent: (e) => seen.push(`event ${e.position?.epoch}/${e.position?.offset}`),
      onRecoveryLost: (top) => seen.push(`handle lost ${top.epoch}/${top.offset}`),
    }).ready;
    const event = (epoch: string, offset: number): object =>
      ({ op: 'event', channel: 'room:1', epoch, offset, type: 't', ts: Date.now(), data: {} });
    conn!.send(event('e1', 2));
    conn!.send(event('e2', 1)); // the server's history was lost: the channel goes on in a new epoch
    conn!.send(event('e2', 2));
    await eventually(() => seen.length >= 5, 'all delivered');
    assert.deepEqual(seen, ['event e1/2', 'lost room:1 e2/1', 'handle lost e2/1', 'event e2/1', 'event e2/2']);
  });
});
