/**
 * The client's Server-Sent Events fallback end to end in headless Chromium: the page reaches the
 * packaged gateway through an HTTP proxy that answers every WebSocket upgrade with 403 and
 * forwards everything else (streams included). With `transport: 'auto'` the client falls back to
 * the browser's real `EventSource`, gets every event, resumes after a network drop
 * (`context.setOffline`) with no gap and no duplicate, and edits documents, also while offline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { mintToken, sleep, uniqueTenant } from '../test/support/gateway.js';
import { useGateway } from '../test/support/setup.js';
import { RefusingProxy } from '../test/support/http-proxy.js';
import { launch } from './support/browser.js';

interface PageState {
  transport: string;
  state: string;
  got: number[];
  welcomes: number;
  queue: number;
  native: boolean;
}

type Win = {
  tandem: {
    client: { transport: string; state: string; stats: { welcomes: number }; documents: { ops(): unknown[]; update(t: string, id: string, u: unknown): Promise<{ opId: string }>; settled(id: string): Promise<{ status: string }> } };
    got: number[];
  };
};

const read = (p: Page): Promise<PageState> =>
  p.evaluate(() => {
    const t = (window as unknown as Win).tandem;
    return {
      transport: t.client.transport,
      state: t.client.state,
      got: t.got,
      welcomes: t.client.stats.welcomes,
      queue: t.client.documents.ops().length,
      native: String(globalThis.EventSource).includes('[native code]'),
    };
  });

async function until(p: Page, what: string, check: (s: PageState) => boolean, timeoutMs = 20_000): Promise<PageState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await read(p);
    if (check(s)) {
      return s;
    }
    if (Date.now() > deadline) {
      throw new Error(`not within ${timeoutMs} ms: ${what}; page: ${JSON.stringify({ ...s, got: s.got.slice(-10), n: s.got.length })}`);
    }
    await sleep(100);
  }
}

describe('SSE fallback in Chromium behind a proxy that refuses WebSocket', () => {
  const gw = useGateway();
  let proxy: RefusingProxy;
  let browser: Browser;

  before(async () => {
    proxy = await RefusingProxy.start(gw.port);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await proxy?.close();
  });

  test('every event with a real EventSource, resume after a network drop without gap, document edits', { timeout: 120_000 }, async () => {
    const tenant = uniqueTenant('sse');
    const token = mintToken({ user: 'alice', tenant, locations: ['wh-7'] });
    const context: BrowserContext = await browser.newContext();
    const page = await context.newPage();
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    try {
      await page.goto(`${proxy.httpUrl}/health`); // a page of the proxy's origin
      const transport = await page.evaluate(async (tok) => {
        const mod = (await import('/demo/dist/index.js' as string)) as {
          TandemClient: new (o: unknown) => Win['tandem']['client'] & { connect(): Promise<unknown>; subscribe(c: string, f: (e: { position?: { offset: number } }) => void): unknown };
        };
        const client = new mod.TandemClient({
          url: `ws://${location.host}/ws`,
          getToken: () => tok,
          fallbackAfter: 2,
          reconnect: { initialMs: 100, maxMs: 1000 },
          storageName: 'sse-e2e',
          logger: { info: (m: string) => console.log(m), warn: (m: string) => console.warn(m) },
        });
        const got: number[] = [];
        (window as unknown as Win).tandem = { client, got };
        client.subscribe('location:wh-7', (e) => got.push(e.position?.offset ?? -1));
        await client.connect();
        return client.transport;
      }, token);
      assert.equal(transport, 'sse', consoleLines.join('\n'));
      assert.ok(proxy.refusedUpgrades >= 2, `${proxy.refusedUpgrades} upgrades refused`);
      assert.ok(proxy.forwarded.includes('/sse'), 'the stream went through the proxy');
      assert.ok((await read(page)).native, "the browser's own EventSource");

      // every event
      for (let n = 1; n <= 50; n++) {
        await gw.publish(tenant, 'location:wh-7', 'stock.updated', { n });
      }
      await until(page, '50 events', (s) => s.got.length >= 50);

      // a network drop: events published meanwhile arrive after it, once each, in order
      await context.setOffline(true);
      await until(page, 'offline', (s) => s.state === 'offline', 10_000);
      for (let n = 51; n <= 100; n++) {
        await gw.publish(tenant, 'location:wh-7', 'stock.updated', { n });
      }
      await sleep(500);
      await context.setOffline(false);
      let s = await until(page, '100 events after the drop', (x) => x.got.length >= 100 && x.state === 'connected');
      await sleep(500);
      s = await read(page);
      assert.deepEqual(s.got, Array.from({ length: 100 }, (_, i) => i + 1), 'offsets 1..100: no gap, no duplicate');
      assert.ok(s.welcomes >= 2, `reconnected (${s.welcomes} welcomes)`);
      assert.equal(s.transport, 'sse');

      // documents: an edit online, and one made offline that goes out once back
      const status = await page.evaluate(async () => {
        const docs = (window as unknown as Win).tandem.client.documents;
        const op = await docs.update('stock_level', 'A-1@wh-7', { data: { sku: 'A-1', locationId: 'wh-7', qty: 5, price: 2 } });
        return (await docs.settled(op.opId)).status;
      });
      assert.equal(status, 'applied');
      await context.setOffline(true);
      await until(page, 'offline again', (x) => x.state === 'offline', 10_000);
      await page.evaluate(async () => {
        await (window as unknown as Win).tandem.client.documents.update('stock_level', 'A-1@wh-7', { patch: { inc: { qty: 3 } } });
      });
      await sleep(300);
      assert.equal((await read(page)).queue, 1, 'the offline edit waits in the queue');
      let server = await gw.rest('GET', '/api/v1/documents/stock_level/A-1@wh-7', tenant);
      assert.match(JSON.stringify(server.json), /"qty":5/, 'nothing sent while offline');
      await context.setOffline(false);
      await until(page, 'the queue sent', (x) => x.queue === 0 && x.state === 'connected');
      server = await gw.rest('GET', '/api/v1/documents/stock_level/A-1@wh-7', tenant);
      assert.equal(server.status, 200);
      assert.match(JSON.stringify(server.json), /"qty":8/, JSON.stringify(server.json));
      // the edits' events arrived on the channel too, after the 100 publications
      s = await until(page, "the edits' events", (x) => x.got.length >= 102);
      assert.deepEqual(s.got, Array.from({ length: s.got.length }, (_, i) => i + 1));
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- console:\n${consoleLines.slice(-30).join('\n')}`);
    } finally {
      await page.evaluate(() => (window as unknown as { tandem?: { client: { close(): void } } }).tandem?.client.close()).catch(() => undefined);
      await context.close();
    }
  });
});
