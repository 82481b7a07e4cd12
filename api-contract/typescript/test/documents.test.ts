/** Documents through a real gateway: reads, patches, live documents and queries, the offline queue, conflicts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import {
  ManualEnvironment,
  MemoryStorage,
  type ConflictRecord,
  type Doc,
  type JsonObject,
  type OpView,
  type TandemClient,
  type TandemError,
} from '@tandem/client';
import { testClient } from './support/clients.js';
import { eventually, mintToken, sleep, uniqueTenant } from './support/gateway.js';
import { useGateway } from './support/setup.js';
import { Proxy } from './support/proxy.js';

const gw = useGateway();

interface Stock extends JsonObject {
  sku: string;
  locationId: string;
  qty: number;
  price: number;
}

/** Creates stock_level documents through the REST API (as a backend would). */
async function seed(tenant: string, docs: Array<{ id: string; data: Stock }>): Promise<void> {
  const ops = docs.map((d, i) => ({ docType: 'stock_level', docId: d.id, baseVersion: 0, opId: `seed-${d.id}-${i}`, data: d.data }));
  const r = await gw.rest('POST', '/api/v1/sync', tenant, { ops });
  assert.equal(r.status, 200, JSON.stringify(r.json));
}

function stock(sku: string, locationId = 'wh-7', qty = 10, price = 9.5): { id: string; data: Stock } {
  return { id: `${sku}@${locationId}`, data: { sku, locationId, qty, price } };
}

async function connected(user: string, tenant: string, options: Parameters<typeof testClient>[2] = {}): Promise<TandemClient> {
  const { client } = testClient(gw.wsUrl, { user, tenant, locations: ['wh-7', 'wh-8'] }, options);
  await client.connect();
  return client;
}

describe('documents', () => {
  test('get, update with whole data and with set/unset/inc patches, versions', async () => {
    const tenant = uniqueTenant();
    const client = await connected('alice', tenant);
    try {
      const docs = client.documents;
      assert.equal(await docs.get('stock_level', 'A-1@wh-7'), null);
      const created = await docs.settled((await docs.update('stock_level', 'A-1@wh-7', { data: { sku: 'A-1', locationId: 'wh-7', qty: 5, price: 2, note: 'x' } })).opId);
      assert.equal(created.status, 'applied');
      assert.equal(created.version, 1);
      assert.equal(created.baseVersion, 0);
      const patched = await docs.settled(
        (await docs.update('stock_level', 'A-1@wh-7', { patch: { set: { price: 3 }, unset: ['note'], inc: { qty: 2 } } })).opId,
      );
      assert.equal(patched.status, 'applied');
      assert.equal(patched.baseVersion, 1, 'based on the version the client saw');
      const doc = await docs.get<Stock>('stock_level', 'A-1@wh-7');
      assert.deepEqual(doc?.data, { sku: 'A-1', locationId: 'wh-7', qty: 7, price: 3 });
      assert.equal(doc?.version, 2);
      assert.equal(doc?.updatedBy, 'alice');
      assert.equal(docs.ops().length, 0, 'done operations leave the queue');
      await assert.rejects(docs.update('stock_level', 'A-1@wh-7', { patch: { inc: { qty: 'one' } } } as never), TypeError);
      await assert.rejects(docs.update('stock_level', 'A-1@wh-7', { data: { a: 1 }, patch: {} } as never), TypeError);
    } finally {
      client.close();
    }
  });

  test('subscribe with snapshot answers the document together with the channel position', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('S-1')]);
    const ws = new WebSocket(gw.wsUrl);
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (raw) => frames.push(JSON.parse(String(raw))));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ op: 'connect', token: mintToken({ user: 'alice', tenant }) }));
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, channel: 'doc:stock_level:S-1@wh-7', snapshot: true }));
    ws.send(JSON.stringify({ op: 'subscribe', id: 2, channel: 'doc:stock_level:NOPE@wh-7', snapshot: true }));
    await eventually(() => frames.filter((f) => f['id'] === 1 || f['id'] === 2).length === 2, 'replies', 5000).finally(() => ws.close());
    const one = frames.find((f) => f['id'] === 1) as Record<string, unknown>;
    assert.equal(one['op'], 'reply');
    assert.equal(typeof one['epoch'], 'string');
    assert.equal((one['document'] as Doc | undefined)?.version, 1, `reply: ${JSON.stringify(one)}`);
    const two = frames.find((f) => f['id'] === 2) as Record<string, unknown>;
    assert.ok('document' in two && two['document'] === null, `no document: null, got ${JSON.stringify(two)}`);
  });

  test('a live document loads, follows changes from others once each, and skips what it already holds', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('L-1')]);
    const alice = await connected('alice', tenant);
    const bob = await connected('bob', tenant);
    try {
      const live = alice.documents.watch<Stock>('stock_level', 'L-1@wh-7');
      const seen: number[] = [];
      live.on('change', (d) => seen.push(d?.version ?? 0));
      assert.equal((await live.ready)?.version, 1);
      for (let i = 0; i < 5; i++) {
        await bob.documents.update('stock_level', 'L-1@wh-7', { patch: { inc: { qty: 1 } } });
      }
      await eventually(() => live.doc?.version === 6, 'version 6');
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
      assert.equal(live.doc?.data.qty, 15);
      const missing = alice.documents.watch('stock_level', 'NONE@wh-7');
      assert.equal(await missing.ready, null);
      live.close();
      missing.close();
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('a live query pages through the matching documents, then follows their channel from the first page', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('Q-1'), stock('Q-2'), stock('Q-3'), stock('Q-4'), stock('Q-5'), stock('Q-9', 'wh-8')]);
    const alice = await connected('alice', tenant);
    const bob = await connected('bob', tenant);
    try {
      const q = alice.documents.liveQuery<Stock>('stock_level', { locationId: 'wh-7' }, { pageSize: 2 });
      const changes: string[] = [];
      q.on('change', (c) => changes.push(`${c.kind}:${c.doc.docId}:${c.doc.version}`));
      await q.ready;
      assert.equal(q.channel, 'location:wh-7');
      assert.deepEqual([...q.documents.keys()].sort(), ['Q-1@wh-7', 'Q-2@wh-7', 'Q-3@wh-7', 'Q-4@wh-7', 'Q-5@wh-7']);
      await bob.documents.update('stock_level', 'Q-1@wh-7', { patch: { inc: { qty: -4 } } }, { baseVersion: 1 });
      await bob.documents.update('stock_level', 'Q-6@wh-7', { data: stock('Q-6').data });
      await bob.documents.update('stock_level', 'Q-9@wh-8', { patch: { inc: { qty: 1 } } }, { baseVersion: 1 });
      await eventually(() => changes.length === 2, () => `two changes: ${changes.join(' ')}`);
      await sleep(300);
      assert.deepEqual(changes, ['changed:Q-1@wh-7:2', 'added:Q-6@wh-7:1'], 'nothing from wh-8');
      assert.equal(q.documents.get('Q-1@wh-7')?.data.qty, 6);
      assert.equal(q.documents.size, 6);
      q.close();
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('a document that moves out of the filter leaves the live query', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('M-1'), stock('M-2')]);
    const alice = await connected('alice', tenant);
    const bob = await connected('bob', tenant);
    try {
      const q = alice.documents.liveQuery<Stock>('stock_level', { locationId: 'wh-7' });
      const changes: string[] = [];
      q.on('change', (c) => changes.push(`${c.kind}:${c.doc.docId}:${c.doc.version}`));
      await q.ready;
      // M-2 moves to wh-8: its change must also reach the channel it left
      await bob.documents.update('stock_level', 'M-2@wh-7', { patch: { set: { locationId: 'wh-8' } } }, { baseVersion: 1 });
      await eventually(() => changes.length === 1, () => `the move is seen on location:wh-7: ${changes.join(' ')}`, 5000);
      assert.deepEqual(changes, ['removed:M-2@wh-7:2']);
      assert.deepEqual([...q.documents.keys()], ['M-1@wh-7']);
      q.close();
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('edits made offline survive a reload (new client, same storage) and are applied once, in order', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('O-1', 'wh-7', 10, 5)]);
    const storage = new MemoryStorage();
    const env = new ManualEnvironment();
    const first = await connected('alice', tenant, { storage, environment: env });
    assert.equal((await first.documents.get('stock_level', 'O-1@wh-7'))?.version, 1);
    env.setOnline(false);
    const queued: OpView[] = [];
    queued.push(await first.documents.update('stock_level', 'O-1@wh-7', { patch: { inc: { qty: 1 } } }));
    queued.push(await first.documents.update('stock_level', 'O-1@wh-7', { patch: { set: { price: 6 } } }));
    queued.push(await first.documents.update('stock_level', 'O-1@wh-7', { patch: { inc: { qty: 2 } } }));
    assert.deepEqual(queued.map((o) => o.status), ['queued', 'queued', 'queued']);
    assert.ok(queued.every((o) => o.durable && o.baseVersion === 1));
    const clientId = (queued[0] as OpView).opId.split(":")[0] as string;
    assert.deepEqual(queued.map((o) => o.opId), [1, 2, 3].map((n) => `${clientId}:${n}`));
    await sleep(300);
    first.close(); // the page goes away while offline
    const before = (await storage.load()).ops.map((o) => structuredClone(o));
    assert.equal(before.length, 3);

    // the page loads again, online: the queue is read back and sent
    const second = testClient(gw.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] }, { storage }).client;
    const statuses: string[] = [];
    second.documents.on('op', (o) => statuses.push(`${o.opId.split(':')[1]}:${o.status}`));
    await second.connect();
    await eventually(() => second.documents.ops().length === 0, 'queue empty', 10_000);
    const doc = await second.documents.get<Stock>('stock_level', 'O-1@wh-7');
    assert.equal(doc?.version, 4, 'three versions, one per operation');
    assert.deepEqual(doc?.data, { sku: 'O-1', locationId: 'wh-7', qty: 13, price: 6 });
    // the first applies at its base; the later ones were based on the same version and merge
    // (a device's own queued changes never conflict with each other)
    const finished = statuses.filter((s) => /:(applied|merged)$/.test(s));
    assert.deepEqual(finished.map((s) => s.split(':')[0]), ['1', '2', '3'], `in order: ${statuses.join(' ')}`);
    second.close();

    // the same operations sent again (say the reload happened before the answer came) change nothing
    const replay = new MemoryStorage({ clientId });
    await replay.load();
    for (const op of before) {
      const { opId: _o, seq: _s, ...rest } = op;
      await replay.append(rest);
    }
    const third = testClient(gw.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] }, { storage: replay }).client;
    const results: string[] = [];
    third.documents.on('op', (o) => o.done && results.push(o.status));
    await third.connect();
    await eventually(() => results.length === 3, 'replayed');
    assert.deepEqual(results, ['duplicate', 'duplicate', 'duplicate']);
    assert.equal((await third.documents.get('stock_level', 'O-1@wh-7'))?.version, 4);
    third.close();
  });

  test('operations sent while the connection keeps breaking are applied exactly once', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('C-1', 'wh-7', 0)]);
    const proxy = await Proxy.start(gw.port);
    const { client } = testClient(proxy.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] }, { reconnect: { initialMs: 50, maxMs: 300 } });
    try {
      await client.connect();
      const n = 250;
      for (let i = 0; i < n; i++) {
        await client.documents.update('stock_level', 'C-1@wh-7', { patch: { inc: { qty: 1 } } }, { baseVersion: 1 });
      }
      for (let i = 0; i < 4; i++) {
        await sleep(150);
        proxy.cut();
      }
      await eventually(() => client.documents.ops().length === 0, () => `queue empty (${client.documents.ops().length} left)`, 60_000);
      const doc = await client.documents.get<Stock>('stock_level', 'C-1@wh-7');
      assert.equal(doc?.data.qty, n, 'each inc once');
      assert.equal(doc?.version, n + 1);
    } finally {
      client.close();
      await proxy.close();
    }
  });

  test('a rejected operation stays visible until dismissed and does not hold up the others', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('R-1', 'wh-7', 3)]);
    const client = await connected('alice', tenant);
    try {
      const bad = await client.documents.update('stock_level', 'R-1@wh-7', { patch: { inc: { qty: -5 } } }, { baseVersion: 1 });
      const good = await client.documents.update('stock_level', 'R-1@wh-7', { patch: { inc: { qty: -2 } } }, { baseVersion: 1 });
      const b = await client.documents.settled(bad.opId);
      const g = await client.documents.settled(good.opId);
      assert.equal(b.status, 'rejected');
      assert.equal(b.code, 'constraint');
      assert.ok((b.reason ?? '').length > 0);
      assert.equal(g.status, 'applied');
      await sleep(200);
      assert.deepEqual(client.documents.ops().map((o) => o.opId), [bad.opId], 'the rejection stays');
      await client.documents.dismiss(bad.opId);
      assert.deepEqual(client.documents.ops(), []);
    } finally {
      client.close();
    }
  });

  test('a concurrent edit of the manual price is a conflict the author resolves; the resolution reaches everyone', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('P-1', 'wh-7', 10, 10)]);
    const env = new ManualEnvironment();
    const alice = await connected('alice', tenant);
    const bob = await connected('bob', tenant, { environment: env });
    try {
      const aliceView = alice.documents.watch<Stock>('stock_level', 'P-1@wh-7');
      await aliceView.ready;
      assert.equal((await bob.documents.get('stock_level', 'P-1@wh-7'))?.version, 1);
      const conflicts: ConflictRecord[] = [];
      bob.documents.on('conflict', (c) => conflicts.push(c));
      env.setOnline(false);
      const mine = await bob.documents.update('stock_level', 'P-1@wh-7', { patch: { set: { price: 12 } } });
      await alice.documents.settled((await alice.documents.update('stock_level', 'P-1@wh-7', { patch: { set: { price: 11 } } })).opId);
      env.setOnline(true);
      const settled = await bob.documents.settled(mine.opId);
      assert.equal(settled.status, 'conflict');
      await eventually(() => conflicts.length === 1, 'onConflict');
      const c = conflicts[0] as ConflictRecord;
      assert.equal(c.conflictId, settled.conflictId);
      assert.deepEqual(c.fields, ['price']);
      assert.equal(c.server['price'], 11);
      assert.equal(c.local['price'], 12);
      assert.equal(bob.documents.conflicts().length, 1);
      assert.equal(bob.documents.ops()[0]?.status, 'conflict', 'kept until resolved');
      const resolved = await bob.documents.resolve(c.conflictId, 'accept_local');
      assert.equal(resolved.data['price'], 12);
      assert.equal(resolved.version, 3);
      assert.deepEqual(bob.documents.ops(), []);
      assert.deepEqual(bob.documents.conflicts(), []);
      await eventually(() => aliceView.doc?.data.price === 12, 'alice sees the resolution');
      await assert.rejects(bob.documents.resolve(c.conflictId, 'accept_server'), (e: TandemError) => e.code === 'conflict');
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('conflict notices are durable on user:{author}: another device gets them later and they are acknowledged', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('D-1', 'wh-7', 10, 10)]);
    const alice = await connected('alice', tenant);
    // (a device that handles a notice acknowledges it for all of bob's devices: not this one)
    const bob = await connected('bob', tenant, { autoAck: false });
    try {
      await alice.documents.settled((await alice.documents.update('stock_level', 'D-1@wh-7', { patch: { set: { price: 11 } } }, { baseVersion: 1 })).opId);
      // alice's change made v2; bob's, based on v1, overlaps it on the manual price
      const late = await bob.documents.update('stock_level', 'D-1@wh-7', { patch: { set: { price: 14 } } }, { baseVersion: 1 });
      assert.equal((await bob.documents.settled(late.opId)).status, 'conflict');
      // bob's phone connects later: the notice waits in his inbox, with its position
      const phone = testClient(gw.wsUrl, { user: 'bob', tenant, locations: ['wh-7'] }, { autoAck: false }).client;
      const tablet = testClient(gw.wsUrl, { user: 'bob', tenant, locations: ['wh-7'] }).client;
      try {
        const frames: Array<{ conflictId: string; channel?: string; offset?: number }> = [];
        phone.on('conflict', (f) =>
          frames.push({ conflictId: f.conflictId, ...(f.channel === undefined ? {} : { channel: f.channel }), ...(f.position === undefined ? {} : { offset: f.position.offset }) }),
        );
        await phone.connect();
        await eventually(() => frames.length === 1, 'the phone gets the conflict notice', 5000);
        assert.equal(frames[0]?.channel, 'user:bob');
        assert.equal(typeof frames[0]?.offset, 'number');
        await eventually(() => phone.documents.conflicts().length === 1, 'kept by the phone');
        await phone.ack('user:bob', frames[0]?.offset as number);
        phone.close();
        const more: string[] = [];
        tablet.on('conflict', (f) => more.push(f.conflictId));
        await tablet.connect();
        await sleep(1000);
        assert.deepEqual(more, [], 'acknowledged notices are not delivered again');
      } finally {
        phone.close();
        tablet.close();
      }
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('a last-write-wins loser hears that its value was overwritten', async () => {
    const tenant = uniqueTenant();
    const env = new ManualEnvironment();
    const alice = await connected('alice', tenant, { environment: env });
    const bob = await connected('bob', tenant);
    try {
      // "note" has no policy of its own: the default merge + last-write-wins
      await alice.documents.settled((await alice.documents.update('note', 'n-1', { data: { text: 'first' } })).opId);
      assert.equal((await bob.documents.get('note', 'n-1'))?.version, 1);
      const told: unknown[] = [];
      bob.documents.on('overwritten', (d) => told.push(d));
      env.setOnline(false);
      const a = await alice.documents.update('note', 'n-1', { patch: { set: { text: 'alice' } } });
      await bob.documents.settled((await bob.documents.update('note', 'n-1', { patch: { set: { text: 'bob' } } })).opId);
      await sleep(50);
      env.setOnline(true);
      const r = await alice.documents.settled(a.opId);
      assert.equal(r.status, 'merged');
      assert.deepEqual(r.fields, ['text']);
      assert.equal((await bob.documents.get<JsonObject>('note', 'n-1'))?.data['text'], 'alice', 'the later write won');
      await eventually(() => told.length === 1, 'bob is told', 5000);
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('a full queue storage is reported, and the operation still goes out from memory', async () => {
    const tenant = uniqueTenant();
    await seed(tenant, [stock('F-1', 'wh-7', 0)]);
    const storage = new MemoryStorage({ maxBytes: 700 });
    const env = new ManualEnvironment({ online: false });
    const { client } = testClient(gw.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] }, { storage, environment: env });
    const errors: TandemError[] = [];
    client.documents.on('storageError', (e) => errors.push(e));
    try {
      void client.connect();
      const ops: OpView[] = [];
      for (let i = 0; i < 4; i++) {
        ops.push(await client.documents.update('stock_level', 'F-1@wh-7', { patch: { inc: { qty: 1 } } }, { baseVersion: 1 }));
      }
      assert.ok(errors.length >= 1, 'reported');
      assert.equal(errors[0]?.code, 'storage_quota');
      assert.ok(ops[0]?.durable);
      assert.ok(ops.some((o) => !o.durable), 'the ones that did not fit are in memory only');
      assert.equal(new Set(ops.map((o) => o.opId)).size, 4, 'distinct opIds');
      env.setOnline(true);
      await eventually(() => client.documents.ops().length === 0, 'all sent');
      assert.equal((await client.documents.get<Stock>('stock_level', 'F-1@wh-7'))?.data.qty, 4);
    } finally {
      client.close();
    }
  });
});
