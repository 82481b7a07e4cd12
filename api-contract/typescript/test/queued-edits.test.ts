/**
 * A user's own queued edits of a document, through a real gateway: an edit queued after one that
 * becomes a manual conflict waits for that conflict, the conflict stays resolvable, and the
 * waiting edit applies on top of the resolution; edits in a row by one user with no other writer
 * are each `applied`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ManualEnvironment,
  MemoryStorage,
  type ConflictRecord,
  type JsonObject,
  type OpView,
  type TandemClient,
  type TandemError,
} from '@tandem/client';
import { testClient } from './support/clients.js';
import { eventually, uniqueTenant } from './support/gateway.js';
import { useGateway } from './support/setup.js';

const gw = useGateway();

async function connected(user: string, tenant: string, environment?: ManualEnvironment): Promise<TandemClient> {
  const { client } = testClient(gw.wsUrl, { user, tenant, locations: ['wh-7'] }, environment === undefined ? {} : { environment });
  await client.connect();
  return client;
}

async function stored(tenant: string, id: string): Promise<{ version: number; data: JsonObject }> {
  const r = await gw.rest('GET', `/api/v1/documents/stock_level/${id}`, tenant);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return (r.json as { document: { version: number; data: JsonObject } }).document;
}

describe('queued edits of one user', () => {
  test('an edit queued after a conflicted one waits for it and applies on top of the resolution', async () => {
    const tenant = uniqueTenant();
    const env = new ManualEnvironment();
    const alice = await connected('alice', tenant, env);
    const bob = await connected('bob', tenant);
    try {
      const docs = alice.documents;
      const heard: OpView[] = [];
      const conflicts: ConflictRecord[] = [];
      docs.on('op', (o) => heard.push(o));
      docs.on('conflict', (c) => conflicts.push(c));
      const id = 'P-1@wh-7';
      await docs.settled((await docs.update('stock_level', id, { data: { sku: 'P-1', locationId: 'wh-7', qty: 5, price: 10 } })).opId);
      await docs.settled((await docs.update('stock_level', id, { patch: { set: { price: 11 } } })).opId);
      await docs.settled((await docs.update('stock_level', id, { patch: { set: { name: 'fresh' } } })).opId);
      assert.equal(docs.version('stock_level', id), 3, 'alice has seen version 3');

      env.setOnline(false); // alice goes offline
      assert.equal((await bob.documents.get('stock_level', id))?.version, 3);
      const bobs = await bob.documents.settled((await bob.documents.update('stock_level', id, { patch: { set: { price: 12 } } })).opId);
      assert.equal(bobs.status, 'applied');
      const price = await docs.update('stock_level', id, { patch: { set: { price: 13 } } });
      const qty = await docs.update('stock_level', id, { patch: { inc: { qty: -1 } } });
      assert.equal(qty.afterOpId, price.opId, 'the qty edit follows the price edit');
      env.setOnline(true);

      const conflicted = await docs.settled(price.opId);
      assert.equal(conflicted.status, 'conflict');
      await eventually(() => conflicts.length === 1, 'the conflict is reported');
      const c = conflicts[0] as ConflictRecord;
      assert.equal(c.conflictId, conflicted.conflictId);
      assert.deepEqual(c.fields, ['price']);
      await eventually(() => heard.some((o) => o.opId === qty.opId && o.heldBy !== undefined), 'the qty edit is reported held');
      const waiting = heard.filter((o) => o.opId === qty.opId && o.heldBy !== undefined)[0] as OpView;
      assert.equal(waiting.status, 'queued', 'the qty edit stays queued');
      assert.equal(waiting.heldBy, c.conflictId, 'waiting for the price conflict');
      assert.equal((await stored(tenant, id)).data['qty'], 5, 'not applied yet');

      // resolved as the README shows
      const resolved = await docs.resolve(c.conflictId, 'merge', { ...c.local, price: 13 });
      assert.equal(resolved.version, 5, 'the conflict was still about the stored version');

      const qtyDone = await docs.settled(qty.opId);
      assert.equal(qtyDone.status, 'applied', `applied on top of the resolution: ${JSON.stringify(qtyDone)}`);
      assert.equal(qtyDone.version, 6);
      const doc = await stored(tenant, id);
      assert.equal(doc.version, 6);
      assert.equal(doc.data['price'], 13, 'the resolution');
      assert.equal(doc.data['qty'], 4, 'the queued qty edit, once');
      assert.deepEqual(docs.ops(), [], 'nothing left waiting');
      assert.deepEqual(docs.conflicts(), []);
      const lastOfPrice = heard.filter((o) => o.opId === price.opId).at(-1);
      assert.equal(lastOfPrice?.done, true);
      assert.equal(lastOfPrice?.resolution, 'merge', 'the app heard how it ended');
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('a held edit survives a reload and goes out once its conflict was resolved on another device', async () => {
    const tenant = uniqueTenant();
    const storage = new MemoryStorage();
    const env = new ManualEnvironment();
    const laptop = testClient(gw.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] }, { storage, environment: env }).client;
    await laptop.connect();
    const bob = await connected('bob', tenant);
    const phone = await connected('alice', tenant);
    const id = 'H-1@wh-7';
    try {
      await laptop.documents.settled((await laptop.documents.update('stock_level', id, { data: { sku: 'H-1', locationId: 'wh-7', qty: 5, price: 10 } })).opId);
      env.setOnline(false);
      assert.equal((await bob.documents.get('stock_level', id))?.version, 1);
      await bob.documents.settled((await bob.documents.update('stock_level', id, { patch: { set: { price: 12 } } })).opId);
      const price = await laptop.documents.update('stock_level', id, { patch: { set: { price: 13 } } });
      const qty = await laptop.documents.update('stock_level', id, { patch: { inc: { qty: 2 } } });
      env.setOnline(true);
      const conflictId = (await laptop.documents.settled(price.opId)).conflictId as string;
      await eventually(() => laptop.documents.ops().some((o) => o.opId === qty.opId && o.heldBy === conflictId), 'held');
      laptop.close(); // the page goes away

      const resolved = await phone.documents.resolve(conflictId, 'accept_server');
      assert.equal(resolved.version, 3);

      // the page loads again: the chain and what the qty edit waits for come back, and the server is asked again
      const again = testClient(gw.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] }, { storage }).client;
      try {
        await again.documents.ready;
        const reloaded = again.documents.ops().find((o) => o.opId === qty.opId);
        assert.equal(reloaded?.afterOpId, price.opId);
        assert.equal(reloaded?.heldBy, conflictId);
        await again.connect();
        const done = await again.documents.settled(qty.opId);
        assert.equal(done.status, 'applied', JSON.stringify(done));
        assert.equal(done.version, 4);
        const doc = await stored(tenant, id);
        assert.equal(doc.data['qty'], 7);
        assert.equal(doc.data['price'], 12, 'resolved on the phone: the server side won');
        // this page still shows the price edit in conflict; resolving it tells that it is over
        await assert.rejects(again.documents.resolve(conflictId, 'accept_local'), (e: TandemError) => e.code === 'conflict');
        assert.deepEqual(again.documents.ops(), [], 'the price edit left the queue, and the app was told');
      } finally {
        again.close();
      }
    } finally {
      laptop.close();
      bob.close();
      phone.close();
    }
  });

  test('dismissing a conflicted edit lets the edit held behind it go out', async () => {
    const tenant = uniqueTenant();
    const env = new ManualEnvironment();
    const alice = await connected('alice', tenant, env);
    const bob = await connected('bob', tenant);
    const id = 'X-1@wh-7';
    try {
      const docs = alice.documents;
      await docs.settled((await docs.update('stock_level', id, { data: { sku: 'X-1', locationId: 'wh-7', qty: 5, price: 10 } })).opId);
      env.setOnline(false);
      assert.equal((await bob.documents.get('stock_level', id))?.version, 1);
      await bob.documents.settled((await bob.documents.update('stock_level', id, { patch: { set: { price: 12 } } })).opId);
      const price = await docs.update('stock_level', id, { patch: { set: { price: 13 } } });
      const qty = await docs.update('stock_level', id, { patch: { inc: { qty: 1 } } });
      env.setOnline(true);
      assert.equal((await docs.settled(price.opId)).status, 'conflict');
      await eventually(() => docs.ops().some((o) => o.opId === qty.opId && o.heldBy !== undefined), 'held');
      const gone: OpView[] = [];
      docs.on('op', (o) => o.done && gone.push(o));
      await docs.dismiss(price.opId);
      const done = await docs.settled(qty.opId);
      assert.equal(done.status, 'merged', 'judged on its own base: bob changed the price meanwhile');
      assert.equal((await stored(tenant, id)).data['qty'], 6);
      assert.equal(gone[0]?.opId, price.opId, 'the app is told the dismissed edit left the queue');
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('edits in a row by one user with no other writer are each applied', async () => {
    const tenant = uniqueTenant();
    const env = new ManualEnvironment();
    const alice = await connected('alice', tenant, env);
    try {
      const docs = alice.documents;
      const id = 'R-1@wh-7';
      await docs.settled((await docs.update('stock_level', id, { data: { sku: 'R-1', locationId: 'wh-7', qty: 1, price: 1 } })).opId);
      // online, queued back to back: the second is queued while the first is on its way
      const first = await docs.update('stock_level', id, { patch: { set: { price: 2 } } });
      const second = await docs.update('stock_level', id, { patch: { inc: { qty: 1 } } });
      assert.equal((await docs.settled(first.opId)).status, 'applied');
      const s = await docs.settled(second.opId);
      assert.equal(s.status, 'applied', JSON.stringify(s));

      // offline, then sent in one batch
      env.setOnline(false);
      const offline = [
        await docs.update('stock_level', id, { patch: { set: { price: 3 } } }),
        await docs.update('stock_level', id, { patch: { set: { name: 'x' } } }),
        await docs.update('stock_level', id, { patch: { inc: { qty: 1 } } }),
      ];
      env.setOnline(true);
      let version = 3;
      for (const op of offline) {
        const done = await docs.settled(op.opId);
        assert.equal(done.status, 'applied', JSON.stringify(done));
        assert.equal(done.version, ++version);
      }
      const doc = await stored(tenant, id);
      assert.equal(doc.version, 6);
      assert.equal(doc.data['qty'], 3);
    } finally {
      alice.close();
    }
  });
});
