// Process settings from the environment, validated once at start-up. Development and
// production differ here and nowhere else: `vakt start` refuses the shortcuts `vakt dev` takes.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
});

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

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
