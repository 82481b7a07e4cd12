/**
 * Setup the gateway tests share: one packaged gateway per test file (or `describe`), clients
 * connected and following a channel, and publishing while a proxy keeps cutting the connection.
 * Each helper replaces a block the Node tests and the end-to-end tests used to repeat.
 */
import { after, before } from 'node:test';
import type { SubscriptionHandlers, TandemClient, TandemEvent } from '@tandem/client';
import { Gateway, sleep, type GatewayOptions } from './gateway.js';

/**
 * A gateway started before the tests of the enclosing file or `describe` (node:test `before`) and
 * closed after them. The returned object stands for that gateway: use it as a `Gateway` from the
 * first test on (using it earlier throws).
 */
export function useGateway(options: GatewayOptions = {}): Gateway {
  let started: Gateway | undefined;
  before(async () => {
    started = await Gateway.start(options);
  });
  after(async () => {
    await started?.close();
  });
  return new Proxy({} as Gateway, {
    get(_, name) {
      if (started === undefined) {
        throw new Error(`the shared gateway is used before it started (reading ${String(name)})`);
      }
      const value: unknown = Reflect.get(started, name, started);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(started) : value;
    },
  });
}

/** Connects `client`, then subscribes it to `channel`; resolves once the subscription is live. */
export async function connectAndSubscribe(
  client: TandemClient,
  channel: string,
  handlers: SubscriptionHandlers | ((event: TandemEvent) => void) = {},
): Promise<void> {
  await client.connect();
  await client.subscribe(channel, handlers).ready;
}

/**
 * Connects `client` and follows `channel`: the returned array fills with the offset of every
 * event delivered (-1 for one without a position), in delivery order.
 */
export async function connectAndFollowOffsets(client: TandemClient, channel: string): Promise<number[]> {
  const got: number[] = [];
  await connectAndSubscribe(client, channel, (e) => got.push(e.position?.offset ?? -1));
  return got;
}

/** Something that can cut every connection through it (the TCP and HTTP test proxies). */
export interface Cuttable {
  cut(): void;
}

/**
 * Publishes `total` events `{n}` (n = 1..total) of `type` to `channel` while `proxy` cuts every
 * connection every `everyMs`, pausing 20 ms each ten events so cuts land between publications;
 * returns how many cuts were made.
 */
export async function publishWhileCutting(
  gw: Gateway,
  proxy: Cuttable,
  tenant: string,
  channel: string,
  total: number,
  { type = 'stock.updated', everyMs = 400 }: { type?: string; everyMs?: number } = {},
): Promise<number> {
  let cuts = 0;
  // paced so the publishing spans at least four cut intervals however fast the gateway answers
  // (at least three cuts land while events are in flight)
  const pause = Math.max(20, Math.ceil((4 * everyMs) / Math.ceil(total / 10)));
  const cutter = setInterval(() => {
    proxy.cut();
    cuts++;
  }, everyMs);
  try {
    for (let n = 1; n <= total; n++) {
      await gw.publish(tenant, channel, type, { n });
      if (n % 10 === 0) {
        await sleep(pause);
      }
    }
  } finally {
    clearInterval(cutter);
  }
  return cuts;
}

/** The offsets 1..n: what a channel's first n events carry. */
export function firstOffsets(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
