/**
 * The demo board as a new user meets it, in headless Chromium against the packaged gateway: the
 * addresses people type (`/demo`, `/`) and the ready message, the "work offline" switch and the
 * events panel across a reload, Esc on the conflict dialog, a phone-sized window, and rows that
 * keep their height when someone starts editing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Gateway, sleep, uniqueTenant } from '../test/support/gateway.js';
import { useGateway } from '../test/support/setup.js';
import { plus, seed, setPrice } from './support/board.js';
import { launch, openBoard, targetFile, type BoardPage } from './support/browser.js';

const ready = (p: Page): Promise<unknown> =>
  p.waitForFunction(() => (window as unknown as { board?: { ready: boolean } }).board?.ready === true, null, { timeout: 20_000 });

const stateIs = (p: Page, s: string): Promise<unknown> =>
  p.waitForFunction((want) => document.querySelector('#state')?.textContent === want, s, { timeout: 15_000 });

async function serverPrice(gw: Gateway, tenant: string, sku: string): Promise<number> {
  const r = await gw.rest('GET', `/api/v1/documents/stock_level/${sku}@wh-7`, tenant);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const body = r.json as { document?: { data: { price: number } }; data?: { price: number } };
  return (body.document?.data ?? body.data)!.price;
}

/** The page's console and events, for a failure message. */
async function why(...pages: BoardPage[]): Promise<string> {
  const parts: string[] = [];
  for (const b of pages) {
    const state = await b.page
      .evaluate(() => {
        const board = (window as unknown as { board?: { user: string; events: unknown[]; client: { state: string; documents: { ops(): unknown[] } } } }).board;
        return board === undefined
          ? `no board at ${location.href}`
          : JSON.stringify({ user: board.user, state: board.client.state, events: board.events.slice(-8), queue: board.client.documents.ops() });
      })
      .catch((e: Error) => `page not readable: ${e.message}`);
    parts.push(`${state}\n${b.console.slice(-15).join('\n')}`);
  }
  return parts.join('\n---\n');
}

describe('demo board, first use, in Chromium', () => {
  const gw = useGateway();
  let browser: Browser;

  before(async () => {
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
  });

  test('the ready message names the board, and /demo and / both lead to it, styled and live', { timeout: 60_000 }, async () => {
    const line = `Demo board: http://localhost:${gw.port}/demo/`;
    for (let i = 0; i < 20 && !gw.log.includes(line); i++) {
      await sleep(250); // the message follows readiness by a moment
    }
    assert.ok(gw.log.includes(line), `the ready message names the board:\n${gw.log.slice(-2000)}`);

    const tenant = uniqueTenant('first');
    await seed(gw, tenant);
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
    const board: BoardPage = { context, page: await context.newPage(), console: [] };
    board.page.on('console', (m) => board.console.push(`${m.type()}: ${m.text()}`));
    try {
      await board.page.goto(`${gw.httpUrl}/demo?user=alice&tenant=${tenant}&seed=0`);
      await ready(board.page);
      const url = new URL(board.page.url());
      assert.equal(url.pathname, '/demo/');
      assert.equal(url.searchParams.get('tenant'), tenant, 'the query survives the redirect');
      assert.equal(await board.page.evaluate(() => getComputedStyle(document.body).display), 'grid', 'the style sheet is applied');
      assert.equal(await board.page.locator('#rows tr[data-sku]').count(), 4);

      await board.page.goto(`${gw.httpUrl}/`);
      await ready(board.page);
      assert.equal(new URL(board.page.url()).pathname, '/demo/');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(board)}`);
    } finally {
      await context.close();
    }
  });

  test('"work offline" survives a reload, and so does switching it off', { timeout: 60_000 }, async () => {
    const tenant = uniqueTenant('first');
    await seed(gw, tenant);
    const alice = await openBoard(browser, gw.httpUrl, { user: 'alice', tenant, seed: '0' });
    try {
      await ready(alice.page);
      await stateIs(alice.page, 'connected');
      await alice.page.locator('#offline').check();
      await stateIs(alice.page, 'offline');

      await alice.page.reload();
      await stateIs(alice.page, 'offline');
      assert.equal(await alice.page.locator('#offline').isChecked(), true, 'the switch is still on');
      await sleep(1500);
      assert.equal(await alice.page.locator('#state').textContent(), 'offline', 'no connection is made');
      assert.equal(await alice.page.evaluate(() => (window as unknown as { board: { client: { isPaused: boolean } } }).board.client.isPaused), true);

      await alice.page.locator('#offline').uncheck();
      await stateIs(alice.page, 'connected');
      await alice.page.reload();
      await stateIs(alice.page, 'connected');
      assert.equal(await alice.page.locator('#offline').isChecked(), false);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(alice)}`);
    } finally {
      await alice.context.close();
    }
  });

  test('Esc closes the conflict dialog and it stays closed until the user opens it again', { timeout: 60_000 }, async () => {
    const tenant = uniqueTenant('first');
    await seed(gw, tenant);
    const alice = await openBoard(browser, gw.httpUrl, { user: 'alice', tenant, seed: '0' });
    const bob = await openBoard(browser, gw.httpUrl, { user: 'bob', tenant, seed: '0' });
    try {
      await Promise.all([ready(alice.page), ready(bob.page)]);
      await alice.page.locator('#offline').check();
      await stateIs(alice.page, 'offline');
      await setPrice(alice.page, 'D-9', '30');
      await setPrice(bob.page, 'D-9', '31');
      await bob.page.waitForFunction(() => document.querySelector('#queue-count')?.textContent === '0', null, { timeout: 10_000 });
      await alice.page.locator('#offline').uncheck();
      const dialog = alice.page.locator('dialog#conflict');
      await dialog.waitFor({ state: 'visible', timeout: 15_000 });

      await alice.page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden', timeout: 5000 });
      await sleep(1500);
      assert.equal(await dialog.isVisible(), false, 'the dialog stays closed');
      const reopen = alice.page.locator('#conflicts-open');
      assert.equal(await reopen.isVisible(), true, 'the header offers the conflict');
      assert.equal(await reopen.textContent(), '1 conflict to resolve');
      assert.equal(await serverPrice(gw, tenant, 'D-9'), 31, 'Esc decides nothing');

      await reopen.click();
      await dialog.waitFor({ state: 'visible', timeout: 5000 });
      assert.match((await dialog.locator('#c-values').textContent()) ?? '', /31.*30/);
      await dialog.locator('#c-local').click();
      await dialog.waitFor({ state: 'hidden', timeout: 5000 });
      await alice.page.waitForFunction(
        () => (document.querySelector('tr[data-sku="D-9"] input.price') as HTMLInputElement | null)?.value === '30',
        null,
        { timeout: 10_000 },
      );
      assert.equal(await serverPrice(gw, tenant, 'D-9'), 30);
      assert.equal(await reopen.isVisible(), false, 'nothing left to resolve');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(alice, bob)}`);
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  test('the events panel keeps its lines across a reload and shows the edits replayed from the offline queue', { timeout: 90_000 }, async () => {
    const tenant = uniqueTenant('first');
    await seed(gw, tenant);
    const alice = await openBoard(browser, gw.httpUrl, { user: 'alice', tenant, seed: '0' });
    try {
      await ready(alice.page);
      await gw.publish(tenant, 'location:wh-7', 'stock.counted', { sku: 'A-1', counted: 10 });
      await alice.page.waitForFunction(() => (document.querySelector('#events')?.textContent ?? '').includes('stock.counted'), null, {
        timeout: 10_000,
      });
      const before = await alice.page.locator('#events li').allTextContents();

      await alice.page.locator('#offline').check();
      await stateIs(alice.page, 'offline');
      await plus(alice.page, 'A-1');
      await setPrice(alice.page, 'B-7', '9.5');
      await alice.page.waitForFunction(() => document.querySelectorAll('#queue li[data-status="queued"]').length === 2, null, { timeout: 10_000 });

      await alice.page.reload();
      await alice.page.waitForFunction(() => document.querySelectorAll('#queue li[data-status="queued"]').length === 2, null, { timeout: 15_000 });
      assert.deepEqual(await alice.page.locator('#events li').allTextContents(), before, 'the lines from before the reload');

      await alice.page.locator('#offline').uncheck();
      await alice.page.waitForFunction(() => document.querySelector('#queue-count')?.textContent === '0', null, { timeout: 20_000 });
      await alice.page.waitForFunction(() => document.querySelectorAll('#events li[data-mine="replayed"]').length === 2, null, { timeout: 10_000 });
      const replayed = await alice.page.locator('#events li[data-mine="replayed"]').allTextContents();
      assert.ok(replayed.some((t) => t.includes('A-1@wh-7')), replayed.join('\n'));
      assert.ok(replayed.some((t) => t.includes('B-7@wh-7')), replayed.join('\n'));
      assert.ok(replayed.every((t) => t.includes('from the offline queue')), replayed.join('\n'));
      // a change is one line: the edit and the channel event it produced are not shown twice
      await sleep(1000);
      const lines = await alice.page.locator('#events li').allTextContents();
      assert.equal(lines.filter((t) => t.includes('A-1@wh-7 v2')).length, 1, lines.join('\n'));
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(alice)}`);
    } finally {
      await alice.context.close();
    }
  });

  test('at 420 px wide nothing scrolls sideways: the board with a queued edit, and the conflict dialog', { timeout: 60_000 }, async () => {
    const tenant = uniqueTenant('first');
    await seed(gw, tenant);
    const context = await browser.newContext({ viewport: { width: 420, height: 860 } });
    const phone: BoardPage = { context, page: await context.newPage(), console: [] };
    const bob = await openBoard(browser, gw.httpUrl, { user: 'bob', tenant, seed: '0' });
    const wide = (): Promise<number> => phone.page.evaluate(() => document.documentElement.scrollWidth);
    try {
      await phone.page.goto(`${gw.httpUrl}/demo/?user=alice&tenant=${tenant}&seed=0`);
      await Promise.all([ready(phone.page), ready(bob.page)]);
      await phone.page.locator('#offline').check();
      await stateIs(phone.page, 'offline');
      await plus(phone.page, 'A-1');
      await setPrice(phone.page, 'D-9', '30');
      await phone.page.waitForFunction(() => (document.querySelector('tr[data-sku="A-1"] .pending')?.textContent ?? '') !== '', null, { timeout: 10_000 });
      await phone.page.screenshot({ path: targetFile('board-420.png'), fullPage: true });
      assert.ok((await wide()) <= 420, `the board is ${await wide()} px wide`);

      await setPrice(bob.page, 'D-9', '31');
      await bob.page.waitForFunction(() => document.querySelector('#queue-count')?.textContent === '0', null, { timeout: 10_000 });
      await phone.page.locator('#offline').uncheck();
      const dialog = phone.page.locator('dialog#conflict');
      await dialog.waitFor({ state: 'visible', timeout: 15_000 });
      await phone.page.screenshot({ path: targetFile('conflict-420.png') });
      const box = await dialog.evaluate((d) => d.getBoundingClientRect().toJSON() as { left: number; right: number });
      assert.ok(box.left >= 0 && box.right <= 420, `the dialog spans ${box.left}..${box.right} px`);
      assert.ok((await wide()) <= 420, `with the dialog open the page is ${await wide()} px wide`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(phone, bob)}`);
    } finally {
      await context.close();
      await bob.context.close();
    }
  });

  test('a row keeps its height when "editing…" appears in it', { timeout: 60_000 }, async () => {
    const tenant = uniqueTenant('first');
    await seed(gw, tenant);
    const alice = await openBoard(browser, gw.httpUrl, { user: 'alice', tenant, seed: '0' });
    const bob = await openBoard(browser, gw.httpUrl, { user: 'bob', tenant, seed: '0' });
    try {
      await Promise.all([ready(alice.page), ready(bob.page)]);
      await bob.page.waitForFunction(() => document.querySelectorAll('#members li').length === 2, null, { timeout: 10_000 });
      const height = (): Promise<number> =>
        bob.page.locator('tr[data-sku="B-7"]').evaluate((tr) => tr.getBoundingClientRect().height);
      const plain = await height();
      await alice.page.locator('tr[data-sku="B-7"] input.price').focus();
      await bob.page.waitForFunction(() => (document.querySelector('tr[data-sku="B-7"] .editing')?.textContent ?? '').includes('alice'), null, {
        timeout: 10_000,
      });
      assert.equal(await height(), plain, 'the same height with "alice editing…" shown');
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await why(alice, bob)}`);
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });
});
