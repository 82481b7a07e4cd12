/**
 * The demo board end to end in headless Chromium, served by the packaged gateway: two browser
 * contexts as two users of one tenant; presence, live edits, the offline queue across a reload,
 * the conflict dialog, and recovery after a gateway restart in cluster mode.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Gateway, freePort, sleep, uniqueTenant } from '../test/support/gateway.js';
import { useGateway } from '../test/support/setup.js';
import { plus, seed, setPrice } from './support/board.js';
import { launch, openBoard, targetFile, type BoardPage } from './support/browser.js';

interface Doc {
  version: number;
  data: { qty: number; price: number };
}

async function serverDoc(gw: Gateway, tenant: string, sku: string): Promise<Doc> {
  const r = await gw.rest('GET', `/api/v1/documents/stock_level/${sku}@wh-7`, tenant);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const body = r.json as { document?: Doc } & Doc;
  return body.document ?? body;
}

const ready = (p: Page): Promise<unknown> =>
  p.waitForFunction(() => (window as unknown as { board?: { ready: boolean } }).board?.ready === true, null, { timeout: 20_000 });

const qty = (p: Page, sku: string): Promise<string | null> => p.locator(`tr[data-sku="${sku}"] output`).textContent();

const price = (p: Page, sku: string): Promise<string> => p.locator(`tr[data-sku="${sku}"] input.price`).inputValue();

const state = (p: Page): Promise<string | null> => p.locator('#state').textContent();

async function members(p: Page): Promise<string[]> {
  return p.locator('#members li').evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset['user'] ?? ''));
}

/** What the pages knew, for a failure message: their last console lines, events and queue. */
async function why(...pages: BoardPage[]): Promise<string> {
  const parts: string[] = [];
  for (const b of pages) {
    const state = await b.page
      .evaluate(() => {
        const board = (window as unknown as { board?: { user: string; events: unknown[]; items: Map<string, unknown>; client: { state: string; documents: { ops(): unknown[] } } } }).board;
        return board === undefined
          ? 'no board'
          : JSON.stringify({ user: board.user, state: board.client.state, events: board.events.slice(-8), items: [...board.items.values()], queue: board.client.documents.ops() });
      })
      .catch((e: Error) => `page not readable: ${e.message}`);
    parts.push(`${state}\n${b.console.slice(-15).join('\n')}`);
  }
  return parts.join('\n---\n');
}

describe('demo board in Chromium', () => {
  const gw = useGateway();
  let browser: Browser;

  before(async () => {
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
  });

  test('two users see each other, and an edit in one appears in the other', { timeout: 60_000 }, async () => {
    const tenant = uniqueTenant('demo');
    await seed(gw, tenant);
    const alice = await openBoard(browser, gw.httpUrl, { user: 'alice', tenant, seed: '0' });
    const bob = await openBoard(browser, gw.httpUrl, { user: 'bob', tenant, seed: '0' });
    try {
      await Promise.all([ready(alice.page), ready(bob.page)]);
      assert.equal(await alice.page.locator('#rows tr').count(), 4);
      await alice.page.waitForFunction(() => document.querySelectorAll('#members li').length === 2, null, { timeout: 10_000 });
      await bob.page.waitForFunction(() => document.querySelectorAll('#members li').length === 2, null, { timeout: 10_000 });
      assert.deepEqual(await members(alice.page), ['alice', 'bob']);
      assert.deepEqual(await members(bob.page), ['alice', 'bob']);

      assert.equal(await qty(bob.page, 'A-1'), '10');
      await plus(alice.page, 'A-1');
      await plus(alice.page, 'A-1');
      await bob.page.waitForFunction(() => document.querySelector('tr[data-sku="A-1"] output')?.textContent === '12', null, { timeout: 10_000 });
      // typing in a price field shows up on the other side (and nothing changes: same value at blur)
      const b7 = alice.page.locator('tr[data-sku="B-7"] input.price');
      await b7.focus();
      await alice.page.keyboard.type('7');
      await bob.page.waitForFunction(() => (document.querySelector('#typing')?.textContent ?? '').includes('alice is typing a price for B-7'), null, {
        timeout: 10_000,
      });
      await bob.page.waitForFunction(() => (document.querySelector('tr[data-sku="B-7"] .editing')?.textContent ?? '').includes('alice'), null, {
        timeout: 10_000,
      });
      await sleep(1200); // let the highlight of the last change fade
      await bob.page.screenshot({ path: targetFile('board.png') });
      await alice.page.keyboard.press('Backspace');
      await b7.blur();
      assert.equal((await serverDoc(gw, tenant, 'B-7')).version, 1, 'typing alone changes nothing');
      assert.equal((await serverDoc(gw, tenant, 'A-1')).data.qty, 12);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(alice, bob)}`);
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  test('three edits made offline survive a reload and are applied exactly once, in order, when back online', { timeout: 90_000 }, async () => {
    const tenant = uniqueTenant('demo');
    await seed(gw, tenant);
    const alice = await openBoard(browser, gw.httpUrl, { user: 'alice', tenant, seed: '0' });
    const bob = await openBoard(browser, gw.httpUrl, { user: 'bob', tenant, seed: '0' });
    try {
      await Promise.all([ready(alice.page), ready(bob.page)]);
      await bob.page.waitForFunction(() => (window as unknown as { board: { offlineReady?: boolean } }).board.offlineReady === true, null, {
        timeout: 20_000,
      });
      const before = await serverDoc(gw, tenant, 'C-3');

      await bob.context.setOffline(true);
      await bob.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'offline', null, { timeout: 10_000 });
      await plus(bob.page, 'C-3');
      await setPrice(bob.page, 'C-3', '21');
      await setPrice(bob.page, 'C-3', '22');
      await bob.page.waitForFunction(() => document.querySelectorAll('#queue li[data-status="queued"]').length === 3, null, { timeout: 10_000 });
      assert.equal(await qty(bob.page, 'C-3'), '13', 'the queued +1 is shown');

      // reload while offline: the page comes from the service worker, the queue from IndexedDB
      await bob.page.reload();
      await bob.page.waitForFunction(() => document.querySelectorAll('#queue li[data-status="queued"]').length === 3, null, { timeout: 15_000 });
      assert.equal(await state(bob.page), 'offline');
      assert.equal((await serverDoc(gw, tenant, 'C-3')).version, before.version, 'nothing sent while offline');

      await bob.context.setOffline(false);
      await bob.page.waitForFunction(() => document.querySelector('#queue-count')?.textContent === '0', null, { timeout: 20_000 });
      const afterDoc = await serverDoc(gw, tenant, 'C-3');
      assert.equal(afterDoc.version, before.version + 3, 'exactly three new versions');
      assert.equal(afterDoc.data.qty, before.data.qty + 1, 'the +1 once');
      assert.equal(afterDoc.data.price, 22, 'the price edits in order');
      await alice.page.waitForFunction(
        () => (document.querySelector('tr[data-sku="C-3"] input.price') as HTMLInputElement | null)?.value === '22',
        null,
        { timeout: 10_000 },
      );
      assert.equal(await qty(alice.page, 'C-3'), String(before.data.qty + 1));
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(alice, bob)}`);
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  test('a concurrent edit of the manual price opens the dialog for one user; the resolution reaches both', { timeout: 60_000 }, async () => {
    const tenant = uniqueTenant('demo');
    await seed(gw, tenant);
    const alice = await openBoard(browser, gw.httpUrl, { user: 'alice', tenant, seed: '0' });
    const bob = await openBoard(browser, gw.httpUrl, { user: 'bob', tenant, seed: '0' });
    try {
      await Promise.all([ready(alice.page), ready(bob.page)]);
      // alice edits while her connection is paused (the "work offline" switch), bob edits online
      await alice.page.locator('#offline').check();
      await alice.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'offline', null, { timeout: 10_000 });
      await setPrice(alice.page, 'D-9', '30');
      await setPrice(bob.page, 'D-9', '31');
      await alice.page.waitForFunction(
        () => (document.querySelector('tr[data-sku="D-9"] input.price') as HTMLInputElement | null)?.value === '30',
        null,
        { timeout: 5000 },
      );
      await alice.page.locator('#offline').uncheck();
      const dialog = alice.page.locator('dialog#conflict');
      await dialog.waitFor({ state: 'visible', timeout: 15_000 });
      assert.match((await dialog.locator('#c-values').textContent()) ?? '', /31.*30/);
      assert.equal(await bob.page.locator('dialog#conflict').isVisible(), false, 'only the author is asked');
      await alice.page.screenshot({ path: targetFile('conflict.png') });
      await dialog.locator('#c-local').click();
      for (const p of [alice.page, bob.page]) {
        await p.waitForFunction(
          () => (document.querySelector('tr[data-sku="D-9"] input.price') as HTMLInputElement | null)?.value === '30',
          null,
          { timeout: 10_000 },
        );
      }
      assert.equal((await serverDoc(gw, tenant, 'D-9')).data.price, 30);
      assert.equal(await alice.page.locator('dialog#conflict').isVisible(), false);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(alice, bob)}`);
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  test('a full browser store (origin quota) is reported as storage_quota; the edit stays in memory', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${gw.httpUrl}/health`); // an origin of the gateway, to load the client from
      const cdp = await context.newCDPSession(page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: gw.httpUrl, quotaSize: 2_000_000 });
      const result = await page.evaluate(async (wsUrl) => {
        const moduleUrl = '/demo/dist/index.js';
        const m = (await import(moduleUrl)) as typeof import('@tandem/client');
        const client = new m.TandemClient({ url: wsUrl, getToken: () => 'unused', storage: new m.IndexedDbStorage('quota-test') });
        const errors: string[] = [];
        client.documents.on('storageError', (e) => errors.push(e.code));
        // random text: IndexedDB compresses values, so a repeated character would hardly count
        const bytes = new Uint8Array(300_000);
        for (let i = 0; i < bytes.length; i += 65_536) {
          crypto.getRandomValues(bytes.subarray(i, i + 65_536));
        }
        const big = btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join('')); // 400 KB
        const ops = [];
        for (let i = 0; i < 12 && errors.length === 0; i++) {
          ops.push(await client.documents.update('note', `n-${i}`, { data: { text: big } }));
        }
        const kept = client.documents.ops().length;
        client.close();
        return { errors, durable: ops.map((o) => o.durable), kept };
      }, gw.wsUrl);
      assert.equal(result.errors[0], 'storage_quota', JSON.stringify(result));
      assert.equal(result.durable[0], true);
      assert.equal(result.durable.at(-1), false, 'the one that did not fit is kept in memory');
      assert.equal(result.kept, result.durable.length, 'nothing lost');
    } finally {
      await context.close();
    }
  });
});

describe('demo board in Chromium, cluster mode', () => {
  let browser: Browser;
  const nodes: Gateway[] = [];

  before(async () => {
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    for (const n of nodes) {
      await n.close();
    }
  });

  test('the board recovers the events it missed while its gateway restarted', { timeout: 180_000 }, async () => {
    const cluster = {
      'tandem.redis.address': process.env['TANDEM_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      'tandem.db.url': process.env['TANDEM_TEST_POSTGRES_URL'] ?? 'jdbc:postgresql://127.0.0.1:5432/test',
      'tandem.db.username': process.env['TANDEM_TEST_POSTGRES_USER'] ?? 'postgres',
    };
    try {
      nodes.push(await Gateway.start({ props: cluster, port: await freePort(), nodeId: 'node-1' }));
      nodes.push(await Gateway.start({ props: cluster, port: await freePort(), nodeId: 'node-2' }));
    } catch (e) {
      throw new Error(
        `cluster mode needs Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (db test, user postgres): ` +
          `start them with './tandem services up'\n${(e as Error).message}`,
      );
    }
    const [one, two] = nodes as [Gateway, Gateway];
    const tenant = uniqueTenant('demo');
    await seed(two, tenant);
    const board = await openBoard(browser, one.httpUrl, { user: 'alice', tenant, seed: '0' });
    try {
      await ready(board.page);
      const offsets = (): Promise<number[]> => board.page.evaluate(() => (window as unknown as { board: { offsets: number[] } }).board.offsets);
      await two.publish(tenant, 'location:wh-7', 'stock.counted', { sku: 'A-1', counted: 10 });
      await board.page.waitForFunction(() => (window as unknown as { board: { offsets: number[] } }).board.offsets.length === 1, null, { timeout: 10_000 });
      const first = (await offsets())[0] as number;

      await one.stop(); // drains: the page is told 1012 and keeps trying
      await board.page.waitForFunction(() => document.querySelector('#state')?.textContent !== 'connected', null, { timeout: 10_000 });
      // while node 1 is away, node 2 takes changes: 3 stock changes and 3 plain events
      for (let i = 0; i < 3; i++) {
        const r = await two.rest('POST', '/api/v1/sync', tenant, {
          ops: [{ docType: 'stock_level', docId: 'B-7@wh-7', baseVersion: 1, opId: `erp:${i + 1}`, patch: { inc: { qty: 5 } } }],
        });
        assert.equal(r.status, 200);
        await two.publish(tenant, 'location:wh-7', 'stock.counted', { sku: 'B-7', round: i });
      }
      await one.launch();
      await board.page.waitForFunction(() => document.querySelector('#state')?.textContent === 'connected', null, { timeout: 60_000 });
      await board.page.waitForFunction(() => (window as unknown as { board: { offsets: number[] } }).board.offsets.length >= 7, null, {
        timeout: 20_000,
      });
      await sleep(500);
      const got = await offsets();
      assert.deepEqual(got, Array.from({ length: 7 }, (_, i) => first + i), 'every missed event once, in order');
      await board.page.waitForFunction(() => document.querySelector('tr[data-sku="B-7"] output')?.textContent === '26', null, {
        timeout: 10_000,
      });
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(board)}`);
    } finally {
      await board.context.close();
    }
  });
});
