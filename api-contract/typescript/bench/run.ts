/**
 * Benchmarks of @tandem/client (programs that print figures, not tests):
 *
 * 1. throughput — one socket in headless Chromium subscribed to a channel that a Node publisher
 *    feeds at a fixed rate (default 2,000 events/s for 10 s): received rate, events missing or
 *    duplicated, reconnects, publish→handler latency.
 * 2. reconnect — 1,000 Node clients on gateway A (url list [A, B]); A is killed (SIGKILL, a node
 *    loss) and the clients reconnect to B: histograms of the new connections the clients open and
 *    of the welcomes they get, with the default full-jitter backoff, without jitter for contrast,
 *    and with a 2 s first step.
 *
 * Usage: npm run bench [-- --only throughput|reconnect] [--rate 2000] [--seconds 10] [--clients 1000]
 * Needs the gateway jar and Chromium like the tests (TANDEM_GATEWAY_JAR, TANDEM_CHROMIUM).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { TandemClient } from '@tandem/client';
import { launch } from '../e2e/support/browser.js';
import { Gateway, mintToken, sleep, uniqueTenant } from '../test/support/gateway.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) {
  args.set((process.argv[i] ?? '').replace(/^--/, ''), process.argv[i + 1] ?? '');
}
const num = (name: string, dflt: number): number => (args.has(name) ? Number(args.get(name)) : dflt);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

// ---------------------------------------------------------------------- throughput in Chromium

interface PageResult {
  received: number;
  first: number;
  last: number;
  gaps: number;
  outOfOrder: number;
  duplicatesDropped: number;
  welcomes: number;
  invalid: number;
  latencies: number[];
  perSecond: number[];
}

async function throughput(rate: number, seconds: number): Promise<void> {
  const gw = await Gateway.start({
    // the publisher sends far more than a client normally may
    props: { 'tandem.limits.messages-per-second': '20000', 'tandem.limits.burst': '20000' },
  });
  const browser = await launch();
  try {
    const tenant = uniqueTenant('bench');
    const channel = 'workspace:bench';
    const page = await browser.newPage();
    await page.goto(`${gw.httpUrl}/health`); // any page of the gateway's origin
    const total = rate * seconds;
    const subscriberToken = mintToken({ user: 'viewer', tenant, workspaces: ['bench'] });
    const wsUrl = gw.wsUrl;
    await page.evaluate(
      async ({ wsUrl, token, channel }) => {
        const moduleUrl = '/demo/dist/index.js';
        const { TandemClient } = (await import(moduleUrl)) as typeof import('@tandem/client');
        const r = {
          received: 0,
          first: -1,
          last: 0,
          gaps: 0,
          outOfOrder: 0,
          duplicatesDropped: 0,
          welcomes: 0,
          invalid: 0,
          latencies: [] as number[],
          perSecond: [] as number[],
        };
        let inSecond = 0;
        setInterval(() => {
          r.perSecond.push(inSecond);
          inSecond = 0;
        }, 1000);
        const client = new TandemClient({ url: wsUrl, getToken: () => token, inbox: false });
        client.subscribe(channel, (e) => {
          const offset = e.position?.offset ?? 0;
          if (r.first < 0) {
            r.first = offset;
          } else if (offset !== r.last + 1) {
            if (offset > r.last + 1) r.gaps += offset - r.last - 1;
            else r.outOfOrder++;
          }
          r.last = offset;
          r.received++;
          inSecond++;
          const sent = (e.data as { t: number }).t;
          r.latencies.push(Date.now() - sent);
        });
        await client.connect();
        (window as unknown as { bench: unknown }).bench = { r, client };
      },
      { wsUrl, token: subscriberToken, channel },
    );
    await sleep(500);

    // the publisher: one Node socket, durable publications without ids, paced in 10 ms ticks
    const pub = new WebSocket(gw.wsUrl);
    await new Promise((r) => pub.once('open', r));
    pub.send(JSON.stringify({ op: 'connect', token: mintToken({ user: 'feeder', tenant, workspaces: ['bench'] }) }));
    await new Promise((r) => pub.once('message', r));
    const errors: string[] = [];
    pub.on('message', (raw) => {
      const f = JSON.parse(String(raw)) as { op: string; code?: string };
      if (f.op === 'error' || f.op === 'disconnect') {
        errors.push(String(raw));
      }
    });
    const payload = 'x'.repeat(60);
    const start = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) {
        sent++;
        pub.send(JSON.stringify({ op: 'publish', channel, type: 'tick', data: { n: sent, t: Date.now(), p: payload } }));
      }
      await sleep(5);
    }
    const sendSeconds = (performance.now() - start) / 1000;
    const deadline = Date.now() + 30_000;
    let r: PageResult;
    for (;;) {
      r = await page.evaluate(() => {
        const b = (window as unknown as { bench: { r: PageResult; client: TandemClient } }).bench;
        return { ...b.r, duplicatesDropped: b.client.stats.duplicates, welcomes: b.client.stats.welcomes, invalid: b.client.stats.invalidFrames };
      });
      if (r.received >= total || Date.now() > deadline) {
        break;
      }
      await sleep(250);
    }
    pub.close();
    const lat = [...r.latencies].sort((a, b) => a - b);
    const busy = r.perSecond.filter((n) => n > 0);
    console.log(`\nthroughput: ${rate} events/s offered for ${seconds} s to one socket in Chromium ${browser.version()}`);
    console.log(`  published           ${sent} in ${sendSeconds.toFixed(1)} s (${Math.round(sent / sendSeconds)}/s)${errors.length ? `; publisher errors: ${errors.slice(0, 3).join(' ')}` : ''}`);
    console.log(`  received            ${r.received} (offsets ${r.first}..${r.last}); missing ${total - r.received}, gaps ${r.gaps}, out of order ${r.outOfOrder}`);
    console.log(`  duplicates dropped  ${r.duplicatesDropped}; reconnects ${r.welcomes - 1}; invalid frames ${r.invalid}`);
    console.log(`  per second          median ${percentile([...busy].sort((a, b) => a - b), 50)}, max ${Math.max(...busy)}`);
    console.log(`  publish→handler     p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms, max ${lat.at(-1)} ms`);
  } finally {
    await browser.close();
    await gw.close();
  }
}

// ---------------------------------------------------------------------- reconnect spread

function histogram(label: string, times: number[], bucket: number): void {
  const sorted = [...times].sort((x, y) => x - y);
  const hist = new Map<number, number>();
  for (const t of sorted) {
    const k = Math.floor(t / bucket) * bucket;
    hist.set(k, (hist.get(k) ?? 0) + 1);
  }
  const maxCount = Math.max(...hist.values());
  console.log(`  ${label}: ${sorted.length}; first ${sorted[0]?.toFixed(0)} ms, median ${percentile(sorted, 50).toFixed(0)} ms, last ${sorted.at(-1)?.toFixed(0)} ms after the kill; per ${bucket} ms:`);
  const first = Math.floor((sorted[0] ?? 0) / bucket) * bucket;
  const last = Math.floor((sorted.at(-1) ?? 0) / bucket) * bucket;
  for (let k = first; k <= last; k += bucket) {
    const n = hist.get(k) ?? 0;
    console.log(`  ${String(k).padStart(6)}-${String(k + bucket).padEnd(6)} ms ${String(n).padStart(5)} ${'#'.repeat(Math.ceil((n / maxCount) * 50))}`);
  }
}

async function reconnect(clients: number, backoff: { initialMs?: number; jitter: number }, label: string): Promise<void> {
  const props = { 'tandem.connections-per-address': String(clients * 2), 'tandem.limits.auth-timeout': 'PT30S' };
  const a = await Gateway.start({ props, nodeId: 'A' });
  const b = await Gateway.start({ props, nodeId: 'B' });
  const tenant = uniqueTenant('bench');
  const list: TandemClient[] = [];
  // every WebSocket the clients open, with the moment they open it
  const opened: Array<{ url: string; at: number }> = [];
  class TimedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      opened.push({ url, at: performance.now() });
      super(url, protocols);
    }
  }
  try {
    const token = mintToken({ user: 'u', tenant });
    for (let i = 0; i < clients; i++) {
      list.push(
        new TandemClient({
          url: [a.wsUrl, b.wsUrl],
          WebSocket: TimedWebSocket,
          getToken: () => token,
          inbox: false,
          reconnect: backoff,
          logger: { warn() {}, error() {} },
        }),
      );
    }
    // connect in waves so the first connections are not a storm themselves
    for (let i = 0; i < list.length; i += 100) {
      await Promise.all(list.slice(i, i + 100).map((c) => c.connect()));
    }
    if (!list.every((c) => c.welcome?.node === 'A')) {
      throw new Error('not every client is on A');
    }
    const welcomes: number[] = [];
    let t0 = 0;
    for (const c of list) {
      c.on('welcome', (w) => {
        if (w.node === 'B') {
          welcomes.push(performance.now() - t0);
        }
      });
    }
    opened.length = 0;
    t0 = performance.now();
    await a.kill();
    const deadline = Date.now() + 60_000;
    while (welcomes.length < clients && Date.now() < deadline) {
      await sleep(50);
    }
    const attempts = opened.filter((o) => o.url === b.wsUrl).map((o) => o.at - t0);
    console.log(`\nreconnect: ${clients} clients lose their node (SIGKILL) and reconnect to the other; ${label}`);
    console.log(`  (clients and both gateways share this machine; attempts to the dead node: ${opened.length - attempts.length})`);
    histogram('new connections opened by the clients', attempts, 25);
    histogram('welcomes from the other node', welcomes, 50);
  } finally {
    list.forEach((c) => c.close());
    await a.close();
    await b.close();
  }
}

const only = args.get('only');
if (only === undefined || only === 'throughput') {
  await throughput(num('rate', 2000), num('seconds', 10));
}
if (only === undefined || only === 'reconnect') {
  const clients = num('clients', 1000);
  await reconnect(clients, { jitter: 1 }, 'default backoff (first step 200 ms, full jitter)');
  await reconnect(clients, { jitter: 0 }, 'for contrast, the same backoff without jitter');
  await reconnect(clients, { initialMs: 2000, jitter: 1 }, 'a first step of 2 s (full jitter), as a large fleet might configure');
}
process.exit(0);
