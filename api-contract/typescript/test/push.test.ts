/**
 * Push registration through a real gateway (development mode: web push on, loopback endpoints
 * allowed) with a fake service worker registration whose subscription points at a loopback
 * endpoint: the subscription is made with the gateway's VAPID key, the device is listed for its
 * user only, unregistering removes it (and unsubscribes the browser's subscription when that is
 * the device, never when it is another), refused keys and tokens surface as TandemErrors.
 */
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  apiBaseFor,
  listPushDevices,
  registerPush,
  unregisterPush,
  TandemError,
  type PushRegistrationLike,
  type PushSubscriptionLike,
  type TokenReason,
} from '@tandem/client';
import { mintToken, uniqueTenant } from './support/gateway.js';
import { useGateway } from './support/setup.js';

const gw = useGateway();

/**
 * A fake registration (a PushManager as a browser has it): `subscribe` records its options and
 * answers a subscription to `endpoint` with `p256dh`; `unsubscribed` counts the subscription's
 * unsubscribes (which end it, as a browser's do).
 */
function fakeRegistration(endpoint: string, p256dh: string): {
  registration: PushRegistrationLike;
  subscribed: Array<{ userVisibleOnly: boolean; applicationServerKey: Uint8Array }>;
  unsubscribed: () => number;
} {
  const subscribed: Array<{ userVisibleOnly: boolean; applicationServerKey: Uint8Array }> = [];
  let current: PushSubscriptionLike | null = null;
  let unsubscribes = 0;
  const registration: PushRegistrationLike = {
    pushManager: {
      getSubscription: () => Promise.resolve(current),
      subscribe: (options) => {
        subscribed.push(options);
        const auth = randomBytes(16).toString('base64url');
        current = {
          toJSON: () => ({ endpoint, keys: { p256dh, auth } }),
          unsubscribe: () => {
            unsubscribes++;
            current = null;
            return Promise.resolve(true);
          },
        };
        return Promise.resolve(current);
      },
    },
  };
  return { registration, subscribed, unsubscribed: () => unsubscribes };
}

const loopback = (): string => `http://127.0.0.1:9/push/${randomBytes(6).toString('hex')}`;

const userKey = (): string => createECDH('prime256v1').generateKeys().toString('base64url');

describe('push registration', () => {
  test('subscribes with the VAPID key, lists the device for its user only, and unregisters it', async () => {
    const tenant = uniqueTenant();
    const getToken = (): string => mintToken({ user: 'alice', tenant });
    const { registration, subscribed } = fakeRegistration(`http://127.0.0.1:9/push/${randomBytes(6).toString('hex')}`, userKey());
    // derived from the client's WebSocket URL
    const options = { url: gw.wsUrl, getToken };

    const id = await registerPush({ ...options, registration });

    const vapid = (await gw.rest('GET', '/api/v1/push/vapid-key', tenant)).json as { publicKey: string };
    assert.equal(subscribed.length, 1);
    assert.equal(subscribed[0]?.userVisibleOnly, true);
    assert.deepEqual(Buffer.from(subscribed[0]?.applicationServerKey ?? []).toString('base64url'), vapid.publicKey);
    assert.equal(subscribed[0]?.applicationServerKey.length, 65, 'an uncompressed P-256 point');

    const devices = await listPushDevices(options);
    assert.deepEqual(
      devices.map((d) => ({ id: d.id, user: d.user, kind: d.kind, host: d.host })),
      [{ id, user: 'alice', kind: 'webpush', host: '127.0.0.1' }],
    );
    const asService = (await gw.rest('GET', '/api/v1/push/devices?user=alice', tenant)).json as { devices: Array<{ id: string }> };
    assert.deepEqual(asService.devices.map((d) => d.id), [id], 'the gateway holds the device');
    assert.deepEqual(await listPushDevices({ url: gw.httpUrl, getToken: () => mintToken({ user: 'bob', tenant }) }), []);

    // the browser's subscription is reused: the same device again
    assert.equal(await registerPush({ ...options, registration }), id);
    assert.equal(subscribed.length, 1);

    // in Node there is no browser subscription to look at: only the device goes
    await unregisterPush(id, options);
    assert.deepEqual(await listPushDevices(options), []);
    assert.notEqual(await registration.pushManager.getSubscription(), null, 'the fake subscription was not touched');
    const after = (await gw.rest('GET', '/api/v1/push/devices?user=alice', tenant)).json as { devices: unknown[] };
    assert.deepEqual(after.devices, []);
  });

  test("unregistering this browser's device unsubscribes its subscription; another device's leaves it", async () => {
    const tenant = uniqueTenant();
    const options = { url: gw.wsUrl, getToken: () => mintToken({ user: 'alice', tenant }) };
    const laptop = fakeRegistration(loopback(), userKey());
    const phone = fakeRegistration(loopback(), userKey());
    const laptopId = await registerPush({ ...options, registration: laptop.registration });
    const phoneId = await registerPush({ ...options, registration: phone.registration });

    // from the laptop, remove the phone: the laptop keeps its subscription and its device
    await unregisterPush(phoneId, { ...options, registration: laptop.registration });
    assert.deepEqual((await listPushDevices(options)).map((d) => d.id), [laptopId]);
    assert.equal(laptop.unsubscribed(), 0);
    assert.notEqual(await laptop.registration.pushManager.getSubscription(), null);

    // the laptop removes itself: the device, then the browser's subscription
    await unregisterPush(laptopId, { ...options, registration: laptop.registration });
    assert.deepEqual(await listPushDevices(options), []);
    assert.equal(laptop.unsubscribed(), 1);
    assert.equal(await laptop.registration.pushManager.getSubscription(), null);
  });

  test('a browser subscription that is no device of the user is left alone, and no device is left behind', async () => {
    const tenant = uniqueTenant();
    const options = { url: gw.wsUrl, getToken: () => mintToken({ user: 'alice', tenant }) };
    const device = fakeRegistration(loopback(), userKey());
    const deviceId = await registerPush({ ...options, registration: device.registration });
    const stranger = fakeRegistration(loopback(), userKey());
    await stranger.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: new Uint8Array(65) });

    await unregisterPush(deviceId, { ...options, registration: stranger.registration });
    assert.deepEqual(await listPushDevices(options), [], 'the device is gone, and asking about the subscription made none');
    assert.equal(stranger.unsubscribed(), 0);
  });

  test("a key the gateway refuses surfaces as its bad_request, and nothing is registered", async () => {
    const tenant = uniqueTenant();
    const options = { url: gw.httpUrl, getToken: () => mintToken({ user: 'alice', tenant }) };
    const { registration } = fakeRegistration('http://127.0.0.1:9/push/bad', Buffer.alloc(65, 7).toString('base64url'));

    const err = await registerPush({ ...options, registration }).then(
      () => assert.fail('registered a subscription with an invalid key'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TandemError, String(err));
    assert.equal(err.code, 'bad_request');
    assert.match(err.message, /p256dh/);
    assert.equal(err.transient, false);
    assert.deepEqual(await listPushDevices(options), []);
  });

  test('an endpoint outside the allow-list is refused', async () => {
    const tenant = uniqueTenant();
    const options = { url: gw.httpUrl, getToken: () => mintToken({ user: 'alice', tenant }) };
    const { registration } = fakeRegistration('https://push.example.com/x', userKey());
    await assert.rejects(registerPush({ ...options, registration }), (e: unknown) => e instanceof TandemError && e.code === 'bad_request');
  });

  test('a refused token is asked for again with reason expired, once', async () => {
    const tenant = uniqueTenant();
    const reasons: TokenReason[] = [];
    const getToken = (reason: TokenReason): string => {
      reasons.push(reason);
      return mintToken({ user: 'alice', tenant, ttlSeconds: reason === 'expired' ? 3600 : -60 });
    };
    assert.deepEqual(await listPushDevices({ url: gw.wsUrl, getToken }), []);
    assert.deepEqual(reasons, ['connect', 'expired']);

    const refused = await listPushDevices({ url: gw.wsUrl, getToken: () => 'not-a-token' }).catch((e: unknown) => e);
    assert.ok(refused instanceof TandemError && refused.code === 'unauthorized', String(refused));
  });

  test('the API base is derived from a WebSocket, SSE or base URL', () => {
    assert.equal(apiBaseFor('wss://sync.example.com/ws'), 'https://sync.example.com');
    assert.equal(apiBaseFor('ws://127.0.0.1:8080/ws?x=1'), 'http://127.0.0.1:8080');
    assert.equal(apiBaseFor('https://example.com/tandem/sse'), 'https://example.com/tandem');
    assert.equal(apiBaseFor('https://example.com/'), 'https://example.com');
  });
});
