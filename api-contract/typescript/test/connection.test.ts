/** Connecting to a real gateway: the connect frame, token refresh and expiry, refusal, offline/online. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { FetchEventSource, ManualEnvironment, TandemClient, TandemError, type ConnectionState } from '@tandem/client';
import { NodeWebSocket, testClient } from './support/clients.js';
import { eventually, mintToken, sleep, uniqueTenant } from './support/gateway.js';
import { useGateway } from './support/setup.js';
import { Proxy } from './support/proxy.js';

const gw = useGateway();

describe('connection', () => {
  test('authenticates with a connect frame and gets a welcome with limits', async () => {
    const tenant = uniqueTenant();
    const { client, tokens } = testClient(gw.wsUrl, { user: 'alice', tenant });
    try {
      const w = await client.connect();
      assert.equal(w.user, 'alice');
      assert.equal(w.tenant, tenant);
      assert.ok(w.limits.maxFrameBytes > 0 && w.limits.messagesPerSecond > 0);
      assert.equal(client.state, 'connected');
      assert.deepEqual(tokens, ['connect']);
      assert.ok((await client.ping()) >= 0);
    } finally {
      client.close();
    }
  });

  test('refreshes the token before it expires and stays connected past the first expiry', async () => {
    const tenant = uniqueTenant();
    const { client, tokens } = testClient(gw.wsUrl, { user: 'alice', tenant, ttlSeconds: 4 }, { refreshMarginMs: 1500 });
    // each token lives 4 s: without refresh the server would close with 4003 after 4 s
    const states: ConnectionState[] = [];
    try {
      await client.connect();
      client.on('state', (s) => states.push(s));
      await sleep(7000);
      assert.equal(client.state, 'connected');
      assert.ok(tokens.filter((r) => r === 'refresh').length >= 2, `tokens asked for: ${tokens.join(',')}`);
      assert.deepEqual(states, [], 'never disconnected');
      assert.equal(client.stats.welcomes, 1);
    } finally {
      client.close();
    }
  });

  test('a token that expires without refresh closes with 4003; the client fetches a new one and reconnects', async () => {
    const tenant = uniqueTenant();
    // refresh fails (the app's token service is down): the server closes at expiry with 4003
    let refreshes = 0;
    const reasons: string[] = [];
    const client = new TandemClient({
      url: gw.wsUrl,
      WebSocket: NodeWebSocket,
      refreshMarginMs: 1000,
      logger: { warn() {}, error() {} },
      getToken: (reason) => {
        reasons.push(reason);
        if (reason === 'refresh') {
          refreshes++;
          throw new Error('token service down');
        }
        return mintToken({ user: 'alice', tenant, ttlSeconds: 3 });
      },
    });
    const closes: number[] = [];
    client.on('disconnect', (d) => closes.push(d.code));
    try {
      await client.connect();
      await eventually(() => client.stats.welcomes >= 2, 'reconnected after expiry', 15_000);
      assert.ok(refreshes >= 1);
      assert.ok(closes.includes(4003), `disconnect codes: ${closes.join(',')}`);
      assert.ok(reasons.includes('expired'), `reasons: ${reasons.join(',')}`);
      await eventually(() => client.state === 'connected', 'connected again');
    } finally {
      client.close();
    }
  });

  test('a token already expired at connect gets 4003 and the client connects with a fresh one', async () => {
    const tenant = uniqueTenant();
    const reasons: string[] = [];
    let first = true;
    const client = new TandemClient({
      url: gw.wsUrl,
      WebSocket: NodeWebSocket,
      logger: { warn() {}, error() {} },
      getToken: (reason) => {
        reasons.push(reason);
        const expired = first;
        first = false;
        // an app that cached a token from an hour ago (expired beyond the server's clock skew)
        return mintToken({ user: 'alice', tenant, ttlSeconds: expired ? -120 : 3600 });
      },
    });
    const closes: number[] = [];
    client.on('disconnect', (d) => closes.push(d.code));
    try {
      const w = await client.connect();
      assert.equal(w.user, 'alice');
      assert.deepEqual(closes, [4003], 'the server says 4003 (reconnect with a fresh token), not 4001');
      assert.deepEqual(reasons, ['connect', 'expired']);
    } finally {
      client.close();
    }
  });

  test('a failing getToken rejects connect() with token_unavailable, opens no socket and never falls back to SSE', async () => {
    const tenant = uniqueTenant();
    let calls = 0;
    let sockets = 0;
    class CountedWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        sockets++;
        super(url, protocols);
      }
    }
    const client = new TandemClient({
      url: gw.wsUrl,
      WebSocket: CountedWebSocket,
      EventSource: FetchEventSource, // auto with SSE available, falling back after one refused upgrade
      fallbackAfter: 1,
      reconnect: { initialMs: 20, maxMs: 50 },
      logger: { warn() {}, error() {} },
      getToken: () => {
        if (++calls <= 3) {
          throw new Error('token service down');
        }
        return mintToken({ user: 'alice', tenant });
      },
    });
    const errors: TandemError[] = [];
    client.on('error', (e) => errors.push(e));
    try {
      await assert.rejects(client.connect(), (e: unknown) => e instanceof TandemError && e.code === 'token_unavailable');
      assert.equal(sockets, 0, 'no socket opened without a token');
      // the client keeps trying; each failure rejects the connect() waiting then, and once
      // getToken works connect() resolves, over WebSocket
      let rejected = 1;
      let user: string | undefined;
      while (user === undefined) {
        try {
          user = (await client.connect()).user;
        } catch (e) {
          assert.ok(e instanceof TandemError && e.code === 'token_unavailable', String(e));
          assert.ok(++rejected <= 3, 'at most one rejection per failed getToken');
        }
      }
      assert.equal(user, 'alice');
      assert.equal(client.transport, 'websocket', 'token failures are not refused upgrades');
      assert.equal(sockets, 1);
      assert.deepEqual(
        errors.map((e) => e.code),
        ['token_unavailable', 'token_unavailable', 'token_unavailable'],
      );
      assert.match(errors[0]?.message ?? '', /getToken\('connect'\) failed: token service down/);
    } finally {
      client.close();
    }
  });

  test('a refused token (4001, reconnect: false) ends the client without retrying', async () => {
    const attempts: string[] = [];
    const client = new TandemClient({
      url: gw.wsUrl,
      WebSocket: NodeWebSocket,
      logger: { warn() {}, error() {} },
      getToken: (reason) => {
        attempts.push(reason);
        return mintToken({ user: 'alice', tenant: 'acme' }, 'not-the-secret-of-this-gateway-at-all-0123456789');
      },
    });
    const errors: TandemError[] = [];
    client.on('error', (e) => errors.push(e));
    await assert.rejects(client.connect(), (e: TandemError) => e.code === 'unauthorized' && e.closeCode === 4001);
    assert.equal(client.state, 'closed');
    await sleep(1000);
    assert.deepEqual(attempts, ['connect'], 'no retry with a refused token');
    client.close();
  });

  test('makes no attempt while offline and connects soon after coming online', async () => {
    const proxy = await Proxy.start(gw.port);
    const env = new ManualEnvironment({ online: false });
    const { client } = testClient(proxy.wsUrl, { user: 'alice', tenant: uniqueTenant() }, { environment: env });
    try {
      const welcome = client.connect();
      await sleep(1500);
      assert.equal(client.state, 'offline');
      assert.equal(proxy.accepted, 0, 'no connection attempt while offline');
      env.setOnline(true);
      await welcome;
      assert.equal(proxy.accepted, 1);
      // the network goes away: the client closes its socket and waits; no retry storm meanwhile
      env.setOnline(false);
      assert.equal(client.state, 'offline');
      await sleep(1500);
      assert.equal(proxy.accepted, 1);
      // flapping back and forth makes one connection, not one per event
      env.setOnline(true);
      env.setOnline(false);
      env.setOnline(true);
      await eventually(() => client.state === 'connected', 'connected after online');
      await sleep(500);
      assert.equal(proxy.accepted, 2);
    } finally {
      client.close();
      await proxy.close();
    }
  });

  test('reconnects with backoff while the server is unreachable, and tries at once when the page becomes visible', async () => {
    const proxy = await Proxy.start(gw.port);
    const env = new ManualEnvironment();
    const { client } = testClient(proxy.wsUrl, { user: 'alice', tenant: uniqueTenant() }, {
      environment: env,
      reconnect: { initialMs: 100, maxMs: 60_000 },
    });
    try {
      await client.connect();
      proxy.refuse(true);
      proxy.cut();
      await eventually(() => client.stats.attempts >= 6, 'several attempts', 20_000);
      // attempts are spaced by the backoff: 6 attempts need 100+200+400+800+1600 ms at most
      const attemptsBefore = client.stats.attempts;
      env.setVisible(false);
      env.setVisible(true); // the user looks again: no need to wait for the long backoff step
      proxy.refuse(false);
      await eventually(() => client.state === 'connected', 'connected right after becoming visible', 2000);
      assert.ok(client.stats.attempts <= attemptsBefore + 2);
    } finally {
      client.close();
      await proxy.close();
    }
  });

  test('pause() closes and queues, resume() reconnects', async () => {
    const { client } = testClient(gw.wsUrl, { user: 'alice', tenant: uniqueTenant() });
    try {
      await client.connect();
      client.pause();
      assert.equal(client.state, 'offline');
      await assert.rejects(client.ping(), (e: TandemError) => e.code === 'unavailable' && e.transient);
      client.resume();
      await eventually(() => client.state === 'connected', 'resumed');
      assert.equal(client.stats.welcomes, 2);
    } finally {
      client.close();
    }
  });
});
