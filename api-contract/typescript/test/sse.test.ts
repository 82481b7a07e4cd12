/**
 * The Server-Sent Events transport through a real gateway: every event, resume after cuts with no
 * gap and no duplicate, subscription changes, documents and the offline queue over POST
 * /sse/send, token refresh with a new stream, presence state refused, delta subscriptions (whole
 * payloads for handlers, a broken chain mended by reopening the stream), and the `auto` fallback
 * behind a proxy that refuses WebSocket upgrades.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FetchEventSource, ManualEnvironment, PRESENCE_OVER_SSE, type EventSourceConstructor, type JsonObject, type TandemError, type TandemEvent } from '@tandem/client';
import { testClient } from './support/clients.js';
import { eventually, sleep, uniqueTenant, type TokenClaims } from './support/gateway.js';
import { stockLine } from './support/inventory.js';
import { connectAndFollowOffsets, connectAndSubscribe, firstOffsets, publishWhileCutting, useGateway } from './support/setup.js';
import { RefusingProxy } from './support/http-proxy.js';
import { Proxy } from './support/proxy.js';

const gw = useGateway();

function sseClient(url: string, claims: TokenClaims, options: Parameters<typeof testClient>[2] = {}) {
  return testClient(url, claims, { transport: 'sse', EventSource: FetchEventSource, reconnect: { initialMs: 50, maxMs: 500 }, ...options });
}

const offsets = (got: number[]): number[] => Array.from({ length: got.length }, (_, i) => i + 1);

describe('SSE transport', () => {
  test('receives every event, also across a subscription change that reopens the stream', async () => {
    const tenant = uniqueTenant();
    const { client, log } = sseClient(gw.wsUrl, { user: 'alice', tenant, locations: ['wh-7', 'wh-8'] });
    const a: number[] = [];
    const b: number[] = [];
    try {
      const w = await client.connect();
      assert.equal(client.transport, 'sse');
      assert.equal(w.user, 'alice');
      // the stream's own welcome: its session id and the server's heartbeat, not client defaults
      assert.match(w.session, /^[0-9a-f]+$/, `session ${w.session}`);
      assert.equal(typeof w.heartbeatMs, 'number');
      await client.subscribe('location:wh-7', (e) => a.push(e.position?.offset ?? -1)).ready;
      const total = 200;
      for (let n = 1; n <= total; n++) {
        await gw.publish(tenant, 'location:wh-7', 'stock.updated', { n });
        if (n === 100) {
          // a new channel reopens the stream while wh-7's events flow
          const sub = client.subscribe('location:wh-8', (e) => b.push(e.position?.offset ?? -1));
          const reply = await sub.ready;
          assert.equal(reply.channel, 'location:wh-8');
        }
      }
      await gw.publish(tenant, 'location:wh-8', 'stock.updated', { n: 1 });
      await eventually(() => a.length >= total && b.length >= 1, () => `all events (got ${a.length}, ${b.length})\n${log.lines.join('\n')}`);
      await sleep(300);
      assert.deepEqual(a, offsets(a).slice(0, total), 'every event of wh-7 once, in order');
      assert.equal(a.length, total);
      assert.deepEqual(b, [1]);
      assert.equal(client.stats.welcomes, 1, 'one session: reopening the stream is not a reconnect');
    } finally {
      client.close();
    }
  });

  test('resumes after repeated cuts with every event exactly once, in order', async () => {
    const tenant = uniqueTenant();
    const proxy = await Proxy.start(gw.port);
    const { client, log } = sseClient(proxy.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] });
    try {
      const got = await connectAndFollowOffsets(client, 'location:wh-7');
      const total = 300;
      const cuts = await publishWhileCutting(gw, proxy, tenant, 'location:wh-7', total);
      await eventually(() => got.length >= total, () => `all ${total} events (got ${got.length})\n${log.lines.slice(-20).join('\n')}`, 20_000);
      await sleep(300);
      assert.deepEqual(got, firstOffsets(total), 'offsets 1..N, no gap, no duplicate');
      assert.ok(cuts >= 3, `the stream was cut ${cuts} times`);
      assert.ok(client.stats.welcomes >= 3, `reconnected ${client.stats.welcomes - 1} times`);
    } finally {
      client.close();
      await proxy.close();
    }
  });

  test('documents: get, update, the offline queue sent on resume, and live events of the edits', async () => {
    const tenant = uniqueTenant();
    const env = new ManualEnvironment();
    const { client } = sseClient(gw.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] }, { environment: env });
    const events: string[] = [];
    try {
      await connectAndSubscribe(client, 'location:wh-7', (e) => events.push(e.type));
      const docs = client.documents;
      assert.equal(await docs.get('stock_level', 'A-1@wh-7'), null);
      const created = await docs.settled(
        (await docs.update('stock_level', 'A-1@wh-7', { data: { sku: 'A-1', locationId: 'wh-7', qty: 5, price: 2 } })).opId,
      );
      assert.equal(created.status, 'applied');
      assert.equal(created.version, 1);
      const patched = await docs.settled((await docs.update('stock_level', 'A-1@wh-7', { patch: { inc: { qty: 2 } } })).opId);
      assert.equal(patched.status, 'applied');
      // offline: edits wait in the queue, and go out once back
      client.pause();
      const queued = await docs.update('stock_level', 'A-1@wh-7', { patch: { inc: { qty: 3 } } });
      const queued2 = await docs.update('stock_level', 'A-1@wh-7', { patch: { set: { price: 4 } } });
      await sleep(200);
      assert.equal(docs.ops().length, 2, 'two operations wait');
      client.resume();
      // both were based on version 2: the second one merges onto the first
      assert.equal((await docs.settled(queued.opId)).status, 'applied');
      assert.ok(['applied', 'merged'].includes((await docs.settled(queued2.opId)).status));
      const doc = await docs.get<JsonObject>('stock_level', 'A-1@wh-7');
      assert.deepEqual(doc?.data, { sku: 'A-1', locationId: 'wh-7', qty: 10, price: 4 });
      assert.equal(doc?.version, 4);
      const server = await gw.rest('GET', '/api/v1/documents/stock_level/A-1@wh-7', tenant);
      assert.equal(server.status, 200);
      assert.match(JSON.stringify(server.json), /"qty":10/);
      await eventually(() => events.length >= 4, () => `the edits' events on the channel (got ${events.join(',')})`);
    } finally {
      client.close();
    }
  });

  test('token refresh opens a new stream before expiry: no 4003, no gap', async () => {
    const tenant = uniqueTenant();
    const { client, tokens, log } = sseClient(gw.wsUrl, { user: 'alice', tenant, ttlSeconds: 6 });
    const closes: number[] = [];
    client.on('disconnect', (f) => closes.push(f.code));
    try {
      const got = await connectAndFollowOffsets(client, 'tenant');
      let n = 0;
      const until = Date.now() + 8000;
      while (Date.now() < until) {
        await gw.publish(tenant, 'tenant', 'tick', { n: ++n });
        await sleep(100);
      }
      await eventually(() => got.length >= n, () => `all ${n} events (got ${got.length})\n${log.lines.slice(-20).join('\n')}`);
      assert.deepEqual(got, Array.from({ length: n }, (_, i) => i + 1));
      assert.ok(tokens.includes('refresh'), `a refresh token was asked for: ${tokens.join(',')}`);
      assert.deepEqual(closes, [], 'the server never ended the stream');
      assert.equal(client.stats.welcomes, 1);
    } finally {
      client.close();
    }
  });

  test('setting a presence state is refused clearly; the members query works', async () => {
    const tenant = uniqueTenant();
    const { client } = sseClient(gw.wsUrl, { user: 'alice', tenant, locations: ['wh-7'] });
    try {
      await connectAndSubscribe(client, 'location:wh-7');
      const err = await client.request({ op: 'presence', channel: 'location:wh-7', state: { editing: 'A-1' } }).then(
        () => assert.fail('accepted'),
        (e: TandemError) => e,
      );
      assert.equal(err.code, 'unsupported');
      assert.equal(err.message, PRESENCE_OVER_SSE);
      await client.subscribe('doc:board:wh-7', {}).ready;
      const body = await client.request({ op: 'presence', channel: 'doc:board:wh-7' });
      assert.ok(Array.isArray(body['members']), JSON.stringify(body));
      assert.ok((await client.ping()) >= 0);
    } finally {
      client.close();
    }
  });

  test('a refused token ends the client (4001), as over WebSocket', async () => {
    const tenant = uniqueTenant();
    const { client } = sseClient(gw.wsUrl, { user: 'alice', tenant, ttlSeconds: -120 });
    const err = await client.connect().then(
      () => assert.fail('connected'),
      (e: TandemError) => e,
    );
    assert.equal(err.code, 'unauthorized');
    assert.equal(client.state, 'closed');
    client.close();
  });
});


/** What went over the wire of each stream a client opened: its URL and its `event` frames. */
interface Wire {
  readonly streams: Array<{ url: URL; events: Array<{ offset?: number; delta?: boolean; data: unknown }> }>;
}

/**
 * A FetchEventSource that records every stream's URL and events; `tamper` may rewrite an event's
 * data on its way to the client (the first stream is index 0).
 */
function spyEventSource(tamper: (stream: number, frame: JsonObject) => JsonObject = (_s, f) => f): { wire: Wire; EventSource: EventSourceConstructor } {
  const wire: Wire = { streams: [] };
  class Spy extends FetchEventSource {
    private readonly index: number;
    constructor(url: string) {
      super(url);
      this.index = wire.streams.length;
      wire.streams.push({ url: new URL(url), events: [] });
    }
    override addEventListener(type: string, listener: (event: { data: string; lastEventId?: string }) => void): void {
      super.addEventListener(type, (e) => {
        if (type !== 'event') {
          listener(e);
          return;
        }
        const frame = tamper(this.index, JSON.parse(e.data) as JsonObject);
        wire.streams[this.index]!.events.push(frame as { offset?: number; delta?: boolean; data: unknown });
        listener({ ...e, data: JSON.stringify(frame) });
      });
    }
  }
  return { wire, EventSource: Spy };
}

describe('SSE delta subscriptions', () => {
  test('the stream asks for deltas; handlers get every payload whole while deltas travel', async () => {
    const tenant = uniqueTenant();
    const { wire, EventSource } = spyEventSource();
    const { client } = sseClient(gw.wsUrl, { user: 'alice', tenant }, { EventSource });
    const got: TandemEvent[] = [];
    try {
      await client.connect();
      const reply = await client.subscribe('tenant', { onEvent: (e) => got.push(e) }, { delta: 'fossil' }).ready;
      assert.equal(reply.body['delta'], true, 'tenant allows deltas: the subscribed event says so');
      const n = 12;
      for (let i = 0; i < n; i++) {
        await gw.publish(tenant, 'tenant', 'stock.updated', stockLine(i));
      }
      await eventually(() => got.length >= n, () => `all ${n} events (got ${got.length})`);
      got.forEach((e, i) => assert.deepEqual(e.data, stockLine(i), `payload ${i + 1} whole`));
      const stream = wire.streams.at(-1)!;
      assert.equal(stream.url.searchParams.get('delta'), 'fossil', `asked for: ${stream.url.search}`);
      assert.equal(stream.events[0]?.delta, false, 'the first is whole');
      assert.equal(stream.events.filter((f) => f.delta === true).length, n - 1, 'the rest are deltas');
    } finally {
      client.close();
    }
  });

  test('a namespace without deltas says delta: false and sends plain events', async () => {
    const tenant = uniqueTenant();
    const { wire, EventSource } = spyEventSource();
    const { client } = sseClient(gw.wsUrl, { user: 'alice', tenant, workspaces: ['w-1'] }, { EventSource });
    const got: TandemEvent[] = [];
    try {
      await client.connect();
      const reply = await client.subscribe('workspace:w-1', { onEvent: (e) => got.push(e) }, { delta: 'fossil' }).ready;
      assert.equal(reply.body['delta'], false, JSON.stringify(reply.body));
      await gw.publish(tenant, 'workspace:w-1', 'note', { n: 1 });
      await eventually(() => got.length === 1, 'the event');
      assert.deepEqual(got[0]?.data, { n: 1 });
      assert.equal(wire.streams.at(-1)?.events[0]?.delta, undefined, 'a plain event');
    } finally {
      client.close();
    }
  });

  test('a broken chain reopens the stream from the last whole payload; every payload reaches handlers once', async () => {
    const tenant = uniqueTenant();
    let tampered = false;
    // the delta of offset 5 fails its checksum on the way (once): the chain breaks there
    const { wire, EventSource } = spyEventSource((_stream, f) => {
      if (!tampered && f['offset'] === 5 && f['delta'] === true) {
        tampered = true;
        return { ...f, data: String(f['data']).replace(/[0-9A-Za-z_~]+;$/, 'zz;') };
      }
      return f;
    });
    const { client, log } = sseClient(gw.wsUrl, { user: 'alice', tenant }, { EventSource });
    const got: TandemEvent[] = [];
    try {
      await client.connect();
      await client.subscribe('tenant', { onEvent: (e) => got.push(e) }, { delta: 'fossil' }).ready;
      const broken = wire.streams.length - 1;
      const n = 10;
      for (let i = 0; i < n; i++) {
        await gw.publish(tenant, 'tenant', 'stock.updated', stockLine(i));
      }
      await eventually(() => got.length >= n, () => `all ${n} events (got ${got.length})\n${log.lines.join('\n')}`);
      await sleep(300);
      assert.ok(tampered);
      assert.deepEqual(got.map((e) => e.position?.offset), firstOffsets(n), 'each once, in order');
      got.forEach((e, i) => assert.deepEqual(e.data, stockLine(i), `payload ${i + 1} whole`));
      assert.ok(log.lines.some((l) => l.includes('delta chain broken')), log.lines.join('\n'));
      const mended = wire.streams.slice(broken + 1).find((s) => s.events.some((f) => f.offset === 5));
      assert.ok(mended !== undefined, 'a new stream brought offset 5 again');
      assert.equal(mended.url.searchParams.get('delta'), 'fossil');
      const resumed = JSON.parse(Buffer.from(mended.url.searchParams.get('lastEventId') ?? '', 'base64url').toString()) as Record<string, [string, number]>;
      assert.equal(resumed['tenant']?.[1], 4, 'from the last whole payload');
      assert.equal(mended.events.find((f) => f.offset === 5)?.delta, false, 'the replay is whole');
      assert.equal(client.stats.welcomes, 1, 'reopening the stream is not a reconnect');
    } finally {
      client.close();
    }
  });
});

describe('transport auto', () => {
  test('falls back to SSE after refused upgrades while HTTP answers, then gets every event', async () => {
    const tenant = uniqueTenant();
    const proxy = await RefusingProxy.start(gw.port);
    const { client, log } = testClient(
      proxy.wsUrl,
      { user: 'alice', tenant, locations: ['wh-7'] },
      { EventSource: FetchEventSource, fallbackAfter: 2, reconnect: { initialMs: 50, maxMs: 200 } },
    );
    const got: number[] = [];
    try {
      await client.connect();
      assert.equal(client.transport, 'sse');
      assert.ok(proxy.refusedUpgrades >= 2, `${proxy.refusedUpgrades} upgrades refused`);
      assert.ok(proxy.forwarded.includes('/health'), 'HTTP was probed');
      assert.ok(log.lines.some((l) => l.includes('falling back to Server-Sent Events')));
      await client.subscribe('location:wh-7', (e) => got.push(e.position?.offset ?? -1)).ready;
      for (let n = 1; n <= 50; n++) {
        await gw.publish(tenant, 'location:wh-7', 'stock.updated', { n });
      }
      proxy.cut();
      for (let n = 51; n <= 100; n++) {
        await gw.publish(tenant, 'location:wh-7', 'stock.updated', { n });
      }
      await eventually(() => got.length >= 100, () => `100 events (got ${got.length})`);
      await sleep(200);
      assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i + 1));
      assert.equal(client.transport, 'sse');
    } finally {
      client.close();
      await proxy.close();
    }
  });

  test('stays on WebSocket when the WebSocket works, and when HTTP does not answer either', async () => {
    const tenant = uniqueTenant();
    const { client } = testClient(gw.wsUrl, { user: 'alice', tenant }, { EventSource: FetchEventSource, fallbackAfter: 1 });
    const proxy = await Proxy.start(gw.port);
    proxy.refuse(true);
    const down = testClient(proxy.wsUrl, { user: 'bob', tenant }, { EventSource: FetchEventSource, fallbackAfter: 1, reconnect: { initialMs: 20, maxMs: 50 } });
    try {
      await client.connect();
      assert.equal(client.transport, 'websocket');
      void down.client.connect().catch(() => undefined);
      await eventually(() => down.client.stats.attempts >= 5, 'attempts against a network that refuses everything');
      assert.equal(down.client.transport, 'websocket');
    } finally {
      client.close();
      down.client.close();
      await proxy.close();
    }
  });
});
