/** Events through a real gateway: resume after connection loss without gaps or duplicates, recovery loss, one answer per id. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import type { Position, TandemEvent } from '@tandem/client';
import { testClient } from './support/clients.js';
import { Gateway, eventually, mintToken, sleep, uniqueTenant } from './support/gateway.js';
import { firstOffsets, publishWhileCutting, useGateway } from './support/setup.js';
import { Proxy } from './support/proxy.js';

const gw = useGateway();

describe('delivery', () => {
  test('resumes after repeated connection losses with every event exactly once, in order', async () => {
    const tenant = uniqueTenant();
    const proxy = await Proxy.start(gw.port);
    const { client } = testClient(proxy.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] }, { reconnect: { initialMs: 50, maxMs: 500 } });
    const got: number[] = [];
    try {
      await client.connect();
      const sub = client.subscribe<{ 'stock.updated': { n: number } }>('location:wh-7', {
        on: { 'stock.updated': (data, e) => got.push(e.position?.offset ?? -1) },
      });
      await sub.ready;
      const total = 300;
      const cuts = await publishWhileCutting(gw, proxy, tenant, 'location:wh-7', total);
      await eventually(() => got.length >= total, () => `all ${total} events (got ${got.length})`, 20_000);
      await sleep(300);
      assert.deepEqual(got, firstOffsets(total), 'offsets 1..N, no gap, no duplicate');
      assert.ok(cuts >= 3, `the connection was cut ${cuts} times`);
      assert.ok(client.stats.welcomes >= 3, `reconnected ${client.stats.welcomes - 1} times`);
    } finally {
      client.close();
      await proxy.close();
    }
  });

  test('after a standalone gateway restart the history is gone: onRecoveryLost says so, then events flow again', async () => {
    const own = await Gateway.start();
    const tenant = uniqueTenant();
    const { client } = testClient(own.wsUrl, { user: 'alice', tenant }, { reconnect: { initialMs: 100, maxMs: 1000 } });
    const lost: Array<{ channel: string; top: Position }> = [];
    const events: TandemEvent[] = [];
    try {
      await client.connect();
      let perHandle = 0;
      await client.subscribe('tenant', { onEvent: (e) => events.push(e), onRecoveryLost: () => perHandle++ }).ready;
      client.on('recoveryLost', (channel, top) => {
        if (channel === 'tenant') {
          lost.push({ channel, top });
        }
      });
      await own.publish(tenant, 'tenant', 'note', { n: 1 });
      await eventually(() => events.length === 1, 'first event');
      await own.stop();
      await own.launch();
      await eventually(() => lost.length === 1, 'recovery lost reported', 30_000);
      assert.equal(lost[0]?.channel, 'tenant');
      assert.equal(perHandle, 1);
      assert.notEqual(lost[0]?.top.epoch, events[0]?.position?.epoch, 'a new epoch');
      await own.publish(tenant, 'tenant', 'note', { n: 2 });
      await eventually(() => events.length === 2, 'events after the restart');
      assert.equal(events[1]?.position?.offset, 1);
    } finally {
      client.close();
      await own.close();
    }
  });

  test('every request with an id gets exactly one reply or error with that id, rate_limited included', async () => {
    const tenant = uniqueTenant();
    const ws = new WebSocket(gw.wsUrl, 'tandem.v1');
    const answers = new Map<number, string[]>();
    const noId: string[] = [];
    await new Promise((r) => ws.once('open', r));
    ws.on('message', (raw) => {
      const f = JSON.parse(String(raw)) as { op: string; id?: number; code?: string };
      if (f.id === undefined) {
        noId.push(f.op + (f.code ? `:${f.code}` : ''));
      } else {
        answers.set(f.id, [...(answers.get(f.id) ?? []), f.op === 'error' ? `error:${f.code}` : f.op]);
      }
    });
    ws.send(JSON.stringify({ op: 'connect', token: mintToken({ user: 'alice', tenant }) }));
    await eventually(() => noId.includes('welcome'), 'welcome');
    // more than the burst (100), fewer than burst + flood strikes (50, then the server closes
    // with 4008): the server refuses the rest, each with its own id
    const n = 140;
    for (let id = 1; id <= n; id++) {
      ws.send(JSON.stringify({ op: 'ping', id }));
    }
    await eventually(() => answers.size === n, () => `answers for all ${n} ids (got ${answers.size}; without id: ${noId.join(',')})`, 5000).finally(() => ws.close());
    const limited = [...answers.values()].filter((a) => a[0] === 'error:rate_limited').length;
    for (const [id, a] of answers) {
      assert.equal(a.length, 1, `id ${id} answered ${a.length} times: ${a.join(',')}`);
    }
    assert.ok(limited > 0, 'some were rate limited');
  });
});
