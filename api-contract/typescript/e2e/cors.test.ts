/**
 * A web app served from another origin than the gateway, in headless Chromium: with its origin
 * on the gateway's allow-list (`tandem.origins`) it can use the REST API (a preflighted POST with
 * a bearer token), the development token endpoint, an SSE stream and a WebSocket; a page from an
 * origin not on the list can use none of them. One list governs every transport.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { Gateway, freePort, mintToken, uniqueTenant } from '../test/support/gateway.js';
import { launch } from './support/browser.js';

/** A server that answers every request with one empty HTML page (the app's origin). */
async function pageServer(port: number): Promise<Server> {
  const server = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title><p>app</p>');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

interface Outcome {
  token: string;
  publish: string;
  stream: string;
  socket: string;
}

/** What a page at `origin` manages to do with the gateway at `gw` (each step's result or error). */
async function tryEverything(browser: Browser, origin: string, gw: string, service: string, user: string): Promise<Outcome> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(origin);
    return await page.evaluate(
      async ({ gw, service, user }) => {
        const outcome = { token: '', publish: '', stream: '', socket: '' };
        try {
          const r = await fetch(`${gw}/demo/token?user=carol&tenant=cors`);
          outcome.token = r.ok ? 'ok' : `status ${r.status}`;
        } catch (e) {
          outcome.token = `failed: ${String(e)}`;
        }
        try {
          const r = await fetch(`${gw}/api/v1/publish`, {
            method: 'POST',
            headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json' },
            body: JSON.stringify({ channel: 'tenant', type: 'cors.test', data: { n: 1 } }),
          });
          outcome.publish = r.ok ? 'ok' : `status ${r.status}`;
        } catch (e) {
          outcome.publish = `failed: ${String(e)}`;
        }
        outcome.stream = await new Promise<string>((resolve) => {
          const es = new EventSource(`${gw}/sse?channel=tenant&access_token=${encodeURIComponent(user)}`);
          const done = (what: string): void => {
            es.close();
            resolve(what);
          };
          es.addEventListener('welcome', () => done('ok'));
          es.onerror = () => done('failed');
          setTimeout(() => done('timeout'), 5000);
        });
        outcome.socket = await new Promise<string>((resolve) => {
          const ws = new WebSocket(`${gw.replace('http', 'ws')}/ws`, 'tandem.v1');
          ws.onopen = () => ws.send(JSON.stringify({ op: 'connect', id: 1, token: user }));
          ws.onmessage = (m) => {
            if (String(m.data).includes('"welcome"')) {
              ws.close();
              resolve('ok');
            }
          };
          ws.onerror = () => resolve('failed');
          setTimeout(() => resolve('timeout'), 5000);
        });
        return outcome;
      },
      { gw, service, user },
    );
  } finally {
    await context.close();
  }
}

describe('a web app on another origin', () => {
  let browser: Browser;
  let gateway: Gateway;
  let allowed: Server;
  let other: Server;
  let allowedOrigin: string;
  let otherOrigin: string;

  before(async () => {
    const allowedPort = await freePort();
    allowedOrigin = `http://127.0.0.1:${allowedPort}`;
    allowed = await pageServer(allowedPort);
    other = await pageServer(await freePort());
    otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    gateway = await Gateway.start({ props: { 'tandem.origins': allowedOrigin } });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
    allowed?.close();
    other?.close();
  });

  test('on the allow-list, uses REST, the token endpoint, SSE and the WebSocket', async () => {
    const tenant = uniqueTenant('cors');
    const outcome = await tryEverything(browser, allowedOrigin, gateway.httpUrl,
      mintToken({ user: 'erp', tenant, roles: ['service'] }), mintToken({ user: 'carol', tenant }));
    assert.deepEqual(outcome, { token: 'ok', publish: 'ok', stream: 'ok', socket: 'ok' });
  });

  test('off the list, can use none of them', async () => {
    const tenant = uniqueTenant('cors');
    const outcome = await tryEverything(browser, otherOrigin, gateway.httpUrl,
      mintToken({ user: 'erp', tenant, roles: ['service'] }), mintToken({ user: 'carol', tenant }));
    assert.ok(outcome.token.startsWith('failed'), `token: ${outcome.token}`);
    assert.ok(outcome.publish.startsWith('failed'), `publish: ${outcome.publish}`);
    assert.notEqual(outcome.stream, 'ok', 'stream');
    assert.notEqual(outcome.socket, 'ok', 'socket');
  });
});
