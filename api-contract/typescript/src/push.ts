/**
 * Push notifications: a browser registers as one of the user's **devices** so the gateway can
 * reach the user while no tab is connected (the gateway's `/api/v1/push/*` routes).
 *
 * ```ts
 * const registration = await navigator.serviceWorker.register('/sw.js');
 * const deviceId = await registerPush({ url: 'wss://sync.example.com/ws', getToken, registration });
 * // the service worker shows the `push` event's data: {title, body, url?, tag?}
 * ```
 *
 * `unregisterPush(deviceId, …)` removes a device; when the browser's own push subscription is
 * that device it is unsubscribed too, so the push service stops holding it.
 *
 * Every call asks `getToken` (the same function the `TandemClient` uses) for the user's
 * token; a request the gateway refuses with `unauthorized` is tried once more with a token asked
 * for with reason `expired`.
 *
 * @module
 */
import type { TokenReason, TokenResult } from './connection.js';
import { TandemError } from './errors.js';
import type { FetchFunction } from './event-source.js';

/** Where the gateway is and who asks: what every push call needs. */
export interface PushOptions {
  /**
   * The gateway: its base URL (`https://sync.example.com`) or the client's WebSocket URL
   * (`wss://sync.example.com/ws`, which gives `https://sync.example.com`).
   */
  url: string;
  /** The user's token (the client's `getToken`). */
  getToken: (reason: TokenReason) => TokenResult | Promise<TokenResult>;
  /** The `fetch` to use (default: the global one). */
  fetch?: FetchFunction;
}

/** The part of a `PushSubscription` used here. */
export interface PushSubscriptionLike {
  toJSON(): { endpoint?: string; keys?: Record<string, string> };
  /** Ends the subscription at the push service (a browser's always has it). */
  unsubscribe?(): Promise<boolean>;
}

/** The part of a `ServiceWorkerRegistration` used here (a fake one in tests). */
export interface PushRegistrationLike {
  readonly pushManager: {
    getSubscription(): Promise<PushSubscriptionLike | null>;
    subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array<ArrayBuffer> }): Promise<PushSubscriptionLike>;
  };
}

/** Options of {@link registerPush}. */
export interface RegisterPushOptions extends PushOptions {
  /** The service worker registration whose `pushManager` subscribes (its worker shows the notifications). */
  registration: PushRegistrationLike;
}

/** Options of {@link unregisterPush}. */
export interface UnregisterPushOptions extends PushOptions {
  /**
   * The service worker registration whose push subscription may be the device (default in a
   * browser: the page's, `navigator.serviceWorker.getRegistration()`; none in Node).
   */
  registration?: PushRegistrationLike;
}

/** A registered device as the gateway shows it (never its endpoint or token). */
export interface PushDevice {
  id: string;
  user: string;
  kind: 'webpush' | 'fcm' | 'apns';
  /** The push service's host (webpush). */
  host?: string;
  /** android, ios, macos or web (fcm, apns). */
  platform?: string;
  /** ISO-8601 instant. */
  createdAt: string;
}

/**
 * Subscribes the browser to push (reusing its current subscription, if any) with the gateway's
 * VAPID public key and registers the subscription as a device of the user; resolves to the
 * device id. Registering the same subscription again answers the same device.
 *
 * @throws TandemError with the gateway's code (`not_found` when web push is off, `bad_request`
 *   for an endpoint or keys it refuses, `limit_exceeded` …), or `unavailable` when it cannot be
 *   reached; the browser's own error (e.g. `NotAllowedError` when permission is denied) as is
 */
export async function registerPush(options: RegisterPushOptions): Promise<string> {
  const pm = options.registration.pushManager;
  let subscription = await pm.getSubscription();
  if (subscription === null) {
    const { publicKey } = (await call(options, 'GET', '/push/vapid-key')) as { publicKey: string };
    subscription = await pm.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64Url(publicKey) });
  }
  return register(subscription, options);
}

/** Registers a subscription as a device of the user; the same subscription again answers the same device. */
async function register(subscription: PushSubscriptionLike, options: PushOptions): Promise<string> {
  const json = subscription.toJSON();
  const device = (await call(options, 'POST', '/push/devices', {
    kind: 'webpush',
    endpoint: json.endpoint,
    keys: { p256dh: json.keys?.['p256dh'], auth: json.keys?.['auth'] },
  })) as PushDevice;
  return device.id;
}

/**
 * Removes one of the user's devices (what was queued for it is dropped). When the browser's push
 * subscription (of `options.registration`, by default the page's service worker registration) is
 * that device, it is unsubscribed too, after the gateway removed the device; removing another
 * device (the user's phone, from this browser) leaves this browser's subscription alone. In Node,
 * and in a browser without a subscription, only the device is removed.
 *
 * Which device the subscription is, the gateway tells: registering a subscription again answers
 * its device, changing nothing (the gateway never shows an endpoint again). So when the device is
 * among the user's, the subscription is registered again to learn its device; if that made a new
 * device (the subscription was none of the user's), the new one is removed at once.
 *
 * @throws TandemError with the gateway's code, or `unavailable` when it cannot be reached; the
 *   browser's own error when its unsubscribe fails (the device is removed by then)
 */
export async function unregisterPush(deviceId: string, options: UnregisterPushOptions): Promise<void> {
  const subscription = await browserSubscription(options.registration);
  const ours = subscription !== null && (await isDevice(subscription, deviceId, options));
  await call(options, 'DELETE', `/push/devices/${encodeURIComponent(deviceId)}`);
  if (ours) {
    await subscription?.unsubscribe?.();
  }
}

/** The browser's push subscription of the registration given, else of the page's; null where there is none (Node). */
async function browserSubscription(given: PushRegistrationLike | undefined): Promise<PushSubscriptionLike | null> {
  let registration = given;
  if (registration === undefined) {
    const sw = (globalThis as { navigator?: { serviceWorker?: { getRegistration(): Promise<PushRegistrationLike | undefined> } } })
      .navigator?.serviceWorker;
    registration = sw === undefined ? undefined : await sw.getRegistration();
  }
  return registration?.pushManager === undefined ? null : registration.pushManager.getSubscription();
}

/** Whether the subscription is registered as the device (asked without leaving a new device behind). */
async function isDevice(subscription: PushSubscriptionLike, deviceId: string, options: PushOptions): Promise<boolean> {
  const before = new Set((await listPushDevices(options)).map((d) => d.id));
  if (!before.has(deviceId)) {
    return false; // not a device of the user: the subscription cannot be it
  }
  let id: string;
  try {
    id = await register(subscription, options);
  } catch (e) {
    if (e instanceof TandemError && !e.transient) {
      return false; // a subscription the gateway refuses (an endpoint it does not allow) is no device of it
    }
    throw e;
  }
  if (!before.has(id)) {
    await call(options, 'DELETE', `/push/devices/${encodeURIComponent(id)}`);
  }
  return id === deviceId;
}

/** The user's registered devices. */
export async function listPushDevices(options: PushOptions): Promise<PushDevice[]> {
  return ((await call(options, 'GET', '/push/devices')) as { devices: PushDevice[] }).devices;
}

/** `ws://host/ws` → `http://host`, `wss://` → `https://`; an http(s) URL loses a trailing `/ws`, `/sse` or `/`. */
export function apiBaseFor(url: string): string {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  u.protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  u.pathname = u.pathname.replace(/\/(ws|sse)\/?$/, '').replace(/\/$/, '');
  return u.toString().replace(/\/$/, '');
}

async function call(options: PushOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const doFetch = options.fetch ?? ((i, o) => fetch(i, o));
  const url = `${apiBaseFor(options.url)}/api/v1${path}`;
  for (const reason of ['connect', 'expired'] as const) {
    const token = await tokenFor(options, reason);
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new TandemError('unavailable', `${method} ${path} failed: ${e instanceof Error ? e.message : String(e)}`, {
        transient: true,
        cause: e,
      });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.ok && typeof json === 'object' && json !== null) {
      return json;
    }
    const err = (json ?? {}) as { code?: unknown; message?: unknown };
    const code = typeof err.code === 'string' ? err.code : res.status >= 500 ? 'unavailable' : 'protocol';
    if (code === 'unauthorized' && reason === 'connect') {
      continue;
    }
    const message = typeof err.message === 'string' ? err.message : `${method} ${path} answered ${res.status}`;
    throw new TandemError(code, message);
  }
  throw new TandemError('unauthorized', `${method} ${path}: the token was refused twice`);
}

async function tokenFor(options: PushOptions, reason: TokenReason): Promise<string> {
  let t: TokenResult;
  try {
    t = await options.getToken(reason);
  } catch (e) {
    throw new TandemError('token_unavailable', `getToken('${reason}') failed: ${e instanceof Error ? e.message : String(e)}`, {
      transient: e instanceof TandemError ? e.transient : true,
      cause: e,
    });
  }
  const token = typeof t === 'string' ? t : t?.token;
  if (typeof token !== 'string' || token === '') {
    throw new TandemError('token_unavailable', `getToken('${reason}') returned no token`, { transient: true });
  }
  return token;
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) {
    bytes[i] = bin.charCodeAt(i);
  }
  return bytes;
}
