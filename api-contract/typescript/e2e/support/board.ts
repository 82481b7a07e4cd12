/**
 * What the demo board's end-to-end tests do to a board: seed a location's SKUs through the
 * service API, and edit a row the way a user does.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Gateway } from '../../test/support/gateway.js';

/** The SKUs seeded into location wh-7. */
export const SKUS = ['A-1', 'B-7', 'C-3', 'D-9'];

/** Creates the SKUs of wh-7 in `tenant` (qty 10.., price 5..). */
export async function seed(gw: Gateway, tenant: string): Promise<void> {
  const ops = SKUS.map((sku, i) => ({
    docType: 'stock_level',
    docId: `${sku}@wh-7`,
    baseVersion: 0,
    opId: `seed:${i + 1}`,
    data: { sku, name: `Item ${sku}`, locationId: 'wh-7', qty: 10 + i, price: 5 + i },
  }));
  const r = await gw.rest('POST', '/api/v1/sync', tenant, { ops });
  assert.equal(r.status, 200, JSON.stringify(r.json));
}

/** Types a price into a row and leaves the field, as a user commits it. */
export async function setPrice(p: Page, sku: string, value: string): Promise<void> {
  const input = p.locator(`tr[data-sku="${sku}"] input.price`);
  await input.fill(value);
  await input.press('Tab');
}

/** Clicks a row's "one more". */
export async function plus(p: Page, sku: string): Promise<void> {
  await p.locator(`tr[data-sku="${sku}"] button[title="one more"]`).click();
}
