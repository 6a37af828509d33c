// Process settings from the environment, validated once at start-up. Development and
// production differ here and nowhere else: `vakt start` refuses the shortcuts `vakt dev` takes.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';

export type Mode = 'development' | 'production' | 'test';

export interface Settings {
  mode: Mode;
  port: number;
  host: string;
  publicUrl: string;
  /** The deployment secret; keys for cookies, CSRF tokens and key encryption derive from it. */
  secret: string;
  /** `postgres://…` or an SQLite file path. */
  databaseUrl: string;
  dataDir: string;
  logLevel: string;
  /** Seconds between checks for configuration or key changes made by another process. */
  reloadInterval: number;
  /** The deployment-wide SMTP server for codes by email (`smtp://…` or `smtps://…`). */
  smtpUrl?: string;
  /** The deployment-wide sender; production has none unless VAKT_MAIL_FROM is set. */
  mailFrom?: string;
  /** SMS gateways, tried in order until one answers 2xx; empty when none is configured. */
  smsWebhookUrls: string[];
  /** How long one SMTP delivery or one SMS gateway may take before it counts as failed. */
  deliveryTimeoutMs: number;
  /** Redis for the limit counters and guess waits, shared by every process; unset: the database. */
  redisUrl?: string;
  /** Password hashes or verifications this process runs at once; unset: the machine's cores. */
  hashConcurrency?: number;
  /** VAKT_HASH_QUEUE: password hashes that may wait in this process (default 64 per place). */
  hashQueue?: number;
}

/** The documented environment; docs/configuration.md is generated from this list. */
export const ENVIRONMENT_VARIABLES = [
  { name: 'PORT', development: '`3000`', production: '`3000`', description: 'Port to listen on.' },
  { name: 'HOST', development: '`127.0.0.1`', production: '`0.0.0.0`', description: 'Address to listen on.' },
  {
    name: 'VAKT_PUBLIC_URL',
    development: '`http://localhost:<PORT>`',
    production: 'required, `https://…`',
    description:
      'The URL people and clients reach vakt at; issuers are `<VAKT_PUBLIC_URL>/t/<tenant>`. It is authoritative: forwarded headers are taken from it.',
  },
  {
    name: 'VAKT_SECRET',
    development: 'generated into `.vakt/secret`',
    production: 'required, ≥ 32 characters',
    description:
      'Deployment secret. Cookie keys, CSRF tokens and the encryption of signing keys and client secrets derive from it; every process must have the same one.',
  },
  {
    name: 'DATABASE_URL',
    development: '`.vakt/vakt.db` (SQLite)',
    production: 'same',
    description: '`postgres://user@host:5432/db` for PostgreSQL, or a path to an SQLite file.',
  },
  {
    name: 'VAKT_DATA_DIR',
    development: '`.vakt`',
    production: '`.vakt`',
    description: 'Where the default SQLite database and the development secret live.',
  },
  {
    name: 'LOG_LEVEL',
    development: '`info`',
    production: '`info`',
    description: 'pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
  },
  {
    name: 'VAKT_RELOAD_INTERVAL',
    development: '`10`',
    production: '`10`',
    description: 'Seconds between checks for tenants, clients or keys changed by another process.',
  },
  {
    name: 'VAKT_SMTP_URL',
    development: 'none: emails go to the outbox',
    production: 'none',
    description:
      'SMTP server for codes by email, `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`. A tenant can have its own (`delivery.email`).',
  },
  {
    name: 'VAKT_MAIL_FROM',
    development: '`vakt <no-reply@localhost>`',
    production: 'none',
    description:
      'Sender of code emails, e.g. `"Acme ID" <id@acme.example>`. Production needs it, or `delivery.email.from` on each tenant that uses email.',
  },
  {
    name: 'VAKT_SMS_WEBHOOK_URL',
    development: 'none: SMS go to the outbox',
    production: 'none',
    description:
      'SMS gateway: receives `POST` with JSON `{"to", "text", "tenant", "purpose"}` and must answer 2xx. A comma-separated list is tried in order until one answers 2xx. A tenant can have its own (`delivery.sms`).',
  },
  {
    name: 'VAKT_DELIVERY_TIMEOUT',
    development: '`10`',
    production: '`10`',
    description: 'Seconds an SMTP delivery, or each SMS gateway, may take before it counts as failed.',
  },
  {
    name: 'VAKT_REDIS_URL',
    development: 'none: limits in the database',
    production: 'none: limits in the database',
    description:
      'Redis for the limits on sending codes and the waits after wrong passwords and codes, shared by every process: `redis://[:password@]host:6379[/db]` or `rediss://…` (TLS). Without it they are counted in the database. The codes themselves and the 100-failure account lock stay in the database either way. Redis must answer at start-up; while it is away, requests that need a limit fail (closed) with the generic error page.',
  },
  {
    name: 'VAKT_HASH_CONCURRENCY',
    development: 'the number of cores',
    production: 'the number of cores, shared among `--workers`',
    description:
      'Password hashes (argon2id) one process computes at once; more logins wait their turn. More than the cores makes each hash cost more CPU. With `--workers N` each worker gets its share of the cores (at least 1) unless this is set.',
  },
  {
    name: 'VAKT_HASH_QUEUE',
    development: '64 × `VAKT_HASH_CONCURRENCY`',
    production: '64 × `VAKT_HASH_CONCURRENCY`, per worker',
    description:
      'Password hashes that may wait for their turn in one process. When that many wait, a login, sign-up, password change or reset is refused at once with status 503, `Retry-After` and a message to try again in a few seconds; it changed nothing and does not count as a wrong guess. On 2 cores the default line clears in 0.4-2 s (5-25 ms per hash; `docs/performance.md`, "A bounded line"). `0` refuses whatever cannot start at once.',
  },
] as const;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().min(1).optional(),
  VAKT_PUBLIC_URL: z.url().optional(),
  VAKT_SECRET: z.string().optional(),
  DATABASE_URL: z.string().min(1).optional(),
  VAKT_DATA_DIR: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  VAKT_RELOAD_INTERVAL: z.coerce.number().positive().optional(),
  // The delivery variables read empty as unset, as a compose file's `VAKT_SMTP_URL=` means.
  VAKT_SMTP_URL: z
    .string()
    .refine(
      (value) => value === '' || urlWithProtocol(value, ['smtp:', 'smtps:']),
      'must be an smtp:// or smtps:// URL',
    )
    .optional(),
  VAKT_MAIL_FROM: z
    .string()
    .max(320)
    .refine(
      (value) => value === '' || (value.includes('@') && !/[\r\n]/.test(value)),
      'must be an email address, e.g. "Acme ID" <id@acme.example>',
    )
    .optional(),
  VAKT_SMS_WEBHOOK_URL: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((url) => url.trim())
        .filter(Boolean),
    )
    .refine(
      (urls) => urls.every((url) => urlWithProtocol(url, ['http:', 'https:'])),
      'must be an http(s) URL or a comma-separated list of them',
    )
    .optional(),
  VAKT_DELIVERY_TIMEOUT: z.coerce.number().positive().max(300).optional(),
  VAKT_REDIS_URL: z
    .string()
    .refine(
      (value) => value === '' || urlWithProtocol(value, ['redis:', 'rediss:']),
      'must be a redis:// or rediss:// URL',
    )
    .optional(),
  VAKT_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(256).optional(),
  // Empty is unset here: coerced, it would be 0, which refuses every hash that has to wait.
  VAKT_HASH_QUEUE: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.coerce.number().int().min(0).max(1_000_000).optional(),
  ),
});

// A refused value is never echoed, only the variable named: an SMTP, webhook or Redis URL may hold a password.
function urlWithProtocol(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

export function loadSettings(mode: Mode, env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`environment variable ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.VAKT_DATA_DIR ?? '.vakt');
  const port = e.PORT ?? 3000;
  const databaseUrl = e.DATABASE_URL ?? join(dataDir, 'vakt.db');

  if (mode === 'production') {
    if (!e.VAKT_SECRET || e.VAKT_SECRET.length < 32) {
      throw new ConfigError(
        'VAKT_SECRET must be set to a random string of at least 32 characters in production',
      );
    }
    if (!e.VAKT_PUBLIC_URL || new URL(e.VAKT_PUBLIC_URL).protocol !== 'https:') {
      throw new ConfigError('VAKT_PUBLIC_URL must be set to an https:// URL in production');
    }
  }
  const defaultUrl = mode === 'test' ? `http://127.0.0.1:${port}` : `http://localhost:${port}`;
  const publicUrl = (e.VAKT_PUBLIC_URL ?? defaultUrl).replace(/\/+$/, '');
  if (e.VAKT_SECRET !== undefined && e.VAKT_SECRET.length < 32) {
    throw new ConfigError('VAKT_SECRET must be at least 32 characters');
  }
  const secret = e.VAKT_SECRET ?? developmentSecret(dataDir);

  return {
    mode,
    port,
    host: e.HOST ?? (mode === 'production' ? '0.0.0.0' : '127.0.0.1'),
    publicUrl,
    secret,
    databaseUrl,
    dataDir,
    logLevel: e.LOG_LEVEL ?? (mode === 'test' ? 'silent' : 'info'),
    reloadInterval: e.VAKT_RELOAD_INTERVAL ?? 10,
    ...(e.VAKT_SMTP_URL ? { smtpUrl: e.VAKT_SMTP_URL } : {}),
    // Production has no default sender: mail from no-reply@localhost would be refused or junked.
    ...(e.VAKT_MAIL_FROM || mode !== 'production'
      ? { mailFrom: e.VAKT_MAIL_FROM || 'vakt <no-reply@localhost>' }
      : {}),
    smsWebhookUrls: e.VAKT_SMS_WEBHOOK_URL ?? [],
    deliveryTimeoutMs: Math.round((e.VAKT_DELIVERY_TIMEOUT ?? 10) * 1000),
    ...(e.VAKT_REDIS_URL ? { redisUrl: e.VAKT_REDIS_URL } : {}),
    ...(e.VAKT_HASH_CONCURRENCY ? { hashConcurrency: e.VAKT_HASH_CONCURRENCY } : {}),
    ...(e.VAKT_HASH_QUEUE !== undefined ? { hashQueue: e.VAKT_HASH_QUEUE } : {}),
  };
}

/** Development keeps a generated secret beside its database so restarts keep sessions and keys. */
function developmentSecret(dataDir: string): string {
  const file = join(dataDir, 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

/**
 * What `--workers N` gives each worker for VAKT_HASH_CONCURRENCY when it is not set: a share of
 * the cores, rounded up (a core left idle during a burst of logins costs more than one shared).
 */
export function workerHashConcurrency(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.ceil(cores / workers));
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
