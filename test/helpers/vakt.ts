// Starts a real vakt (HTTP server on a free port, real database) for a test.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVakt, type Vakt, type VaktOptions } from '../../src/composition.js';
import { type DeploymentConfig, tenantDefaults } from '../../src/config/schema.js';
import { loadSettings, type Mode } from '../../src/config/settings.js';
import type { DatabaseKind, TestDatabase } from './databases.js';

export const TEST_SECRET = 'test-secret-that-is-long-enough-0123456789';
export const RP = 'http://rp.vakt.test';
/** The secrets of the test tenant's confidential clients (testTenant). */
export const CLIENT_SECRETS: Readonly<Record<string, string>> = {
  web: 'web-secret-0123456789-0123456789-0123',
  partner: 'partner-secret-0123456789-0123456789',
};

/** The test tenant's clients' token lifetimes: a refresh token lives a day unused, a year in all. */
const TEST_LIFETIMES = {
  accessToken: 3600,
  idToken: 3600,
  refreshToken: 86400,
  refreshTokenAbsolute: 365 * 86400,
  authorizationCode: 60,
};

export function testTenant(
  overrides: Partial<DeploymentConfig['tenants'][number]> = {},
): DeploymentConfig['tenants'][number] {
  return {
    slug: 'acme',
    displayName: 'Acme',
    ...tenantDefaults(),
    support: { email: 'help@acme.example' },
    // Every test request comes from 127.0.0.1: only the limit tests keep a per-IP limit.
    codeLimits: { ...tenantDefaults().codeLimits, perIp: [{ seconds: 600, max: 100_000 }] },
    clients: [
      {
        id: 'web',
        name: 'Acme Web',
        secret: CLIENT_SECRETS.web,
        redirectUris: [`${RP}/callback`],
        postLogoutRedirectUris: [`${RP}/logged-out`],
        firstParty: true,
        tokenLifetimes: TEST_LIFETIMES,
      },
      {
        id: 'spa',
        name: 'Acme App',
        redirectUris: [`${RP}/spa/callback`],
        postLogoutRedirectUris: [],
        firstParty: true,
        tokenLifetimes: TEST_LIFETIMES,
      },
      {
        id: 'partner',
        name: 'Partner Site',
        secret: CLIENT_SECRETS.partner,
        redirectUris: [`${RP}/partner/callback`],
        postLogoutRedirectUris: [],
        firstParty: false,
        tokenLifetimes: TEST_LIFETIMES,
      },
    ],
    ...overrides,
  };
}

export interface RunningVakt {
  vakt: Vakt;
  url: string;
  issuer: string;
  database: TestDatabase;
  stop(): Promise<void>;
}

export async function startVakt(
  kind: DatabaseKind,
  options: VaktOptions & {
    config?: DeploymentConfig;
    mode?: Mode;
    env?: Record<string, string>;
    database?: TestDatabase;
  } = {},
): Promise<RunningVakt> {
  const database = options.database ?? (await kind.create());
  const settings = loadSettings(options.mode ?? 'test', {
    PORT: '0',
    VAKT_SECRET: TEST_SECRET,
    DATABASE_URL: database.url,
    VAKT_DATA_DIR: mkdtempSync(join(tmpdir(), 'vakt-data-')),
    LOG_LEVEL: process.env.VAKT_TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const vakt = await createVakt(settings, options);
  await vakt.tenants.applyDeploymentConfig(options.config ?? { tenants: [testTenant()] });
  const url = await vakt.listen();
  return {
    vakt,
    url,
    issuer: `${url}/t/${(options.config?.tenants[0] ?? testTenant()).slug}`,
    database,
    async stop() {
      await vakt.stop();
      if (!options.database) await database.drop();
    },
  };
}

/** Sends every email to a test SMTP server and every SMS to a test gateway. */
export function deliveryEnv(mailbox: { url: string }, sms?: { url: string }): Record<string, string> {
  return {
    VAKT_SMTP_URL: mailbox.url,
    VAKT_MAIL_FROM: 'Acme ID <id@acme.example>',
    ...(sms ? { VAKT_SMS_WEBHOOK_URL: sms.url } : {}),
  };
}

export function randomPassword(): string {
  return `pw-${randomBytes(9).toString('base64url')}`;
}

/**
 * Creates verified accounts on tenant `acme`, each with one email address and a password or an
 * imported password hash.
 */
export async function createEmailAccounts(
  running: RunningVakt,
  accounts: ReadonlyArray<readonly [string, { password: string } | { passwordHash: string }]>,
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const [email, secret] of accounts) {
    const created = await running.vakt.accounts.createAccount({
      tenant: 'acme',
      defaultCountry: 'NO',
      emails: [email],
      ...secret,
      verified: true,
    });
    assert.ok(created.ok, email);
    ids[email] = created.value.id;
  }
  return ids;
}
