/** Presence and signals through a real gateway: members, join/leave, own state, typing and cursor throttling. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { TandemClient, type JsonObject, type Signal, type TandemError } from '@tandem/client';
import { LogSink, NodeWebSocket, testClient } from './support/clients.js';
import { FakeServer, defaultScript } from './support/fake-server.js';
import { eventually, mintToken, sleep, uniqueTenant } from './support/gateway.js';
import { useGateway } from './support/setup.js';
import { Proxy } from './support/proxy.js';

const gw = useGateway();

const users = (list: readonly { user: string }[]): string[] => list.map((m) => m.user);

describe('presence', () => {
  test('shows who is here, joins and leaves, and each one\'s state, also after a reconnect', async () => {
    const tenant = uniqueTenant();
    const proxy = await Proxy.start(gw.port);
    const alice = testClient(gw.wsUrl, { user: 'alice', tenant }).client;
    const bob = testClient(proxy.wsUrl, { user: 'bob', tenant }, { reconnect: { initialMs: 50, maxMs: 100 } }).client;
    try {
      await Promise.all([alice.connect(), bob.connect()]);
      const pa = alice.presence('doc:board:wh-7');
      await pa.ready;
      assert.deepEqual(users(pa.members()), ['alice']);
      const joins: string[] = [];
      pa.on('join', (m) => joins.push(m.user));
      const pb = bob.presence('doc:board:wh-7');
      await pb.setState({ status: 'counting', aisle: 4 });
      await pb.ready;
      assert.deepEqual(users(pb.members()), ['alice', 'bob']);
      await eventually(() => users(pa.members()).join() === 'alice,bob', 'alice sees bob');
      assert.deepEqual(joins, ['bob']);
      await eventually(() => pa.member('bob')?.state?.['status'] === 'counting', 'alice sees bob\'s state');

      // carol comes and goes (her last connection leaving sends leave)
      const carol = testClient(gw.wsUrl, { user: 'carol', tenant }).client;
      await carol.connect();
      const pc = carol.presence('doc:board:wh-7');
      await pc.ready;
      await eventually(() => joins.includes('carol'), 'carol joined');
      const leaves: string[] = [];
      pa.on('leave', (m) => leaves.push(m.user));
      pc.close();
      await eventually(() => leaves.includes('carol'), 'carol left');
      assert.deepEqual(users(pa.members()), ['alice', 'bob']);
      carol.close();

      // bob's connection breaks; when he is back his state is set again and his list is fresh
      // (the server notices his old socket only at its next heartbeat, so he stays present)
      proxy.refuse(true);
      proxy.cut();
      await eventually(() => bob.state === 'reconnecting', 'bob lost his connection');
      await pb.setState({ status: 'back', aisle: 5 }); // kept while disconnected
      proxy.refuse(false);
      await eventually(() => bob.stats.welcomes === 2 && bob.state === 'connected', 'bob reconnected');
      await eventually(() => pa.member('bob')?.state?.['aisle'] === 5, 'bob\'s state after his reconnect');
      assert.deepEqual(users(pb.members()), ['alice', 'bob'], 'a fresh member list after the reconnect');
    } finally {
      alice.close();
      bob.close();
      await proxy.close();
    }
  });

  test('typing and cursor signals stay under the server\'s limit and the latest cursor arrives', async () => {
    const tenant = uniqueTenant();
    const alice = testClient(gw.wsUrl, { user: 'alice', tenant }).client;
    const bob = testClient(gw.wsUrl, { user: 'bob', tenant }).client;
    const errors: TandemError[] = [];
    alice.on('error', (e) => errors.push(e));
    try {
      await Promise.all([alice.connect(), bob.connect()]);
      const pa = alice.presence('doc:board:wh-7');
      const pb = bob.presence('doc:board:wh-7');
      await Promise.all([pa.ready, pb.ready]);
      const seen: Array<Signal & { at: number }> = [];
      pb.on('signal', (s) => {
        if (s.from === 'alice') {
          seen.push({ ...s, at: Date.now() });
        }
      });
      const start = Date.now();
      let x = 0;
      // a mouse and a keyboard: 400 calls in 2 s, far above 10 signals per second
      while (Date.now() - start < 2000) {
        x++;
        pa.cursor({ x });
        pa.typing({ field: 'price:A-1' });
        await sleep(5);
      }
      const elapsed = (Date.now() - start) / 1000;
      await eventually(() => seen.some((s) => s.type === 'cursor' && (s.data as JsonObject)['x'] === x), 'the last cursor arrives', 3000);
      assert.deepEqual(errors, [], 'the server never had to refuse a signal');
      const cursors = seen.filter((s) => s.type === 'cursor');
      const typing = seen.filter((s) => s.type === 'typing');
      assert.ok(cursors.length <= 10 * (elapsed + 1.5), `${cursors.length} cursors in ${elapsed.toFixed(1)} s`);
      assert.ok(cursors.length >= 5, `${cursors.length} cursors`);
      assert.ok(typing.length >= 1 && typing.length <= 2, `typing at most every 2 s: ${typing.length}`);
      const xs = cursors.map((s) => (s.data as JsonObject)['x'] as number);
      assert.deepEqual(xs, [...xs].sort((a, b) => a - b), 'in order');
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('presence state must be a JSON object', async () => {
    const tenant = uniqueTenant();
    const { client } = testClient(gw.wsUrl, { user: 'alice', tenant });
    try {
      await client.connect();
      const p = client.presence('doc:board:wh-7');
      await p.ready;
      await assert.rejects(p.setState([1, 2] as unknown as JsonObject), TypeError);
      await assert.rejects(p.setState('busy' as unknown as JsonObject), TypeError);
    } finally {
      client.close();
    }
    // and the server refuses it from any client
    const ws = new WebSocket(gw.wsUrl);
    const frames: Array<{ op: string; id?: number; code?: string }> = [];
    ws.on('message', (raw) => frames.push(JSON.parse(String(raw))));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ op: 'connect', token: mintToken({ user: 'bob', tenant }) }));
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, channel: 'doc:board:wh-7' }));
    ws.send(JSON.stringify({ op: 'presence', id: 2, channel: 'doc:board:wh-7', state: 'busy' }));
    ws.send(JSON.stringify({ op: 'presence', id: 3, channel: 'doc:board:wh-7', state: [1] }));
    await eventually(() => frames.filter((f) => f.id === 2 || f.id === 3).length === 2, 'answers', 5000).finally(() => ws.close());
    for (const id of [2, 3]) {
      const f = frames.find((x) => x.id === id);
      assert.equal(f?.op, 'error', `state of request ${id} refused`);
      assert.equal(f?.code, 'bad_request');
    }
  });
  test('a join or leave that changes nothing (it came from just before the member list) is not announced', async () => {
    const fake = await FakeServer.start();
    fake.script = defaultScript((conn, frame) => {
      if (frame.op === 'subscribe') {
        conn.reply(frame.id, { channel: frame['channel'], epoch: 'e1', offset: 0, presence: [{ user: 'alice' }, { user: 'bob' }] });
        const presence = (kind: string, user: string): void =>
          conn.send({ op: 'presence', channel: frame['channel'], kind, data: { user } });
        presence('join', 'bob'); // bob is in the list already
        presence('leave', 'carol'); // carol is not
        presence('join', 'carol');
        presence('leave', 'bob');
        presence('join', 'dave');
      }
    });
    const client = new TandemClient({ url: fake.url, WebSocket: NodeWebSocket, getToken: () => 'token', logger: new LogSink().logger });
    try {
      await client.connect();
      const p = client.presence('workspace:w1');
      const seen: string[] = [];
      p.on('join', (m) => seen.push(`join ${m.user}`));
      p.on('leave', (m) => seen.push(`leave ${m.user}`));
      await p.ready;
      await eventually(() => p.member('dave') !== undefined, 'the last frame applied');
      assert.deepEqual(seen, ['join carol', 'leave bob', 'join dave']);
      assert.deepEqual(users(p.members()), ['alice', 'carol', 'dave']);
    } finally {
      client.close();
      await fake.close();
    }
  });
});
