// `npm run bench`: how fast vakt logs people in and refreshes tokens on this machine, on SQLite
// and on PostgreSQL, and how much memory the server holds. It prints figures and the project's
// stated targets beside them; it never fails a run for being below a target.
//
// Per database, in one run:
//   1. the argon2id ceiling: verifications per second through createPasswordHasher() at the
//      configured parameters, by as many loops as the logins have (in this process, while the
//      server idles); the hasher runs as many at once as the machine has cores, as the server's
//      does unless VAKT_HASH_CONCURRENCY is set;
//   2. complete password logins over HTTP: authorize (confidential first-party client, PKCE S256)
//      → hosted login page → POST the form → redirect with the code → token endpoint
//      (client_secret_basic + code_verifier) → an id_token; by twice as many people as there
//      are loops, in turn (one person's logins at once would be a burst of guesses);
//   3. the same logins one at a time, the server accounting its CPU per request (authorize, login
//      page, form POST, the redirect with the code, token): which step of a login costs what,
//      and on PostgreSQL how many statements (round trips) each sends;
//   4. refresh-token grants, each loop redeeming its own rotating refresh token;
//   5. codes sent per second through the SMS webhook: complete "Forgot your password?" journeys
//      (authorize → login page → /forgot → POST the number → POST /forgot/send → 303 → the code
//      page) on a tenant whose code limits no phase reaches, each to the next of BENCH_SMS_ACCOUNTS
//      accounts with a verified number (+4790000000, +4790000001, …). The SMS gateway is a real
//      HTTP server in this process that answers 200 and counts; the messages it took must equal
//      the sends the journeys saw (a mismatch prints ERROR);
//   6. the cost of a refused request beside an accepted one, both POST /forgot/send alone from a
//      choice page each loop keeps: accepted on that tenant (a code written and delivered), then
//      refused on a tenant that allows one code per number a day (after that one: 429 with
//      Retry-After, which every answer must be). It prints "refused: X ms CPU/request vs
//      accepted: Y ms" from the server's CPU per request, and warns if the gateway took anything
//      during the refused phase: a refusal must neither hash nor deliver;
//   7. the server's resident memory: idle after start (both as `tsx` and as `compiled`, see
//      Runtime below), peak under each load, and idle again after the load.
//
// Once per run, before any load: the CPU of one RS256 signature in this process. Every token and
// refresh grant signs its ID token the same way, on the threadpool. Machines differ in it as they
// do in argon2id, so it helps to compare refresh figures from different machines.
//
// The server runs in a child process (bench/server.ts) so the load generator neither distorts
// its memory nor hides in its CPU figures; both still share this machine's cores. The SMS
// gateway's CPU counts as the load generator's.
//
// Environment: BENCH_SECONDS (measured seconds per phase, default 10), BENCH_WARMUP_SECONDS
// (default 10: after 2 s, a slow machine's server was still warming up, its logins about 10%
// and a refresh phase run alone about 20% below their rates after 10 s), BENCH_CONCURRENCY
// (default 8), BENCH_DATABASES (default "sqlite,postgres"),
// BENCH_POSTGRES_URL (default VAKT_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test),
// BENCH_CPU_PROF=1 (write the server's V8 CPU profiles to bench-results/cpu-profiles/),
// BENCH_SERVER=tsx (put the load on the tsx server instead of the compiled one),
// BENCH_WORKERS=N (serve from N cluster workers, as `vakt start --workers N`; figures are summed),
// BENCH_SMS_ACCOUNTS (accounts with a phone number for the SMS journeys, default 1000),
// BENCH_PHASES (which of logins,steps,refresh,codes to run, default all four; for profiling one
// path).
import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { codeLimitsSchema } from '../src/config/schema.js';
import { CODE_LIFETIME_MS } from '../src/domain/one-time-codes.js';
import { createPasswordHasher, OWASP_ARGON2 } from '../src/domain/passwords.js';
import {
  formAction,
  formField,
  type Response as Page,
  UserAgent as TestUserAgent,
  type Transport,
} from '../test/helpers/http-client.js';
import { logInThroughPage } from '../test/helpers/login.js';
import { createScratchSchema } from '../test/helpers/postgres-schema.js';
import { RP, testTenant } from '../test/helpers/vakt.js';
import type { ParentMessage, PhaseStats, PhoneAccounts, ServerMessage } from './server.js';

// ---------------------------------------------------------------------------------------------
// Settings

function numberFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    console.error(`bench: ${name} must be a number >= ${min}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const SECONDS = numberFromEnv('BENCH_SECONDS', 10, 0.5);
const WARMUP_SECONDS = numberFromEnv('BENCH_WARMUP_SECONDS', 10, 0);
const CONCURRENCY = Math.floor(numberFromEnv('BENCH_CONCURRENCY', 8, 1));
const SMS_ACCOUNTS = Math.floor(numberFromEnv('BENCH_SMS_ACCOUNTS', 1000, 1));
const DATABASES = (process.env.BENCH_DATABASES ?? 'sqlite,postgres').split(',').map((s) => s.trim());
const POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ??
  process.env.VAKT_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const PHASES = new Set(
  (process.env.BENCH_PHASES ?? 'logins,steps,refresh,codes').split(',').map((s) => s.trim()),
);
const WORKERS = Math.floor(numberFromEnv('BENCH_WORKERS', 1, 1));
// Load goes to the compiled server by default: it is what `vakt start` runs (an installed package
// always; a checkout once `npm run build` has compiled the current sources, see bin/vakt.js).
const SERVER_RUNTIME: Runtime = process.env.BENCH_SERVER === 'tsx' ? 'tsx' : 'compiled';
const OTHER_RUNTIME: Runtime = SERVER_RUNTIME === 'tsx' ? 'compiled' : 'tsx';
const RESULTS_DIR = fileURLToPath(new URL('../bench-results/', import.meta.url));

const TARGETS = { loginShareOfArgon2: 0.8, refreshPerSecondSqlite: 1000, idleRssMb: 150 };

// The logins are made by several people, one after another in turn: as many accounts as twice
// the concurrent loops, so no two logins in flight are the same person's. (A guess takes its try
// on the typed identifier before it is checked, and 5 tries are free: eight loops logging in to
// one account at once were throttled as a burst of guesses would be.)
const IDENTIFIERS = Array.from({ length: CONCURRENCY * 2 }, (_, i) => `bench.user${i}@example.com`);
let nextLogin = 0;
const PASSWORD = `bench-${randomBytes(9).toString('base64url')}`;
const TENANT = testTenant();
const CLIENT = TENANT.clients.find((c) => c.id === 'web')!;
const CLIENT_AUTH = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT.id)}:${encodeURIComponent(CLIENT.secret!)}`).toString('base64')}`;
const REDIRECT_URI = `${RP}/callback`;

// The code phases. `sms`: the default limit windows (so a send makes the same look-ups as in a
// deployment with default limits), each allowing the schema's largest count, which no phase
// reaches. `limited`: one code per number a day, per IP address and country as generous.
const DEFAULT_LIMITS = codeLimitsSchema.parse({});
const generous = (windows: { seconds: number; max: number }[]) =>
  windows.map((window) => ({ ...window, max: 100_000 }));
const GENEROUS_LIMITS = {
  perIdentifier: generous(DEFAULT_LIMITS.perIdentifier),
  perIp: generous(DEFAULT_LIMITS.perIp),
  perCountry: generous(DEFAULT_LIMITS.perCountry),
};
const SMS_TENANT = testTenant({ slug: 'sms', displayName: 'Bench SMS', codeLimits: GENEROUS_LIMITS });
const LIMITED_TENANT = testTenant({
  slug: 'limited',
  displayName: 'Bench Limited',
  codeLimits: { ...GENEROUS_LIMITS, perIdentifier: [{ seconds: 86_400, max: 1 }] },
});
/** Norwegian mobile numbers +4790000000, +4790000001, …: distinct, so no number's limit matters. */
const SMS_PHONES: PhoneAccounts = { tenant: SMS_TENANT.slug, first: 4790000000, count: SMS_ACCOUNTS };
const LIMITED_PHONES: PhoneAccounts = { tenant: LIMITED_TENANT.slug, first: 4798000000, count: 1 };
const phoneNumber = (accounts: PhoneAccounts, index: number) =>
  `+${accounts.first + (index % accounts.count)}`;

// ---------------------------------------------------------------------------------------------
// Measuring a phase

interface LoadResult {
  /** Operations completed inside the measured window. */
  completed: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: Map<string, number>;
  windowMs: number;
  /** CPU time this process (the load generator) used during the window. */
  clientCpuMs: number;
  /** CPU time every process on the machine used during the window (from /proc/stat). */
  machineCpuMs: number;
  /** CPU time of the local PostgreSQL server's processes during the window, when watched. */
  databaseCpuMs?: number;
  /** The server's own account of the window, when a server was watched. */
  server?: PhaseStats;
}

interface Watch {
  server?: ServerProcess;
  /** Count the CPU of local `postgres` processes (Linux /proc) apart from other processes'. */
  postgres?: boolean;
  /** Have the server account its CPU per request (one loop only: see RequestCpu). */
  perRequest?: boolean;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Busy CPU milliseconds summed over all cores since boot. */
function machineBusyMs(): number {
  let busy = 0;
  for (const { times } of cpus()) busy += times.user + times.nice + times.sys + times.irq;
  return busy;
}

/** CPU that neither this process, the server nor a watched database used in the window, in cores. */
/** CPU milliseconds per local `postgres` process (Linux); empty where /proc cannot tell. */
function postgresCpuMs(): Map<number, number> {
  const byPid = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return byPid;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      // Fields after the command: state is the 3rd field of the line, utime the 14th, stime the 15th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byPid.set(Number(entry), ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS);
    } catch {
      // The process ended while we looked.
    }
  }
  return byPid;
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times: 100 on every mainstream build. */
const CLOCK_TICKS = 100;

function postgresCpuSince(start: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of postgresCpuMs()) total += ms - (start.get(pid) ?? 0);
  return total;
}

function othersCores(result: LoadResult): number {
  const ours = result.clientCpuMs + (result.server?.cpuMs ?? 0) + (result.databaseCpuMs ?? 0);
  return Math.max(0, result.machineCpuMs - ours) / result.windowMs;
}

/**
 * Runs `loops` concurrent loops of `operation` through a warm-up and then a measured window, and
 * counts what completes inside the window. CPU is read at the window's edges: this process's,
 * the machine's, and (when given) the server's.
 */
async function runLoops(
  loops: number,
  operation: (loop: number) => Promise<void>,
  { server, postgres, perRequest }: Watch = {},
): Promise<LoadResult> {
  const begin = performance.now();
  const windowStart = begin + WARMUP_SECONDS * 1000;
  const windowEnd = windowStart + SECONDS * 1000;
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let atStart:
    | { client: NodeJS.CpuUsage; machine: number; time: number; database?: Map<number, number> }
    | undefined;
  let atEnd:
    | { clientCpuMs: number; machineCpuMs: number; windowMs: number; databaseCpuMs?: number }
    | undefined;
  let serverStats: Promise<PhaseStats> | undefined;
  const startTimer = setTimeout(() => {
    server?.tell({ type: 'phase-start', ...(perRequest ? { perRequest } : {}) });
    atStart = {
      client: process.cpuUsage(),
      machine: machineBusyMs(),
      time: performance.now(),
      ...(postgres ? { database: postgresCpuMs() } : {}),
    };
  }, windowStart - begin);
  const endTimer = setTimeout(() => {
    const client = process.cpuUsage(atStart!.client);
    atEnd = {
      clientCpuMs: (client.user + client.system) / 1000,
      machineCpuMs: machineBusyMs() - atStart!.machine,
      windowMs: performance.now() - atStart!.time,
      ...(atStart!.database ? { databaseCpuMs: postgresCpuSince(atStart!.database) } : {}),
    };
    serverStats = server?.endPhase();
  }, windowEnd - begin);

  let failuresInARow = 0;
  const loop = async (index: number) => {
    while (performance.now() < windowEnd) {
      const t0 = performance.now();
      try {
        await operation(index);
        failuresInARow = 0;
        const t1 = performance.now();
        if (t1 >= windowStart && t1 <= windowEnd) latencies.push(t1 - t0);
      } catch (error) {
        const message = (error as Error).message.split('\n')[0]!.slice(0, 160);
        errors.set(message, (errors.get(message) ?? 0) + 1);
        // A loop whose state is broken (a dead refresh token) or a server that is down: stop.
        if ((error as { fatal?: boolean }).fatal || ++failuresInARow > 50) return;
      }
    }
  };
  await Promise.all(Array.from({ length: loops }, (_, i) => loop(i)));
  // Every loop may have stopped early (all failing): the window still has to close.
  while (!atEnd) await new Promise((resolve) => setTimeout(resolve, 50));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  latencies.sort((a, b) => a - b);
  const stats = await serverStats;
  return {
    completed: latencies.length,
    perSecond: latencies.length / (atEnd.windowMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    ...atEnd,
    ...(stats ? { server: stats } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The argon2id ceiling

/** Measured in this process while the server idles (watched, to show it does). */
async function measureArgon2Ceiling(watch: Watch): Promise<LoadResult> {
  const hasher = createPasswordHasher();
  const stored = await hasher.hash(PASSWORD);
  return runLoops(
    CONCURRENCY,
    async () => {
      if (!(await hasher.verify(stored, PASSWORD))) throw new Error('argon2 verification failed');
    },
    watch,
  );
}

let rs256SignatureMs = Number.NaN;

/**
 * The CPU of one RS256 signature on this machine (2048-bit key), signed through WebCrypto as
 * oidc-provider's jose signs an ID token: part of every token and refresh grant, run on the
 * threadpool. Measured in this process before any load.
 */
async function measureRs256Signature(): Promise<number> {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const { privateKey } = await webcrypto.subtle.generateKey(
    { ...algorithm, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    false,
    ['sign', 'verify'],
  );
  // About the size of an ID token's header and claims.
  const signingInput = new TextEncoder().encode('e'.repeat(600));
  const sign = () => webcrypto.subtle.sign(algorithm, privateKey, signingInput);
  for (let i = 0; i < 20; i++) await sign();
  const signatures = 200;
  const start = process.cpuUsage();
  for (let i = 0; i < signatures; i++) await sign();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / signatures;
}

// ---------------------------------------------------------------------------------------------
// The compiled server

/**
 * How the server runs: `tsx` as `vakt start` does in a source checkout (bin/vakt.js loads the
 * TypeScript through tsx), or `compiled` as an installed package runs dist/. The compiled copy is
 * src/ and bench/server.ts transpiled with tsconfig.build.json's options into a temporary
 * directory, the way `npm run build` emits them.
 */
type Runtime = 'tsx' | 'compiled';

let compiled: Promise<string> | undefined;
const buildDirs: string[] = [];

function removeBuilds(): void {
  for (const root of buildDirs.splice(0)) {
    // The node_modules link first, so that nothing can follow it.
    rmSync(join(root, 'node_modules'), { force: true });
    rmSync(root, { recursive: true, force: true });
  }
}

function compiledServer(): Promise<string> {
  compiled ??= (async () => {
    const { default: ts } = await import('typescript');
    const repo = fileURLToPath(new URL('../', import.meta.url));
    const root = mkdtempSync(join(tmpdir(), 'vakt-bench-build-'));
    buildDirs.push(root);
    const config = ts.readConfigFile(join(repo, 'tsconfig.build.json'), ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, repo);
    // transpileModule cannot see package.json's "type": every file is an ES module here.
    const compilerOptions = {
      ...options,
      module: ts.ModuleKind.ESNext,
      sourceMap: false,
      declaration: false,
    };
    const sources = [
      ...readdirSync(join(repo, 'src'), { recursive: true, encoding: 'utf8' }).map((f) => join('src', f)),
      join('bench', 'server.ts'),
    ].filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'));
    for (const file of sources) {
      const { outputText } = ts.transpileModule(readFileSync(join(repo, file), 'utf8'), {
        compilerOptions,
        fileName: file,
      });
      const out = join(root, file.replace(/\.tsx?$/, '.js'));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, outputText);
    }
    cpSync(join(repo, 'src', 'ui', 'static'), join(root, 'src', 'ui', 'static'), { recursive: true });
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
    return join(root, 'bench', 'server.js');
  })();
  return compiled;
}

// ---------------------------------------------------------------------------------------------
// The server process

class ServerProcess {
  private waiting = new Map<string, (message: ServerMessage) => void>();
  private exited: Promise<number | null>;
  ready!: Extract<ServerMessage, { type: 'ready' }>;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: ServerMessage) => {
      const resolve = this.waiting.get(message.type);
      this.waiting.delete(message.type);
      resolve?.(message);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(
    runtime: Runtime,
    databaseUrl: string,
    dataDir: string,
    smsWebhookUrl: string,
    profile?: string,
  ): Promise<ServerProcess> {
    const execArgv = runtime === 'tsx' ? ['--import', 'tsx'] : [];
    if (profile) {
      // One file per thread (tsx's loader has its own); the main thread's is the largest.
      const dir = join(
        RESULTS_DIR,
        'cpu-profiles',
        `${profile}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      );
      mkdirSync(dir, { recursive: true });
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
      console.log(`  server CPU profiles go to ${dir} (event-loop figures mean nothing while profiling)`);
    }
    const script =
      runtime === 'tsx' ? fileURLToPath(new URL('./server.ts', import.meta.url)) : await compiledServer();
    const child = fork(script, [], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        NODE_NO_WARNINGS: '1',
        BENCH_DATABASE_URL: databaseUrl,
        BENCH_DATA_DIR: dataDir,
        BENCH_IDENTIFIERS: JSON.stringify(IDENTIFIERS),
        BENCH_PASSWORD: PASSWORD,
        BENCH_TENANT_CONFIG: JSON.stringify({ tenants: [TENANT, SMS_TENANT, LIMITED_TENANT] }),
        BENCH_PHONE_ACCOUNTS: JSON.stringify([SMS_PHONES, LIMITED_PHONES]),
        VAKT_SMS_WEBHOOK_URL: smsWebhookUrl,
      },
    });
    const server = new ServerProcess(child);
    const first = await Promise.race([
      new Promise<ServerMessage>((resolve) => {
        server.waiting.set('ready', resolve);
        server.waiting.set('error', resolve);
      }),
      server.exited.then((code): ServerMessage => ({ type: 'error', message: `server exited with ${code}` })),
    ]);
    if (first.type !== 'ready') {
      child.kill();
      throw new Error(`the server did not start: ${first.type === 'error' ? first.message : first.type}`);
    }
    server.ready = first;
    return server;
  }

  private ask<T extends ServerMessage['type']>(
    message: ParentMessage,
    reply: T,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const answer = new Promise<Extract<ServerMessage, { type: T }>>((resolve) => {
      this.waiting.set(reply, resolve as (message: ServerMessage) => void);
      this.child.send(message);
    });
    const died = this.exited.then((code): never => {
      throw new Error(`the server exited (${code}) before answering ${message.type}`);
    });
    return Promise.race([answer, died]);
  }

  tell(message: ParentMessage): void {
    this.child.send(message);
  }

  sample() {
    return this.ask({ type: 'sample' }, 'sample');
  }

  /** Asks for the stats of the phase the last `phase-start` began. */
  endPhase(): Promise<PhaseStats> {
    return this.ask({ type: 'phase-end' }, 'phase').then((m) => m.stats);
  }

  async stop(): Promise<void> {
    if (!this.child.connected) return;
    this.child.send({ type: 'stop' } satisfies ParentMessage);
    const timeout = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timeout);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------
// Databases

interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

function isLocal(url: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function createDatabase(kind: string, dir: string): Promise<BenchDatabase> {
  if (kind === 'sqlite') return { url: join(dir, 'vakt.db'), drop: async () => {} };
  return createScratchSchema(POSTGRES_URL, 'vakt_bench');
}

// ---------------------------------------------------------------------------------------------
// The load generator's HTTP client

// The load generator shares the server's two cores, so every millisecond it spends is taken from
// the server. fetch (undici) costs about 1 ms of CPU per request here; node:http over kept-alive
// connections a fraction of that. The test suite's user agent (cookie jar, manual redirects) runs
// over it unchanged.
const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

const httpTransport: Transport = (url, init) =>
  new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      {
        method: init.method,
        headers:
          init.body === undefined
            ? init.headers
            : { ...init.headers, 'content-length': Buffer.byteLength(init.body) },
        agent: keepAlive,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const headers = new Headers();
          const raw = incoming.rawHeaders;
          for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
          resolve({
            status: incoming.statusCode ?? 0,
            headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(init.body);
  });

class UserAgent extends TestUserAgent {
  constructor(extraHeaders: Record<string, string> = {}) {
    super(extraHeaders, httpTransport);
  }
}

// ---------------------------------------------------------------------------------------------
// The client side of a login

interface Endpoints {
  issuer: string;
  authorization: string;
  token: string;
}

async function discover(issuer: string): Promise<Endpoints> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`discovery answered ${response.status}`);
  const metadata = (await response.json()) as { authorization_endpoint: string; token_endpoint: string };
  return { issuer, authorization: metadata.authorization_endpoint, token: metadata.token_endpoint };
}

interface TokenResponse {
  access_token?: string;
  id_token?: string;
  refresh_token?: string;
  error?: string;
  error_description?: string;
}

async function tokenRequest(
  agent: UserAgent,
  endpoints: Endpoints,
  form: Record<string, string>,
): Promise<TokenResponse> {
  const response = await agent.request(endpoints.token, { form, headers: { authorization: CLIENT_AUTH } });
  let body: TokenResponse;
  try {
    body = JSON.parse(response.body) as TokenResponse;
  } catch {
    throw new Error(`token endpoint answered ${response.status} with no JSON`);
  }
  if (response.status !== 200)
    throw new Error(
      `token endpoint answered ${response.status}: ${body.error} ${body.error_description ?? ''}`,
    );
  return body;
}

/** An authorization request of the confidential first-party client, with PKCE S256. */
function authorization(endpoints: Endpoints, options: { scope: string; consent?: boolean }) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(endpoints.authorization);
  authorize.search = new URLSearchParams({
    client_id: CLIENT.id,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: options.scope,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(options.consent ? { prompt: 'consent' } : {}),
  }).toString();
  return { url: authorize.href, verifier, state };
}

/** One complete password login, as a browser and a confidential relying party do it together. */
async function passwordLogin(
  endpoints: Endpoints,
  options: { scope: string; consent?: boolean },
): Promise<TokenResponse> {
  const agent = new UserAgent();
  const { url, verifier, state } = authorization(endpoints, options);
  const { callback } = await logInThroughPage(agent, url, {
    identifier: IDENTIFIERS[nextLogin++ % IDENTIFIERS.length]!,
    password: PASSWORD,
  });
  const code = callback.searchParams.get('code');
  if (
    callback.origin + callback.pathname !== REDIRECT_URI ||
    !code ||
    callback.searchParams.get('state') !== state
  ) {
    throw new Error(`unexpected redirect ${callback.href.slice(0, 200)}`);
  }
  const tokens = await tokenRequest(agent, endpoints, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
  if (typeof tokens.id_token !== 'string' || tokens.id_token.split('.').length !== 3)
    throw new Error('no id_token in the token response');
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// The SMS gateway and the code journeys

/**
 * A real HTTP server in this process standing in for an SMS gateway: it answers 200 to every
 * POST and counts the messages, by tenant. Its CPU is part of the load generator's.
 */
interface SmsGateway {
  url: string;
  /** Messages taken so far: all, or one tenant's. */
  received(tenant?: string): number;
  close(): Promise<void>;
}

async function startSmsGateway(): Promise<SmsGateway> {
  const byTenant = new Map<string, number>();
  let total = 0;
  const server = createServer((request, response) => {
    if (request.method !== 'POST') {
      response.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let tenant = '(unreadable)';
      try {
        tenant = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tenant?: unknown }).tenant);
      } catch {
        // Counted all the same: the gateway took it.
      }
      total++;
      byTenant.set(tenant, (byTenant.get(tenant) ?? 0) + 1);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`,
    received: (tenant) => (tenant === undefined ? total : (byTenant.get(tenant) ?? 0)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A browser without JavaScript: it says which site a POST comes from, as browsers do. */
const browser = () => new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });

function alertOf(page: Page): string {
  const match = /role="alert"[^>]*>([^<]*)</.exec(page.body);
  return (match?.[1] ?? '')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .trim();
}

function expectStatus(page: Page, status: number, what: string): void {
  if (page.status === status) return;
  const alert = alertOf(page);
  throw new Error(`${what} answered ${page.status}, not ${status}${alert ? `: ${alert}` : ''}`);
}

function submit(agent: UserAgent, page: Page, contains: string, form: Record<string, string>) {
  const action = new URL(formAction(page.body, contains), page.url).href;
  return agent.request(action, { form: { csrf: formField(page.body, 'csrf'), ...form } });
}

/** A page that asks where the reset code goes, and until when its sealed state holds. */
interface ChoicePage {
  agent: UserAgent;
  page: Page;
  /** performance.now() after which the page is too old to send from (a minute to spare). */
  until: number;
}

/**
 * Authorize → login page → "Forgot your password?" → the number typed → the page that asks
 * where the code goes (the account's one verified number).
 */
async function openForgot(endpoints: Endpoints, phone: string): Promise<ChoicePage> {
  const agent = browser();
  const origin = new URL(endpoints.issuer).origin;
  const login = await agent.follow(authorization(endpoints, { scope: 'openid' }).url, origin);
  expectStatus(login, 200, 'the authorization request');
  const link = /href="([^"]*\/forgot)" id="forgot-password"/.exec(login.body);
  if (!link) throw new Error('the login page has no "Forgot your password?" link');
  const start = await agent.request(new URL(link[1]!, login.url).href);
  expectStatus(start, 200, 'GET /forgot');
  const page = await submit(agent, start, '/forgot', { identifier: phone });
  expectStatus(page, 200, 'POST /forgot');
  return { agent, page, until: performance.now() + CODE_LIFETIME_MS - 60_000 };
}

/** POST /forgot/send: the first (the only) choice. */
function sendCode({ agent, page }: ChoicePage): Promise<Page> {
  return submit(agent, page, '/forgot/send', { state: formField(page.body, 'state'), choice: '0' });
}

/** What the gateway took beside what the journeys were told, per code phase. */
interface CodeCounts {
  /** POST /forgot/send answered 303 in the SMS journeys (warm-up included). */
  journeysSent: number;
  /** Messages the gateway took while the SMS journeys ran. */
  journeysReceived: number;
  acceptedSent: number;
  acceptedReceived: number;
  /** POST /forgot/send answered 429 in the refused phase (warm-up included). */
  refused: number;
  /** Messages the gateway took while the refused phase ran: must be none. */
  refusedReceived: number;
  /** The `sms` tenant's codes after the accepted sends: each send's limit look-ups read them all. */
  smsTenantCodes: number;
}

// ---------------------------------------------------------------------------------------------
// One database

interface DatabaseResult {
  kind: string;
  skipped?: string;
  failed?: string;
  argon2?: LoadResult;
  logins?: LoadResult;
  /** Password logins one at a time, with the server's CPU per request. */
  loginSteps?: LoadResult;
  refresh?: LoadResult;
  /** Complete "forgot password → code by SMS" journeys; each sends one code. */
  smsJourneys?: LoadResult;
  /** POST /forgot/send alone, accepted: a code written and handed to the gateway. */
  acceptedSends?: LoadResult;
  /** POST /forgot/send alone, refused by a limit: 429 with Retry-After. */
  refusedSends?: LoadResult;
  codes?: CodeCounts;
  /** Idle RSS (after start and one discovery request) per runtime; RSS after the load. */
  idleRss?: Partial<Record<Runtime, number>>;
  afterLoadRss?: number;
}

const MB = 1024 * 1024;
const CORES = availableParallelism();
/** Other processes busier than this (in cores) during a phase make its throughput doubtful. */
const NOISY = 0.25;
const fmt = (n: number | undefined, digits = 1) =>
  n === undefined || Number.isNaN(n) || !Number.isFinite(n) ? '—' : n.toFixed(digits);
const pct = (share: number | undefined) =>
  share === undefined || Number.isNaN(share) ? '—' : `${Math.round(share * 100)}%`;
const perOp = (cpuMs: number | undefined, result: LoadResult | undefined) =>
  cpuMs === undefined || !result?.completed ? Number.NaN : cpuMs / result.completed;

function describeErrors(errors: Map<string, number>): string {
  return [...errors].map(([message, count]) => `${count}× ${message}`).join('; ');
}

function describePhase(name: string, result: LoadResult): void {
  console.log(
    `    ${name.padEnd(16)} ${fmt(result.perSecond).padStart(7)}/s   p50 ${fmt(result.p50)} ms   p99 ${fmt(result.p99)} ms` +
      `   (${result.completed} in ${fmt(result.windowMs / 1000)} s)`,
  );
  const { server } = result;
  const cpu = [
    `load generator ${pct(result.clientCpuMs / result.windowMs)} of a core (${fmt(perOp(result.clientCpuMs, result))} ms/op)`,
    server
      ? `server ${pct(server.cpuMs / result.windowMs)} (${fmt(perOp(server.cpuMs, result))} ms/op, event loop busy ${pct(server.eventLoopUtilization)}, peak RSS ${fmt(server.peakRss / MB)} MB)`
      : undefined,
    result.databaseCpuMs !== undefined
      ? `postgres ${pct(result.databaseCpuMs / result.windowMs)} (${fmt(perOp(result.databaseCpuMs, result))} ms/op)`
      : undefined,
    `other processes ${pct(othersCores(result))}`,
  ].filter(Boolean);
  console.log(`    ${''.padEnd(16)} CPU: ${cpu.join('; ')}`);
  if (result.errors.size > 0) console.log(`    ${''.padEnd(16)} errors: ${describeErrors(result.errors)}`);
  if (othersCores(result) > NOISY) {
    console.log(
      `    ${''.padEnd(16)} WARNING: other processes used ${fmt(othersCores(result), 2)} cores during this phase; its rate is understated`,
    );
  }
}

/** bench/server.ts's key for statements sent between requests (a value import would run it). */
const OUTSIDE_REQUESTS = 'outside requests';

/**
 * The server's CPU per login, request by request, from a phase of one loop: each kind's CPU
 * per login (its sum over the logins that reached the token endpoint), and what no request
 * held (HTTP parsing before the request event, timers, garbage collection between requests).
 */
function describeLoginSteps(r: LoadResult, argon2: LoadResult | undefined): void {
  const requests = r.server?.requests;
  const logins = requests?.['POST /token']?.count;
  if (!requests || !logins) return;
  const perLogin = (cpuMs: number) => cpuMs / logins;
  // PostgreSQL: the statements (round trips) per login, beside the CPU.
  const statements = (n: number | undefined) =>
    n === undefined ? '' : `  ${fmt(n / logins, 1)} statements/login`;
  const kinds = Object.entries(requests).filter(([kind]) => kind !== OUTSIDE_REQUESTS);
  let held = 0;
  let sent: number | undefined;
  for (const [kind, { count, cpuMs, statements: n }] of kinds.sort((a, b) => b[1].cpuMs - a[1].cpuMs)) {
    held += cpuMs;
    if (n !== undefined) sent = (sent ?? 0) + n;
    const note =
      kind === 'POST /interaction/:id/login' && argon2
        ? ` (argon2id verify: ${fmt(perOp(argon2.clientCpuMs, argon2), 2)} ms)`
        : '';
    console.log(
      `    ${''.padEnd(16)}   ${kind.padEnd(32)} ${fmt(count / logins, 2)}/login  ${fmt(perLogin(cpuMs), 2).padStart(6)} ms/login${statements(n)}${note}`,
    );
  }
  const total = r.server!.cpuMs;
  const outside = requests[OUTSIDE_REQUESTS]?.statements;
  const inAll = sent === undefined ? '' : `, ${fmt((sent + (outside ?? 0)) / logins, 1)} statements`;
  console.log(
    `    ${''.padEnd(16)}   ${OUTSIDE_REQUESTS.padEnd(32)} ${''.padEnd(7)} ${fmt(perLogin(total - held), 2).padStart(6)} ms/login${statements(outside)}` +
      ` (of ${fmt(perLogin(total), 2)} ms/login in all${inAll}, over the ${logins} logins that reached the token endpoint)`,
  );
}

/**
 * What the CPU costs per operation imply for a server with the machine's cores to itself (the
 * load generator elsewhere): a CPU budget, not a measurement.
 */
function describeProjection(r: DatabaseResult): void {
  const argon2Ms = perOp(r.argon2?.clientCpuMs, r.argon2);
  const loginMs = perOp(r.logins?.server?.cpuMs, r.logins);
  const refreshMs = perOp(r.refresh?.server?.cpuMs, r.refresh);
  if ([argon2Ms, loginMs, refreshMs].some(Number.isNaN)) return;
  // A local PostgreSQL spends the same cores.
  const loginDbMs = perOp(r.logins?.databaseCpuMs ?? 0, r.logins);
  const refreshDbMs = perOp(r.refresh?.databaseCpuMs ?? 0, r.refresh);
  const db = (ms: number) => (r.logins?.databaseCpuMs === undefined ? '' : ` + ${fmt(ms, 2)} ms in postgres`);
  const ceiling = (CORES * 1000) / argon2Ms;
  // argon2id runs on the threadpool (every core); most of the rest of a login on an event loop.
  const loops = Math.min(WORKERS, CORES);
  const logins = Math.min(
    (CORES * 1000) / (loginMs + loginDbMs),
    (loops * 1000) / Math.max(loginMs - argon2Ms, 0.001),
  );
  console.log(
    `  CPU budget: argon2id ${fmt(argon2Ms)} ms/verify (${fmt(ceiling)}/s on ${CORES} idle cores); a login costs the server` +
      ` ${fmt(loginMs)} ms${db(loginDbMs)}, ${fmt(loginMs - argon2Ms)} ms of it besides argon2id -> about ${fmt(logins)}/s =` +
      ` ${pct(logins / ceiling)} of the ceiling with the client elsewhere; a refresh grant costs ${fmt(refreshMs, 2)} ms` +
      ` (${fmt(rs256SignatureMs, 2)} ms of it the ID token's RS256 signature, on the threadpool)` +
      `${db(refreshDbMs)} -> about ${fmt(1000 / (refreshMs + refreshDbMs), 0)}/s per core (one event loop uses one),` +
      ` ${fmt((CORES * 1000) / (refreshMs + refreshDbMs), 0)}/s if all ${CORES} served it`,
  );
  // The logins target on this machine, as CPU: at 80% of the ceiling a login may cost 1/0.8 of
  // an argon2id verify in all, so everything besides argon2id (the server's other work, a
  // local PostgreSQL's and the load generator's, all on these cores) must fit in a quarter of it.
  const clientMs = perOp(r.logins?.clientCpuMs, r.logins);
  console.log(
    `  logins at 80% of the ceiling leave ${fmt(argon2Ms * 0.25, 2)} ms of CPU per login besides argon2id for the` +
      ` server, the database and the load generator together; this run spent ${fmt(loginMs - argon2Ms, 2)} ms` +
      `${db(loginDbMs)} + ${fmt(clientMs, 2)} ms in the load generator`,
  );
}

/** "refused: X ms CPU/request vs accepted: Y ms": the server's, and a local PostgreSQL's beside. */
function describeRefusedCost(r: DatabaseResult): void {
  const { acceptedSends: accepted, refusedSends: refused } = r;
  if (!accepted || !refused) return;
  const acceptedMs = perOp(accepted.server?.cpuMs, accepted);
  const refusedMs = perOp(refused.server?.cpuMs, refused);
  const db = (x: LoadResult) =>
    x.databaseCpuMs === undefined ? '' : ` (+ ${fmt(perOp(x.databaseCpuMs, x), 2)} ms in postgres)`;
  console.log(
    `  refused: ${fmt(refusedMs, 2)} ms CPU/request${db(refused)} vs accepted: ${fmt(acceptedMs, 2)} ms${db(accepted)}` +
      ` -> a refusal costs ${pct(refusedMs / acceptedMs)} of an accepted send (${fmt(acceptedMs / refusedMs)}× cheaper);` +
      ` ${fmt(refused.perSecond)} refused/s vs ${fmt(accepted.perSecond)} accepted/s`,
  );
}

/** Refresh-token grants, each loop redeeming its own rotating refresh token. */
async function measureRefresh(endpoints: Endpoints, watch: Watch, result: DatabaseResult): Promise<void> {
  // One refresh token per loop: they rotate, so two loops must never share one.
  const refreshTokens = await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const tokens = await passwordLogin(endpoints, { scope: 'openid offline_access', consent: true });
      if (!tokens.refresh_token)
        throw new Error('no refresh token for scope offline_access with prompt=consent');
      return tokens.refresh_token;
    }),
  );
  const agent = new UserAgent();
  result.refresh = await runLoops(
    CONCURRENCY,
    async (loop) => {
      let tokens: TokenResponse;
      try {
        tokens = await tokenRequest(agent, endpoints, {
          grant_type: 'refresh_token',
          refresh_token: refreshTokens[loop]!,
        });
      } catch (error) {
        // The token may or may not be spent; this loop cannot go on with it.
        throw Object.assign(error as Error, { fatal: true });
      }
      if (!tokens.refresh_token || !tokens.access_token) {
        throw Object.assign(new Error('no rotated refresh token'), { fatal: true });
      }
      refreshTokens[loop] = tokens.refresh_token;
    },
    watch,
  );
  describePhase('refresh grants', result.refresh);
}

/**
 * The code phases, on the tenants `sms` and `limited`:
 * - complete "forgot password → code by SMS" journeys, one number after another;
 * - POST /forgot/send alone, each loop resending from its own choice page, accepted;
 * - the same POST on `limited` after its one allowed code: refused with 429 and Retry-After.
 */
async function measureCodePhases(
  serverUrl: string,
  watch: Watch,
  gateway: SmsGateway,
  result: DatabaseResult,
): Promise<void> {
  const sms = await discover(`${serverUrl}/t/${SMS_TENANT.slug}`);
  const limited = await discover(`${serverUrl}/t/${LIMITED_TENANT.slug}`);
  const counts: CodeCounts = {
    journeysSent: 0,
    journeysReceived: 0,
    acceptedSent: 0,
    acceptedReceived: 0,
    refused: 0,
    refusedReceived: 0,
    smsTenantCodes: 0,
  };
  result.codes = counts;
  // The gateway serves every database in the run: this server's codes are what it takes from now.
  const smsTenantBefore = gateway.received(SMS_TENANT.slug);

  // 1. Whole journeys, each to the next number.
  let next = 0;
  let before = gateway.received();
  result.smsJourneys = await runLoops(
    CONCURRENCY,
    async () => {
      const choice = await openForgot(sms, phoneNumber(SMS_PHONES, next++));
      const sent = await sendCode(choice);
      expectStatus(sent, 303, 'POST /forgot/send');
      counts.journeysSent++;
      const codePage = await choice.agent.request(new URL(sent.headers.get('location')!, sent.url).href);
      expectStatus(codePage, 200, 'the code page');
    },
    watch,
  );
  counts.journeysReceived = gateway.received() - before;
  describePhase('SMS journeys', result.smsJourneys);
  const journeysMatch = counts.journeysReceived === counts.journeysSent;
  console.log(
    `    ${''.padEnd(16)} ${journeysMatch ? '' : 'ERROR: '}the gateway took ${counts.journeysReceived} messages;` +
      ` the journeys were told ${counts.journeysSent} codes were sent${journeysMatch ? '' : ' -- they should be equal'}`,
  );

  // 2. Accepted sends alone: each loop keeps its choice page (a fresh one when it grows old).
  const choices = await Promise.all(
    Array.from({ length: CONCURRENCY }, () => openForgot(sms, phoneNumber(SMS_PHONES, next++))),
  );
  before = gateway.received();
  result.acceptedSends = await runLoops(
    CONCURRENCY,
    async (loop) => {
      if (performance.now() > choices[loop]!.until) {
        choices[loop] = await openForgot(sms, phoneNumber(SMS_PHONES, next++));
      }
      expectStatus(await sendCode(choices[loop]!), 303, 'POST /forgot/send');
      counts.acceptedSent++;
    },
    watch,
  );
  counts.acceptedReceived = gateway.received() - before;
  counts.smsTenantCodes = gateway.received(SMS_TENANT.slug) - smsTenantBefore;
  describePhase('accepted sends', result.acceptedSends);
  const acceptedMatch = counts.acceptedReceived === counts.acceptedSent;
  console.log(
    `    ${''.padEnd(16)} ${acceptedMatch ? '' : 'ERROR: '}the gateway took ${counts.acceptedReceived} messages` +
      ` for ${counts.acceptedSent} accepted sends; the tenant has sent ${counts.smsTenantCodes} codes, all from one` +
      ` IP address to one country, which every send's limit look-ups read`,
  );

  // 3. Refused sends: the number's one code a day is spent first.
  const phone = phoneNumber(LIMITED_PHONES, 0);
  const first = await sendCode(await openForgot(limited, phone));
  // 429 only if this database already spent it; a fresh one sends.
  if (first.status !== 303 && first.status !== 429) expectStatus(first, 303, 'the first POST /forgot/send');
  const refusing = await Promise.all(Array.from({ length: CONCURRENCY }, () => openForgot(limited, phone)));
  before = gateway.received();
  result.refusedSends = await runLoops(
    CONCURRENCY,
    async (loop) => {
      if (performance.now() > refusing[loop]!.until) refusing[loop] = await openForgot(limited, phone);
      const refused = await sendCode(refusing[loop]!);
      expectStatus(refused, 429, 'POST /forgot/send over the limit');
      if (!(Number(refused.headers.get('retry-after')) > 0)) throw new Error('a 429 without Retry-After');
      counts.refused++;
    },
    watch,
  );
  counts.refusedReceived = gateway.received() - before;
  describePhase('refused sends', result.refusedSends);
  if (counts.refusedReceived > 0) {
    console.log(
      `    ${''.padEnd(16)} WARNING: the gateway took ${counts.refusedReceived} messages during the refused phase;` +
        ' a refused request must deliver nothing',
    );
  } else {
    console.log(`    ${''.padEnd(16)} the gateway took no message during the ${counts.refused} refusals`);
  }
  describeRefusedCost(result);
}

async function benchDatabase(
  kind: string,
  gateway: SmsGateway,
  cleanups: Set<() => Promise<void>>,
): Promise<DatabaseResult> {
  console.log(`\n== ${kind} ==`);
  if (kind !== 'sqlite' && kind !== 'postgres') return { kind, skipped: `unknown database kind "${kind}"` };
  if (kind === 'postgres') {
    const problem = await postgresProblem();
    if (problem) {
      const skipped = `PostgreSQL did not answer at ${POSTGRES_URL} (${problem}): SKIPPED`;
      console.log(`  ${skipped}`);
      return { kind, skipped };
    }
  }
  const dir = mkdtempSync(join(tmpdir(), `vakt-bench-${kind}-`));
  const database = await createDatabase(kind, dir);
  let server: ServerProcess | undefined;
  const cleanup = async () => {
    server?.kill();
    await database.drop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(cleanup);
  const result: DatabaseResult = { kind, idleRss: {} };

  /** Starts a server, makes one discovery request (it builds the tenant's provider), settles. */
  async function startIdle(runtime: Runtime, profile?: string) {
    const started = await ServerProcess.start(runtime, database.url, dir, gateway.url, profile);
    server = started;
    const endpoints = await discover(started.ready.issuer);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle = await started.sample();
    result.idleRss![runtime] = idle.rss;
    console.log(
      `  ${runtime.padEnd(8)} server: RSS at ready ${fmt(started.ready.rss / MB)} MB, idle after discovery ${fmt(idle.rss / MB)} MB` +
        ` (V8 heap ${fmt(idle.heapUsed / MB)} of ${fmt(idle.heapTotal / MB)} MB)`,
    );
    return { server: started, endpoints };
  }

  try {
    // The other runtime only for its idle memory; the first start migrates and seeds the database.
    const probe = await startIdle(OTHER_RUNTIME);
    await probe.server.stop();
    const loaded = await startIdle(SERVER_RUNTIME, CPU_PROF ? kind : undefined);
    server = loaded.server;
    const { endpoints } = loaded;
    console.log(
      `  load on the ${SERVER_RUNTIME} server, pid ${server.ready.pid} (${server.ready.processes} process(es)), ${server.ready.url}` +
        ` (UV_THREADPOOL_SIZE ${server.ready.threadpool}, ${server.ready.hashConcurrency} password hash(es) at once per process);` +
        ` ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per phase, ${CONCURRENCY} concurrent`,
    );

    const watch: Watch = { server, postgres: kind === 'postgres' && isLocal(POSTGRES_URL) };
    result.argon2 = await measureArgon2Ceiling(watch);
    describePhase('argon2id verify', result.argon2);

    if (PHASES.has('logins')) {
      result.logins = await runLoops(
        CONCURRENCY,
        () => passwordLogin(endpoints, { scope: 'openid' }).then(() => {}),
        watch,
      );
      describePhase('password logins', result.logins);
    }
    if (PHASES.has('steps')) {
      result.loginSteps = await runLoops(
        1,
        () => passwordLogin(endpoints, { scope: 'openid' }).then(() => {}),
        { ...watch, perRequest: true },
      );
      describePhase('logins, 1 loop', result.loginSteps);
      describeLoginSteps(result.loginSteps, result.argon2);
    }
    if (PHASES.has('refresh')) await measureRefresh(endpoints, watch, result);
    if (PHASES.has('codes')) await measureCodePhases(server.ready.url, watch, gateway, result);

    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = await server.sample();
    result.afterLoadRss = after.rss;
    console.log(`  server RSS after the load, idle again: ${fmt(after.rss / MB)} MB`);
    describeProjection(result);
    await server.stop();
  } catch (error) {
    result.failed = (error as Error).message;
    console.log(`  FAILED: ${result.failed}`);
  } finally {
    await cleanup();
    cleanups.delete(cleanup);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The report

const verdict = (ok: boolean) => (ok ? 'PASS' : 'BELOW');

function printTable(results: DatabaseResult[]): void {
  const ran = results.filter((r) => r.argon2);
  if (ran.length === 0) {
    console.log('\nNo database was measured.');
    for (const r of results) console.log(`${r.kind}: ${r.skipped ?? `FAILED: ${r.failed}`}`);
    return;
  }
  const rows: string[][] = [];
  const row = (label: string, cell: (r: DatabaseResult) => string, target = '') =>
    rows.push([label, ...ran.map(cell), target]);
  const both = (r: DatabaseResult, f: (x: LoadResult) => string) =>
    r.logins && r.refresh ? `${f(r.logins)} / ${f(r.refresh)}` : '—';

  row(`argon2id verify/s (c=${CONCURRENCY})`, (r) => fmt(r.argon2?.perSecond));
  row(
    'password logins/s',
    (r) => {
      if (!r.logins || !r.argon2) return '—';
      const share = r.logins.perSecond / r.argon2.perSecond;
      return `${fmt(r.logins.perSecond)} = ${pct(share)} ${verdict(share >= TARGETS.loginShareOfArgon2)}`;
    },
    `>= ${pct(TARGETS.loginShareOfArgon2)} of argon2id/s`,
  );
  row('  login p50 / p99 ms', (r) => (r.logins ? `${fmt(r.logins.p50, 0)} / ${fmt(r.logins.p99, 0)}` : '—'));
  row(
    'refresh grants/s',
    (r) => {
      if (!r.refresh) return '—';
      const marker =
        r.kind === 'sqlite' ? ` ${verdict(r.refresh.perSecond >= TARGETS.refreshPerSecondSqlite)}` : '';
      return `${fmt(r.refresh.perSecond)}${marker}`;
    },
    `>= ${TARGETS.refreshPerSecondSqlite.toLocaleString('en')}/s on sqlite`,
  );
  row('  refresh p50 / p99 ms', (r) => (r.refresh ? `${fmt(r.refresh.p50)} / ${fmt(r.refresh.p99)}` : '—'));
  // The target is for what production runs (`vakt start`: compiled); tsx is `vakt dev`'s runtime.
  row(
    'server idle RSS MB, compiled (start)',
    (r) => {
      const rss = r.idleRss?.compiled;
      return rss === undefined ? '—' : `${fmt(rss / MB)} ${verdict(rss / MB < TARGETS.idleRssMb)}`;
    },
    `< ${TARGETS.idleRssMb} MB`,
  );
  row('server idle RSS MB, tsx (dev)', (r) => {
    const rss = r.idleRss?.tsx;
    return rss === undefined ? '—' : fmt(rss / MB);
  });
  row(`server peak RSS MB login / refresh`, (r) =>
    both(r, (x) => fmt((x.server?.peakRss ?? Number.NaN) / MB, 0)),
  );
  row('server RSS MB after the load', (r) => fmt(r.afterLoadRss && r.afterLoadRss / MB));
  row('CPU ms per argon2id verify', (r) => fmt(perOp(r.argon2?.clientCpuMs, r.argon2)));
  row('CPU ms per RS256 signature', () => fmt(rs256SignatureMs, 2));
  row('server CPU ms per login / refresh', (r) => both(r, (x) => fmt(perOp(x.server?.cpuMs, x), 2)));
  row('server CPU, cores, login / refresh', (r) =>
    both(r, (x) => fmt((x.server?.cpuMs ?? Number.NaN) / x.windowMs, 2)),
  );
  row('server loop busy login / refresh', (r) => both(r, (x) => pct(x.server?.eventLoopUtilization)));
  row('postgres CPU, cores, login / refresh', (r) =>
    r.logins?.databaseCpuMs === undefined
      ? '—'
      : both(r, (x) => fmt((x.databaseCpuMs ?? Number.NaN) / x.windowMs, 2)),
  );
  row('load-gen CPU, cores, login / refresh', (r) => both(r, (x) => fmt(x.clientCpuMs / x.windowMs, 2)));
  row(
    'SMS codes/s (reset journeys)',
    (r) => (r.smsJourneys ? fmt(r.smsJourneys.perSecond) : '—'),
    'each a whole journey, via the webhook',
  );
  row('  SMS journey p50 / p99 ms', (r) =>
    r.smsJourneys ? `${fmt(r.smsJourneys.p50)} / ${fmt(r.smsJourneys.p99)}` : '—',
  );
  row(
    'SMS gateway took / journeys sent',
    (r) => {
      const c = r.codes;
      if (!c || !r.smsJourneys) return '—';
      return `${c.journeysReceived} / ${c.journeysSent} ${c.journeysReceived === c.journeysSent ? 'OK' : 'MISMATCH'}`;
    },
    'equal',
  );
  const sends = (r: DatabaseResult, f: (x: LoadResult) => string) =>
    r.acceptedSends && r.refusedSends ? `${f(r.acceptedSends)} / ${f(r.refusedSends)}` : '—';
  row('POST /forgot/send/s accepted / refused', (r) => sends(r, (x) => fmt(x.perSecond)));
  row('  send p50 / p99 ms accepted / refused', (r) => sends(r, (x) => `${fmt(x.p50)}, ${fmt(x.p99)}`));
  row('server CPU ms per SMS journey', (r) => fmt(perOp(r.smsJourneys?.server?.cpuMs, r.smsJourneys), 2));
  row(
    'server CPU ms per send accepted / refused',
    (r) => {
      if (!r.acceptedSends || !r.refusedSends) return '—';
      const accepted = perOp(r.acceptedSends.server?.cpuMs, r.acceptedSends);
      const refused = perOp(r.refusedSends.server?.cpuMs, r.refusedSends);
      return `${fmt(accepted, 2)} / ${fmt(refused, 2)} = ${pct(refused / accepted)}`;
    },
    'refused far below accepted',
  );
  row('postgres CPU ms per send acc. / ref.', (r) =>
    r.acceptedSends?.databaseCpuMs === undefined ? '—' : sends(r, (x) => fmt(perOp(x.databaseCpuMs, x), 2)),
  );
  row(
    'SMS sent while refusing',
    (r) =>
      r.codes && r.refusedSends
        ? `${r.codes.refusedReceived} ${r.codes.refusedReceived === 0 ? 'PASS' : 'WARNING'}`
        : '—',
    '0',
  );
  row('other processes, cores, max', (r) => {
    const phases = [r.argon2, r.logins, r.refresh, r.smsJourneys, r.acceptedSends, r.refusedSends].filter(
      (x): x is LoadResult => x !== undefined,
    );
    const most = Math.max(...phases.map(othersCores));
    return `${fmt(most, 2)}${most > NOISY ? ' NOISY' : ''}`;
  });

  const header = ['', ...ran.map((r) => r.kind), 'target'];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('   ')
      .trimEnd();
  console.log(`\n${line(header)}`);
  console.log(widths.map((w) => '-'.repeat(w)).join('   '));
  for (const r of rows) console.log(line(r));
  for (const r of results) {
    if (r.skipped) console.log(`${r.kind}: ${r.skipped}`);
    if (r.failed) console.log(`${r.kind}: FAILED: ${r.failed}`);
  }
  console.log(
    [
      '',
      `Notes: the ${CORES} cores are shared by the server (a child process) and by this process, which generates the`,
      `load and measured the argon2id ceiling. Load ran on the ${SERVER_RUNTIME} server. tsx = TypeScript through the tsx`,
      'loader, as `vakt dev` runs in a source checkout; compiled = transpiled JavaScript, as `vakt start` runs (an',
      'installed package, or a checkout after `npm run build`). NOISY = other processes were busy during a phase,',
      'so its rates are understated.',
      'Targets are informational: BELOW never fails the run.',
    ].join('\n'),
  );
}

function saveResults(results: DatabaseResult[]): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const plain = JSON.stringify(
    {
      at: new Date().toISOString(),
      node: process.version,
      cpus: availableParallelism(),
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      concurrency: CONCURRENCY,
      server: SERVER_RUNTIME,
      workers: WORKERS,
      threadpool: process.env.UV_THREADPOOL_SIZE ?? 'default',
      rs256SignatureCpuMs: rs256SignatureMs,
      results,
    },
    (_key, value) => (value instanceof Map ? Object.fromEntries(value) : value),
    2,
  );
  writeFileSync(file, `${plain}\n`);
  console.log(`results: ${file}`);
}

async function main(): Promise<void> {
  const { memoryCost, timeCost, parallelism } = OWASP_ARGON2;
  console.log(
    `vakt benchmark: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${fmt(totalmem() / 1024 ** 3)} GiB, Node ${process.version}`,
  );
  console.log(
    `argon2id m=${memoryCost} KiB t=${timeCost} p=${parallelism}; UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'};` +
      ` ${CONCURRENCY} concurrent loops; ${WARMUP_SECONDS} s warm-up + ${SECONDS} s measured per phase`,
  );
  const serverShape =
    WORKERS > 1 ? `a cluster primary and ${WORKERS} workers (figures summed)` : 'one process';
  console.log(
    `server: bench/server.ts in a child process, ${serverShape}; load on the ${SERVER_RUNTIME} server` +
      ` (BENCH_SERVER); load generator: this process, HTTP over loopback`,
  );

  rs256SignatureMs = await measureRs256Signature();
  console.log(
    `RS256 signature (an ID token, signed at every token and refresh grant): ${fmt(rs256SignatureMs, 2)} ms of CPU`,
  );

  const load = loadavg()[0]!;
  console.log(
    `load average (1 min) before the run: ${fmt(load, 2)}` +
      (load > NOISY * CORES * 2
        ? ' -- the machine is not idle; the CPU lines below show how much others took'
        : ''),
  );

  const gateway = await startSmsGateway();
  const cleanups = new Set<() => Promise<void>>();
  process.once('SIGINT', async () => {
    for (const cleanup of cleanups) await cleanup();
    removeBuilds();
    process.exit(130);
  });
  const results: DatabaseResult[] = [];
  try {
    for (const kind of DATABASES) results.push(await benchDatabase(kind, gateway, cleanups));
  } finally {
    removeBuilds();
    await gateway.close();
  }
  printTable(results);
  saveResults(results);
}

await main();
