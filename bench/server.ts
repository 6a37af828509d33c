// The server side of `npm run bench`: a real vakt (test settings, the test tenant) on a free port,
// in its own process so that the load generator neither shares its heap nor hides in its RSS.
// Started by bench/bench.ts with fork(); speaks to it over IPC only.
//
// With BENCH_WORKERS=N (N > 1) it is laid out as `vakt start --workers N` is: a primary prepares
// the database once and forks N workers that serve one port; the primary relays the bench's
// messages and sums the workers' figures (its own included).
//
// Environment: BENCH_DATABASE_URL (required), BENCH_IDENTIFIERS (JSON list of email addresses) and
// BENCH_PASSWORD (the accounts to create, one per address), BENCH_DATA_DIR, BENCH_TENANT_CONFIG (JSON DeploymentConfig; the first tenant is the one
// logged in to), BENCH_PHONE_ACCOUNTS (JSON PhoneAccounts[]: accounts with one verified phone
// number each, for the code phases), VAKT_SMS_WEBHOOK_URL (the bench's SMS gateway), BENCH_WORKERS.
import cluster, { type Worker } from 'node:cluster';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { createCore, createVakt } from '../src/composition.js';
import type { DeploymentConfig } from '../src/config/schema.js';
import { loadSettings, workerHashConcurrency } from '../src/config/settings.js';

/**
 * `count` accounts in `tenant`, each with one verified number: `+<first + i>` for i in 0..count-1
 * (bench/bench.ts computes the same numbers). They share one password.
 */
export interface PhoneAccounts {
  tenant: string;
  first: number;
  count: number;
}

export type ParentMessage =
  /** `perRequest`: also account the server's CPU per request (see RequestCpu); for one loop only. */
  | { type: 'phase-start'; perRequest?: boolean }
  | { type: 'phase-end' }
  | { type: 'sample' }
  | { type: 'stop' };

export interface PhaseStats {
  /** Wall time of the phase, ms. */
  wallMs: number;
  /** CPU time of the whole server (main threads, libuv threadpools, V8 helpers), ms. */
  cpuMs: number;
  /** Fraction of the phase the event loop was busy (the mean over workers). */
  eventLoopUtilization: number;
  /** Highest RSS seen (with workers: the sum of each process's highest). */
  peakRss: number;
  rss: number;
  heapUsed: number;
  /** With `perRequest`: the server's CPU per kind of request, keyed by requestKind(). */
  requests?: Record<string, RequestCpu>;
}

/**
 * CPU the server spent between a request's arrival (Node's 'request' event, after its headers
 * were parsed) and the end of its response ('finish'), summed per kind of request. It is the
 * whole process's CPU, threadpool included (argon2id, RS256), so it is only one request's when
 * one is in flight at a time.
 */
export interface RequestCpu {
  count: number;
  cpuMs: number;
  /**
   * PostgreSQL only: statements sent (each a round trip) while one request of the kind was
   * the one in flight; those sent between requests count under "outside requests".
   */
  statements?: number;
}

/** What accountRequests calls the statements sent while no request is in flight (bench.ts too). */
const OUTSIDE_REQUESTS = 'outside requests';

/**
 * "POST /interaction/:id/login": the method and path, without the tenant, ids or query. An id is
 * a segment of 16 or more base64url characters with a digit, a capital or an underscore in it
 * (oidc-provider's uids), so that "openid-configuration" stays itself.
 */
function requestKind(method: string | undefined, url: string | undefined): string {
  const path = (url ?? '').split('?')[0]!.replace(/^\/t\/[^/]+/, '') || '/';
  return `${method ?? '?'} ${path.replace(/\/(?=[\w-]*[0-9A-Z_])[\w-]{16,}(?=\/|$)/g, '/:id')}`;
}

/**
 * Starts summing CPU per request on `server` (and on PostgreSQL the statements sent, by counting
 * node-postgres's Client#query calls); the returned function stops and gives the sums.
 */
function accountRequests(server: Server): () => Record<string, RequestCpu> {
  const sums: Record<string, RequestCpu> = {};
  const counting = /^postgres(ql)?:/.test(databaseUrl!);
  let inFlight: RequestCpu | undefined;
  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    const kind = requestKind(request.method, request.url);
    const start = process.cpuUsage();
    const own: RequestCpu = { count: 1, cpuMs: 0, ...(counting ? { statements: 0 } : {}) };
    inFlight = own;
    response.once('finish', () => {
      const used = process.cpuUsage(start);
      own.cpuMs = (used.user + used.system) / 1000;
      if (inFlight === own) inFlight = undefined;
      addRequests(sums, { [kind]: own });
    });
  };
  const client = counting
    ? (
        createRequire(import.meta.url)('pg') as {
          Client: { prototype: { query: (...args: unknown[]) => unknown } };
        }
      ).Client.prototype
    : undefined;
  const query = client?.query;
  if (client && query) {
    client.query = function (this: unknown, ...args: unknown[]) {
      if (inFlight) inFlight.statements = (inFlight.statements ?? 0) + 1;
      else addRequests(sums, { [OUTSIDE_REQUESTS]: { count: 0, cpuMs: 0, statements: 1 } });
      return query.apply(this, args);
    };
  }
  // Before Fastify's own listener, which routes the request and may answer it at once.
  server.prependListener('request', onRequest);
  return () => {
    server.off('request', onRequest);
    if (client && query) client.query = query;
    return sums;
  };
}

/** Adds `more`'s sums into `into`: one request's, or a cluster worker's in the primary. */
function addRequests(into: Record<string, RequestCpu>, more: Record<string, RequestCpu> = {}): void {
  for (const [kind, { count, cpuMs, statements }] of Object.entries(more)) {
    const sum = into[kind] ?? { count: 0, cpuMs: 0 };
    sum.count += count;
    sum.cpuMs += cpuMs;
    if (statements !== undefined) sum.statements = (sum.statements ?? 0) + statements;
    into[kind] = sum;
  }
}

export type ServerMessage =
  | {
      type: 'ready';
      url: string;
      issuer: string;
      pid: number;
      rss: number;
      threadpool: string;
      /** Password hashes each serving process runs at once (VAKT_HASH_CONCURRENCY). */
      hashConcurrency: number;
      processes: number;
    }
  | { type: 'sample'; rss: number; heapUsed: number; heapTotal: number; external: number }
  | { type: 'phase'; stats: PhaseStats }
  | { type: 'error'; message: string };

function send(message: ServerMessage): void {
  process.send?.(message);
}

if (!process.send) {
  console.error('bench/server.ts is started by bench/bench.ts (it needs an IPC channel)');
  process.exit(2);
}

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is required');
const workers = Math.max(1, Math.floor(Number(process.env.BENCH_WORKERS ?? 1)) || 1);

const settings = loadSettings('test', {
  PORT: '0',
  VAKT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
  DATABASE_URL: databaseUrl,
  VAKT_DATA_DIR: process.env.BENCH_DATA_DIR ?? '.vakt-bench',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
  ...(process.env.VAKT_SMS_WEBHOOK_URL ? { VAKT_SMS_WEBHOOK_URL: process.env.VAKT_SMS_WEBHOOK_URL } : {}),
  // As `vakt start --workers N` sets it for its workers, unless given.
  VAKT_HASH_CONCURRENCY: process.env.VAKT_HASH_CONCURRENCY ?? String(workerHashConcurrency(workers)),
});
const config = JSON.parse(process.env.BENCH_TENANT_CONFIG ?? '{}') as DeploymentConfig;
const tenant = config.tenants[0]!;
const phoneAccounts = JSON.parse(process.env.BENCH_PHONE_ACCOUNTS ?? '[]') as PhoneAccounts[];
const threadpool = process.env.UV_THREADPOOL_SIZE ?? '4 (default)';

/** The tenant, its keys and the bench account: what `vakt apply` and `vakt users create` would do. */
async function prepareDatabase(core: ReturnType<typeof createCore>): Promise<void> {
  await core.migrate();
  await core.tenants.applyDeploymentConfig(config);
  for (const { slug } of config.tenants) await core.keys.ensureSigningKeys(slug);
  const identifiers = JSON.parse(process.env.BENCH_IDENTIFIERS ?? '["bench@example.com"]') as string[];
  for (const email of identifiers) {
    const created = await core.accounts.createAccount({
      tenant: tenant.slug,
      defaultCountry: tenant.defaultCountry,
      emails: [email],
      password: process.env.BENCH_PASSWORD ?? 'bench-password',
      name: 'Bench Mark',
      verified: true,
    });
    // identifier.taken: an earlier server on this database created it.
    if (!created.ok && created.error !== 'identifier.taken') {
      throw new Error(`could not create the bench account ${email}: ${created.error}`);
    }
  }
  await createPhoneAccounts(core);
}

/** The phone accounts, unless an earlier server on this database made them (the last one exists). */
async function createPhoneAccounts(core: ReturnType<typeof createCore>): Promise<void> {
  let passwordHash: string | undefined;
  for (const { tenant: slug, first, count } of phoneAccounts) {
    const settings = config.tenants.find((t) => t.slug === slug);
    if (!settings) throw new Error(`BENCH_PHONE_ACCOUNTS names tenant ${slug}, which is not configured`);
    if (count < 1 || (await core.accounts.recoveryTargets(slug, 'phone', `+${first + count - 1}`))) continue;
    // One argon2id hash for all of them: the code phases never check the password.
    passwordHash ??= await core.hasher.hash(process.env.BENCH_PASSWORD ?? 'bench-password');
    for (let i = 0; i < count; i++) {
      const created = await core.accounts.createAccount({
        tenant: slug,
        defaultCountry: settings.defaultCountry,
        phones: [`+${first + i}`],
        passwordHash,
        verified: true,
      });
      if (!created.ok && created.error !== 'identifier.taken') {
        throw new Error(`could not create the phone account +${first + i} in ${slug}: ${created.error}`);
      }
    }
  }
}

/** A serving process: a single server, or one cluster worker. */
async function serve(): Promise<void> {
  const vakt = await createVakt(settings);
  if (!cluster.isWorker) await prepareDatabase(vakt);
  const url = await vakt.listen();

  // Peak RSS is sampled: the kernel's lifetime maximum would include start-up. Every 100 ms:
  // at 25 ms it took 1.8% of the event loop's time in a CPU profile of the login load.
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 100);
  let phase:
    | {
        start: number;
        cpu: NodeJS.CpuUsage;
        elu: ReturnType<typeof performance.eventLoopUtilization>;
        requests?: () => Record<string, RequestCpu>;
      }
    | undefined;

  process.on('message', async (message: ParentMessage) => {
    switch (message.type) {
      case 'sample': {
        const m = process.memoryUsage();
        send({
          type: 'sample',
          rss: m.rss,
          heapUsed: m.heapUsed,
          heapTotal: m.heapTotal,
          external: m.external,
        });
        break;
      }
      case 'phase-start':
        peakRss = process.memoryUsage.rss();
        phase = {
          start: performance.now(),
          cpu: process.cpuUsage(),
          elu: performance.eventLoopUtilization(),
          ...(message.perRequest ? { requests: accountRequests(vakt.server.server) } : {}),
        };
        break;
      case 'phase-end': {
        if (!phase) break;
        const cpu = process.cpuUsage(phase.cpu);
        const requests = phase.requests?.();
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        send({
          type: 'phase',
          stats: {
            wallMs: performance.now() - phase.start,
            cpuMs: (cpu.user + cpu.system) / 1000,
            eventLoopUtilization: performance.eventLoopUtilization(phase.elu).utilization,
            peakRss,
            rss: m.rss,
            heapUsed: m.heapUsed,
            ...(requests ? { requests } : {}),
          },
        });
        phase = undefined;
        break;
      }
      case 'stop':
        clearInterval(sampler);
        await vakt.stop();
        process.exit(0);
    }
  });
  // The parent went away without saying stop: do not linger.
  process.on('disconnect', () => process.exit(0));

  send({
    type: 'ready',
    url,
    issuer: `${url}/t/${tenant.slug}`,
    pid: process.pid,
    rss: process.memoryUsage.rss(),
    threadpool,
    hashConcurrency: vakt.hasher.concurrency,
    processes: 1,
  });
}

/** The cluster primary: prepares the database, forks the workers, relays and sums. */
async function primary(): Promise<void> {
  const core = createCore(settings, { poolSize: 2 });
  try {
    await prepareDatabase(core);
  } finally {
    await core.close();
  }

  const ask = <T extends ServerMessage['type']>(
    worker: Worker,
    message: ParentMessage | undefined,
    reply: T,
  ) =>
    new Promise<Extract<ServerMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (answer: ServerMessage) => {
        if (answer.type !== reply && answer.type !== 'error') return;
        worker.off('message', onMessage);
        if (answer.type === 'error') reject(new Error(answer.message));
        else resolve(answer as Extract<ServerMessage, { type: T }>);
      };
      worker.on('message', onMessage);
      if (message) worker.send(message);
    });

  let stopping = false;
  const forked = Array.from({ length: workers }, () => cluster.fork());
  for (const worker of forked) {
    worker.on('exit', (code) => {
      if (!stopping) send({ type: 'error', message: `worker ${worker.process.pid} exited with ${code}` });
    });
  }
  const ready = await Promise.all(forked.map((worker) => ask(worker, undefined, 'ready')));
  let phase: { cpu: NodeJS.CpuUsage } | undefined;

  process.on('message', async (message: ParentMessage) => {
    switch (message.type) {
      case 'sample': {
        const samples = await Promise.all(forked.map((worker) => ask(worker, message, 'sample')));
        const own = process.memoryUsage();
        send({
          type: 'sample',
          rss: own.rss + samples.reduce((sum, s) => sum + s.rss, 0),
          heapUsed: own.heapUsed + samples.reduce((sum, s) => sum + s.heapUsed, 0),
          heapTotal: own.heapTotal + samples.reduce((sum, s) => sum + s.heapTotal, 0),
          external: own.external + samples.reduce((sum, s) => sum + s.external, 0),
        });
        break;
      }
      case 'phase-start':
        phase = { cpu: process.cpuUsage() };
        for (const worker of forked) worker.send(message);
        break;
      case 'phase-end': {
        const stats = (await Promise.all(forked.map((worker) => ask(worker, message, 'phase')))).map(
          (m) => m.stats,
        );
        const own = process.cpuUsage(phase?.cpu);
        const ownRss = process.memoryUsage.rss();
        const sum = (pick: (s: PhaseStats) => number) => stats.reduce((total, s) => total + pick(s), 0);
        const requests: Record<string, RequestCpu> = {};
        for (const s of stats) addRequests(requests, s.requests);
        send({
          type: 'phase',
          stats: {
            wallMs: Math.max(...stats.map((s) => s.wallMs)),
            cpuMs: sum((s) => s.cpuMs) + (own.user + own.system) / 1000,
            eventLoopUtilization: sum((s) => s.eventLoopUtilization) / stats.length,
            peakRss: sum((s) => s.peakRss) + ownRss,
            rss: sum((s) => s.rss) + ownRss,
            heapUsed: sum((s) => s.heapUsed) + process.memoryUsage().heapUsed,
            ...(stats.some((s) => s.requests) ? { requests } : {}),
          },
        });
        break;
      }
      case 'stop':
        stopping = true;
        await Promise.all(
          forked.map(
            (worker) =>
              new Promise<void>((resolve) => {
                worker.once('exit', () => resolve());
                worker.send(message);
              }),
          ),
        );
        process.exit(0);
    }
  });
  process.on('disconnect', () => {
    for (const worker of forked) worker.kill();
    process.exit(0);
  });

  send({
    type: 'ready',
    url: ready[0]!.url,
    issuer: ready[0]!.issuer,
    pid: process.pid,
    rss: process.memoryUsage.rss() + ready.reduce((sum, r) => sum + r.rss, 0),
    threadpool,
    hashConcurrency: ready[0]!.hashConcurrency,
    processes: workers + 1,
  });
}

try {
  if (workers > 1 && cluster.isPrimary) await primary();
  else await serve();
} catch (error) {
  send({ type: 'error', message: (error as Error).stack ?? String(error) });
  process.exit(1);
}
