/**
 * Headless Chromium for the end-to-end tests: the system's Debian `chromium` (no browser
 * download), driven by playwright-core. TANDEM_CHROMIUM overrides the path.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PACKAGE_DIR } from '../../test/support/gateway.js';

export const CHROMIUM = process.env['TANDEM_CHROMIUM'] ?? '/usr/bin/chromium';

/** Flags for a quiet, sandbox-less headless Chromium on a CI machine (`--headless` comes from `headless: true`). */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts Chromium, or fails saying how to install it. */
export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it with 'apt-get update && apt-get install -y chromium' (or set TANDEM_CHROMIUM)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/** Where screenshots go (gitignored). */
export function targetFile(name: string): string {
  const dir = join(PACKAGE_DIR, 'target');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/** A page of the demo board for one user, with its console kept for failure messages. */
export interface BoardPage {
  context: BrowserContext;
  page: Page;
  console: string[];
}

/** Opens the demo board served by the gateway at `httpUrl` in a fresh browser context (its own storage). */
export async function openBoard(browser: Browser, httpUrl: string, query: Record<string, string>): Promise<BoardPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  const page = await context.newPage();
  const console: string[] = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  await page.goto(`${httpUrl}/demo/?${new URLSearchParams(query)}`);
  return { context, page, console };
}
