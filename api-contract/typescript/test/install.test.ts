/**
 * The package as a user gets it: `npm pack` (which runs `prepare`, building dist/), installed
 * into a fresh app from the tarball; every `ts` block of the README compiled there under
 * `tsc --strict`, and the README's Node program run against a gateway.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PACKAGE_DIR, mintToken, uniqueTenant } from './support/gateway.js';
import { useGateway } from './support/setup.js';

const gw = useGateway();

/** Runs a command, failing with its output when it fails. */
function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, `${command} ${args.join(' ')} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The README's `ts` code blocks, in order. */
function readmeBlocks(): string[] {
  const text = readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

/** Whether a README block is for Node (it reads the environment or imports ws) rather than a page. */
function forNode(block: string): boolean {
  return /\bprocess\.|from 'ws'/.test(block);
}

describe('installing the package', () => {
  let dir = '';
  let app = '';
  const blocks = readmeBlocks();

  before(
    () => {
      dir = mkdtempSync(join(tmpdir(), 'tandem-install-'));
      run('npm', ['pack', '--silent', '--pack-destination', dir], PACKAGE_DIR);
      const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
      assert.ok(tarball !== undefined, 'npm pack made a tarball');
      app = join(dir, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tandem-install-check', private: true, type: 'module' }));
      // the versions this package develops against, from the public registry (or npm's cache)
      const dev = (JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> })
        .devDependencies;
      const tools = ['ws', '@types/ws', '@types/node', 'typescript'].map((n) => `${n}@${dev[n] ?? 'latest'}`);
      run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', join(dir, tarball), ...tools], app);
      blocks.forEach((b, i) => writeFileSync(join(app, `readme-${i + 1}.ts`), b));
      const base = {
        strict: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        skipLibCheck: false,
        outDir: 'out',
      };
      const files = (node: boolean): string[] => blocks.flatMap((b, i) => (forNode(b) === node ? [`readme-${i + 1}.ts`] : []));
      writeFileSync(
        join(app, 'tsconfig.node.json'),
        JSON.stringify({ compilerOptions: { ...base, lib: ['ES2022'], types: ['node'] }, files: files(true) }),
      );
      writeFileSync(
        join(app, 'tsconfig.browser.json'),
        JSON.stringify({ compilerOptions: { ...base, lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [] }, files: files(false) }),
      );
    },
    { timeout: 300_000 },
  );

  after(() => {
    if (dir !== '') {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the tarball carries the built ESM with type declarations, found through exports', () => {
    const installed = join(app, 'node_modules', '@tandem', 'client');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      types: string;
      exports: { '.': { types: string; import: string } };
    };
    for (const f of [pkg.types, pkg.exports['.'].types, pkg.exports['.'].import]) {
      assert.ok(readFileSync(join(installed, f), 'utf8').length > 0, `${f} is in the package`);
    }
    const files = readdirSync(installed);
    assert.ok(files.includes('dist') && files.includes('README.md'), `installed: ${files.join(', ')}`);
    assert.ok(!files.includes('src') && !files.includes('test') && !files.includes('node_modules'), `installed: ${files.join(', ')}`);
    const imported = run('node', ['--input-type=module', '-e', "import('@tandem/client').then((m) => console.log(typeof m.TandemClient))"], app);
    assert.equal(imported.trim(), 'function');
  });

  test("the README's TypeScript examples compile under tsc --strict against the installed package", () => {
    assert.ok(blocks.filter(forNode).length >= 2 && blocks.filter((b) => !forNode(b)).length >= 1, `README blocks: ${blocks.length}`);
    const tsc = join(app, 'node_modules', '.bin', 'tsc');
    run(tsc, ['-p', 'tsconfig.node.json'], app);
    run(tsc, ['-p', 'tsconfig.browser.json'], app);
  });

  test("the README's Node program runs against a gateway: connects, subscribes, prints the event and exits", async () => {
    const index = blocks.findIndex((b) => b.includes("from 'ws'"));
    assert.ok(index >= 0, 'the README has a Node program');
    run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.node.json'], app);
    const tenant = uniqueTenant('install');
    const child = spawn('node', [join('out', `readme-${index + 1}.js`)], {
      cwd: app,
      env: { ...process.env, TANDEM_URL: gw.wsUrl, TANDEM_TOKEN: mintToken({ user: 'alice', tenant }) },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no subscription within 20 s: ${out} ${err}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('subscribed to tenant')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      await gw.publish(tenant, 'tenant', 'stock.updated', { sku: 'A-1', qty: 5 });
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
      assert.equal(code, 0, `exit: ${String(code)}\n${out}\n${err}`);
      assert.match(out, /^connected as alice over websocket$/m);
      assert.match(out, /^stock\.updated A-1 5 at offset \d+$/m);
    } finally {
      child.kill();
    }
  });
});
