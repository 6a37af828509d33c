// The composition root: one place that wires the store, the domain services, the tenant
// registry and the HTTP server together. Tests, the CLI and the benchmark all start vakt here.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type DestinationStream, pino } from 'pino';
import type { Settings } from './config/settings.js';
import { createDeliveryService } from './delivery/service.js';
import type { DeliveryService } from './delivery/types.js';
import { createAccountService } from './domain/accounts.js';
import { type Clock, systemClock } from './domain/clock.js';
import { CODE_RETENTION_MS, createCodeService } from './domain/one-time-codes.js';
import { createPasswordHasher, type PasswordHasher } from './domain/passwords.js';
import { createSecretBox } from './domain/secrets.js';
import { createSigningKeyService } from './domain/signing-keys.js';
import { createTenantService } from './domain/tenants.js';
import { createThrottleService } from './domain/throttle.js';
import { createTenantRegistry, type TenantRegistry } from './oidc/registry.js';
import { createServer } from './server/app.js';
import { type GracefulClose, trackConnections } from './server/graceful-close.js';
import { providerPages } from './server/provider-pages.js';
import { createRepositories, migrateToLatest, openStore } from './store/index.js';
import { createDatabaseLimitStore, type LimitStore } from './store/limit-store.js';
import { createRedisLimitStore } from './store/redis-limit-store.js';

export interface VaktOptions {
  clock?: Clock;
  hasher?: PasswordHasher;
  plugins?: ((app: FastifyInstance, vakt: Vakt) => Promise<void> | void)[];
  /** Where the deployment's SMTP and SMS settings are read for a tenant's `smtpUrlEnv`. */
  env?: NodeJS.ProcessEnv;
  poolSize?: number;
  /** Where the log's JSON lines go (standard output unless given). */
  logDestination?: DestinationStream;
  /** Prefix of every Redis key (tests give each run its own). */
  redisKeyPrefix?: string;
}

// Clock skew relying parties may allow when checking a token's times.
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * Refused password hashes (a full line, VAKT_HASH_QUEUE) are a warning for the operator, logged
 * at most every 10 s with how many were refused since the last: a flood must not flood the log.
 */
function busyLog(logger: { warn(object: object, message: string): void }): () => void {
  let refused = 0;
  let lastWarned = Number.NEGATIVE_INFINITY;
  return () => {
    refused++;
    const now = performance.now();
    if (now - lastWarned < 10_000) return;
    logger.warn({ refused }, 'password hashes refused with 503: too many wait already (VAKT_HASH_QUEUE)');
    refused = 0;
    lastWarned = now;
  };
}

/** `serving`: a long-running server, not a CLI command (see openStore's backgroundCheckpoints). */
export function createCore(settings: Settings, options: VaktOptions = {}, serving = false) {
  const clock = options.clock ?? systemClock;
  const logger = pino({ level: settings.logLevel, base: { pid: process.pid } }, options.logDestination);
  const store = openStore(settings.databaseUrl, {
    poolSize: options.poolSize,
    backgroundCheckpoints: serving,
  });
  const repos = createRepositories(store);
  const limits: LimitStore = settings.redisUrl
    ? createRedisLimitStore(settings.redisUrl, {
        ...(options.redisKeyPrefix ? { keyPrefix: options.redisKeyPrefix } : {}),
        onError: (error) => logger.error({ err: error }, 'Redis (VAKT_REDIS_URL) failed'),
      })
    : createDatabaseLimitStore(repos);
  const secrets = createSecretBox(settings.secret);
  const hasher =
    options.hasher ??
    createPasswordHasher(undefined, {
      ...(settings.hashConcurrency ? { concurrency: settings.hashConcurrency } : {}),
      ...(settings.hashQueue !== undefined ? { maxWaiting: settings.hashQueue } : {}),
      onBusy: busyLog(logger),
    });
  const throttle = createThrottleService({ repos, limits, clock });
  const accounts = createAccountService({ repos, clock, hasher, throttle });
  const codes = createCodeService({ repos, limits, clock, secrets });
  const tenants = createTenantService({ repos, clock, secrets });
  const keys = createSigningKeyService({
    repos,
    clock,
    secrets,
    retiredKeyLifetimeMs: async (slug) => {
      const record = await tenants.loadTenant(slug);
      const longest = Math.max(3600, ...(record?.clients ?? []).map((c) => c.tokenLifetimes.idToken));
      return longest * 1000 + CLOCK_SKEW_MS;
    },
  });
  return {
    settings,
    clock,
    logger,
    store,
    repos,
    limits,
    secrets,
    hasher,
    accounts,
    codes,
    throttle,
    tenants,
    keys,
    migrate: () => migrateToLatest(store.db as never, store.dialect),
    /**
     * Deletes what no request can see any more: expired sessions and tokens, codes past their
     * retention and their places in the code limits, idle guess counters (account locks stay). Answers how many rows of each went.
     */
    async sweep() {
      const [oidcModels, oneTimeCodes, throttles, codePlaces] = await Promise.all([
        repos.oidcModels.deleteExpiredModels(clock.now()),
        codes.deleteOld(),
        throttle.deleteStale(),
        repos.places.deleteBefore(clock.now() - CODE_RETENTION_MS),
      ]);
      return { oidcModels, oneTimeCodes, throttles, codePlaces };
    },
    async close() {
      await limits.close();
      await store.close();
    },
  };
}

export type Core = ReturnType<typeof createCore>;

/**
 * The tenants' providers at `publicUrl`: a server's, and a CLI command's that must act as the
 * server would (end sessions and send back-channel logout tokens with the server's issuer).
 */
export function createRegistry(core: Core, publicUrl: () => string): TenantRegistry {
  return createTenantRegistry({
    publicUrl,
    tenants: core.tenants,
    tenantRepo: core.repos.tenants,
    keys: core.keys,
    providerDeps: {
      cookieKeys: [core.secrets.derive('cookies').toString('base64url')],
      accounts: core.accounts,
      models: core.repos.oidcModels,
      clock: core.clock,
      production: core.settings.mode === 'production',
      log: core.logger,
    },
    pages: providerPages,
    onError: (error) => core.logger.error({ err: error }, 'reload check failed'),
  });
}

export interface Vakt extends Core {
  server: FastifyInstance;
  /** Tenant providers; `refresh()` picks up changes another process made at once. */
  registry: TenantRegistry;
  delivery: ReturnType<typeof createDeliveryService>;
  publicUrl(): string;
  listen(): Promise<string>;
  stop(): Promise<void>;
}

export async function createVakt(settings: Settings, options: VaktOptions = {}): Promise<Vakt> {
  const core = createCore(settings, options, true);
  try {
    await core.migrate();
    await core.limits.connect();
  } catch (error) {
    await core.close();
    throw error;
  }
  const { logger } = core;
  let publicUrl = settings.publicUrl;
  let sweeper: NodeJS.Timeout | undefined;
  let connections: GracefulClose | undefined;
  const delivery = createDeliveryService({
    settings,
    logger,
    publicUrl: () => publicUrl,
    clock: core.clock,
    ...(options.env ? { env: options.env } : {}),
  });
  const registry = createRegistry(core, () => publicUrl);
  const vakt: Vakt = {
    ...core,
    server: undefined as unknown as FastifyInstance,
    registry,
    delivery,
    publicUrl: () => publicUrl,
    async listen() {
      await vakt.server.listen({ port: settings.port, host: settings.host });
      connections = trackConnections(vakt.server.server);
      const address = vakt.server.server.address() as AddressInfo;
      // Port 0 (tests): the public URL follows the port the system gave.
      if (settings.port === 0) publicUrl = publicUrl.replace(/:0$/, `:${address.port}`);
      registry.startWatching(settings.reloadInterval);
      // Expired sessions, codes, tokens and idle counters are invisible at once; this reclaims their rows.
      sweeper = setInterval(
        () => {
          core.sweep().catch((error) => logger.warn({ err: error }, 'sweep failed'));
        },
        10 * 60 * 1000,
      );
      sweeper.unref();
      return publicUrl;
    },
    async stop() {
      registry.stopWatching();
      if (sweeper) clearInterval(sweeper);
      await (connections ? connections.close(() => vakt.server.close()) : vakt.server.close());
      delivery.close();
      await core.close();
    },
  };
  vakt.server = await createServer({
    settings,
    publicUrl: () => publicUrl,
    registry,
    accounts: core.accounts,
    codes: core.codes,
    delivery: delivery as DeliveryService,
    hasher: core.hasher,
    throttle: core.throttle,
    clock: core.clock,
    oidcModels: core.repos.oidcModels,
    secrets: core.secrets,
    logger,
    plugins: (options.plugins ?? []).map((plugin) => (app: FastifyInstance) => plugin(app, vakt)),
  });
  return vakt;
}
