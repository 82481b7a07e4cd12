/**
 * Delta subscriptions (`delta: 'fossil'`) in the client: against a real gateway the handlers get
 * every payload whole while deltas travel on the wire; against a scripted server, a delta that
 * does not fit (a broken chain) makes the client unsubscribe and subscribe again from the last
 * whole position, and nothing of the broken chain reaches the handlers.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { TandemEvent, WebSocketConstructor } from '@tandem/client';
import { TandemClient } from '@tandem/client';
import { LogSink, NodeWebSocket, testClient } from './support/clients.js';
import { FakeServer, defaultScript } from './support/fake-server.js';
import { encodeDelta } from './support/fossil-encoder.js';
import { eventually, uniqueTenant } from './support/gateway.js';
import { stockLine } from './support/inventory.js';
import { useGateway } from './support/setup.js';

const gw = useGateway();


const utf8 = new TextEncoder();
const text = new TextDecoder();

describe('delta subscriptions against a real gateway', () => {
  test('handlers get every payload whole while deltas travel on the wire', async () => {
    const tenant = uniqueTenant();
    const wire: string[] = [];
    class SpyWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        this.on('message', (d) => wire.push(String(d)));
      }
    }
    const { client } = testClient(gw.wsUrl, { user: 'alice', tenant }, { WebSocket: SpyWebSocket as unknown as WebSocketConstructor });
    const got: TandemEvent[] = [];
    try {
      await client.connect();
      const reply = await client.subscribe('tenant', { onEvent: (e) => got.push(e) }, { delta: 'fossil' }).ready;
      assert.equal(reply.body['delta'], true, 'tenant allows deltas');
      const n = 12;
      for (let i = 0; i < n; i++) {
        await gw.publish(tenant, 'tenant', 'stock.updated', stockLine(i));
      }
      await eventually(() => got.length >= n, () => `all ${n} events (got ${got.length})`);
      got.forEach((e, i) => assert.deepEqual(e.data, stockLine(i), `payload ${i + 1} whole`));
      assert.ok(got.every((e) => typeof e.time === 'number' && e.eventId === undefined), 'ms time, no generated id');
      const events = wire.map((m) => JSON.parse(m) as { op: string; delta?: boolean }).filter((f) => f.op === 'event');
      assert.equal(events[0]?.delta, false, 'the first is whole');
      assert.equal(events.filter((f) => f.delta === true).length, n - 1, 'the rest are deltas');
    } finally {
      client.close();
    }
  });
});

describe('a broken delta chain', () => {
  let fake: FakeServer;
  let client: TandemClient | undefined;
  beforeEach(async () => {
    fake = await FakeServer.start();
  });
  afterEach(async () => {
    client?.close();
    await fake.close();
  });

  test('is subscribed again from the last whole position; the broken part never reaches handlers', async () => {
    fake.script = defaultScript((conn, frame) => {
      if (frame.op === 'subscribe') {
        conn.reply(frame.id, { channel: frame['channel'], epoch: 'e1', offset: 1, delta: frame['delta'] === 'fossil' });
      } else if (frame.op === 'unsubscribe') {
        conn.reply(frame.id, { channel: frame['channel'], subscribed: false });
      }
    });
    const log = new LogSink();
    client = new TandemClient({ url: fake.url, WebSocket: NodeWebSocket, getToken: () => 'token', logger: log.logger });
    const got: TandemEvent[] = [];
    await client.connect();
    await client.subscribe('location:wh-7', { onEvent: (e) => got.push(e) }, { delta: 'fossil' }).ready;
    const conn = fake.connections[0]!;
    const event = (offset: number, delta: boolean, data: string): void =>
      conn.send({ op: 'event', channel: 'location:wh-7', epoch: 'e1', offset, type: 'stock.updated', ts: Date.now(), delta, data });
    const s = (i: number): string => JSON.stringify(stockLine(i));
    const delta = (from: string, to: string): string => text.decode(encodeDelta(utf8.encode(from), utf8.encode(to)));
    event(2, false, s(2));
    event(3, true, delta(s(2), s(3)));
    await eventually(() => got.length === 2, 'a whole payload, then a delta applied');
    assert.deepEqual(got.map((e) => e.data), [stockLine(2), stockLine(3)]);
    event(4, true, delta(' ' + s(3), s(4))); // made against another payload: the checksum fails
    event(5, true, delta(s(4), s(5))); // in flight behind it: dropped
    const subscribes = (): Array<Record<string, unknown>> => fake.received('subscribe').filter((f) => f['channel'] === 'location:wh-7');
    await eventually(() => subscribes().length === 2, 'subscribed again');
    const again = subscribes()[1]!;
    assert.equal(fake.received('unsubscribe').length, 1, 'unsubscribed first');
    assert.deepEqual(again['since'], { epoch: 'e1', offset: 3 }, 'from the last whole payload');
    assert.equal(again['delta'], 'fossil', 'still with deltas');
    event(4, false, s(4)); // replayed whole
    await eventually(() => got.length === 3, 'the replayed event');
    assert.deepEqual(got.map((e) => e.position?.offset), [2, 3, 4]);
    assert.deepEqual(got[2]?.data, stockLine(4));
    assert.ok(log.lines.some((l) => l.includes('delta chain broken')), log.lines.join('\n'));
  });
});
