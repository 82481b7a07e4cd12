/**
 * Starts the packaged gateway jar as a separate process, as users run it: development mode
 * (HS256 tokens with the public development secret), the demo's document types, its own H2
 * file in a temporary folder, on a free port of 127.0.0.1.
 *
 * The jar comes from TANDEM_GATEWAY_JAR (default ../../gateway/target/tandem-gateway.jar
 * relative to the package); java from TANDEM_JAVA, else $JAVA_HOME/bin/java, else `java`
 * (it needs 21+: `./tandem` sets JAVA_HOME).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package folder (api-contract/typescript). */
export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The public development secret a gateway trusts in development mode (gateway DevTokens.DEV_SECRET). */
export const DEV_SECRET = 'tandem-development-secret-do-not-use-in-production';

/** The jar the tests run. */
export function gatewayJar(): string {
  return process.env['TANDEM_GATEWAY_JAR'] ?? resolve(PACKAGE_DIR, '../../gateway/target/tandem-gateway.jar');
}

function javaCommand(): string {
  if (process.env['TANDEM_JAVA'] !== undefined) {
    return process.env['TANDEM_JAVA'];
  }
  const home = process.env['JAVA_HOME'];
  return home !== undefined && existsSync(join(home, 'bin', 'java')) ? join(home, 'bin', 'java') : 'java';
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolvePort(port));
    });
  });
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** Claims of a development token. */
export interface TokenClaims {
  user: string;
  tenant: string;
  roles?: string[];
  locations?: string[];
  workspaces?: string[];
  /** Lifetime in seconds from now; negative for an already expired token (default 3600). */
  ttlSeconds?: number;
}

/** Mints an HS256 token with the development secret, like `./tandem token` (gateway DevTokens). */
export function mintToken(c: TokenClaims, secret: string = DEV_SECRET): string {
  const now = Math.floor(Date.now() / 1000);
  const ttl = c.ttlSeconds ?? 3600;
  const header = { alg: 'HS256', kid: 'tandem-hs256', typ: 'JWT' };
  const payload: Record<string, unknown> = {
    sub: c.user,
    tid: c.tenant,
    roles: c.roles ?? [],
    iat: ttl < 0 ? now + ttl - 60 : now,
    nbf: ttl < 0 ? now + ttl - 60 : now,
    exp: now + ttl,
  };
  if (c.locations !== undefined) {
    payload['locations'] = c.locations;
  }
  if (c.workspaces !== undefined) {
    payload['workspaces'] = c.workspaces;
  }
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** Options of {@link Gateway.start}. */
export interface GatewayOptions {
  /** Extra system properties, e.g. cluster settings. */
  props?: Record<string, string>;
  /** A configuration file (default: the demo's document types). */
  configFile?: string;
  /** A port to listen on (default: a free one). */
  port?: number;
  /** Node id shown in welcome (default gw-{port}). */
  nodeId?: string;
}

/** Every gateway process started here, killed when this process exits however it exits. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) {
    p.kill('SIGKILL');
  }
});

/** A gateway process. */
export class Gateway {
  private process: ChildProcess | undefined;
  private output = '';
  private readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly options: GatewayOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'tandem-ts-'));
  }

  /** Starts a gateway and waits until it is ready. */
  static async start(options: GatewayOptions = {}): Promise<Gateway> {
    const g = new Gateway(options.port ?? (await freePort()), options);
    await g.launch();
    return g;
  }

  /** ws://127.0.0.1:{port}/ws */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** http://127.0.0.1:{port} */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What the process printed (for failure messages). */
  get log(): string {
    return this.output;
  }

  /** Starts the process again on the same port (after {@link stop} or {@link kill}). */
  async launch(): Promise<void> {
    const jar = gatewayJar();
    if (!existsSync(jar)) {
      throw new Error(
        `no gateway jar at ${jar}: build it with ` +
          "'mvn -B -ntp -q -DskipTests -pl gateway -am package' at the repository root (or set TANDEM_GATEWAY_JAR)",
      );
    }
    const props: Record<string, string> = {
      'server.port': String(this.port),
      'server.host': '127.0.0.1',
      'tandem.node-id': this.options.nodeId ?? `gw-${this.port}`,
      'tandem.dev-mode': 'true',
      'tandem.demo.dir': PACKAGE_DIR,
      'tandem.config.file': this.options.configFile ?? join(PACKAGE_DIR, 'demo', 'demo-config.yaml'),
      'tandem.db.url': `jdbc:h2:file:${join(this.dir, 'tandem')};LOCK_TIMEOUT=10000`,
      'tandem.drain-timeout': 'PT3S',
      ...this.options.props,
    };
    const args = [...Object.entries(props).map(([k, v]) => `-D${k}=${v}`), '-Xmx512m', '-jar', jar];
    this.output = '';
    const child = spawn(javaCommand(), args, { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    const keep = (b: Buffer): void => {
      this.output = (this.output + b.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.once('error', (e) => {
      this.output += `\ncould not start ${javaCommand()}: ${e.message}`;
    });
    const deadline = Date.now() + 90_000;
    for (;;) {
      const gone = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 250))]);
      if (gone !== 'running') {
        throw new Error(`the gateway exited with ${gone} before it was ready:\n${this.output}`);
      }
      try {
        const res = await fetch(`${this.httpUrl}/health/ready`);
        if (res.status === 200) {
          return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`the gateway was not ready within 90 s:\n${this.output}`);
      }
    }
  }

  /** Stops with SIGTERM (graceful drain: clients get 1012) and waits for the exit. */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  /** Kills with SIGKILL (a crash: sockets just break) and waits for the exit. */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  /** Stops and removes the temporary folder. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private signal(sig: NodeJS.Signals): Promise<void> {
    const p = this.process;
    this.process = undefined;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) {
      return Promise.resolve();
    }
    return new Promise((r) => {
      const force = setTimeout(() => p.kill('SIGKILL'), 15_000);
      p.once('exit', () => {
        clearTimeout(force);
        r();
      });
      p.kill(sig);
    });
  }

  /** Calls the REST API with a service token of the tenant. */
  async rest(method: string, path: string, tenant: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const token = mintToken({ user: 'erp', tenant, roles: ['service'] });
    const res = await fetch(`${this.httpUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, json };
  }

  /** Publishes through the REST API; returns the publication's offset. */
  async publish(tenant: string, channel: string, type: string, data: unknown): Promise<number> {
    const r = await this.rest('POST', '/api/v1/publish', tenant, { channel, type, data });
    if (r.status !== 200) {
      throw new Error(`publish failed: ${r.status} ${JSON.stringify(r.json)}`);
    }
    const pubs = (r.json as { publications: Array<{ offset: number }> }).publications;
    return (pubs[0] as { offset: number }).offset;
  }
}

/** A tenant name no other test uses. */
export function uniqueTenant(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Waits until `condition` holds (polling), or fails with `what`. */
export async function eventually(condition: () => boolean, what: string | (() => string), timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`not within ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
