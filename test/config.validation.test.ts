// Configuration validation (src/config): bad configuration stops start-up with one message that
// names the failing field, so it is fixed by the operator and never reaches a person at a login
// page. Pins: a minimal config gets its documented defaults; a duplicate tenant slug, a duplicate
// client id, secret together with secretEnv, an ID token algorithm vakt does not sign with, a bad slug and a redirect URI with a fragment (an
// open door for token leakage, RFC 6749 3.1.2) are each refused with the field path named; and
// production refuses a missing/short VAKT_SECRET and a non-https VAKT_PUBLIC_URL, naming the
// variable and never echoing the secret.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { ConfigError } from '../src/config/errors.js';
import { loadDeploymentConfig, parseDeploymentConfig } from '../src/config/load.js';
import { loadSettings } from '../src/config/settings.js';

type Raw = Record<string, unknown>;

/** A minimal valid config; `client` and `tenant` override the first client and the tenant. */
function config(client: Raw = {}, tenant: Raw = {}): { tenants: Raw[] } {
  return {
    tenants: [
      {
        slug: 'acme',
        displayName: 'Acme',
        clients: [{ id: 'web', redirectUris: ['https://web.acme.example/callback'], ...client }],
        ...tenant,
      },
    ],
  };
}

/** Asserts that `raw` is refused with a ConfigError whose message has `path: …message…`. */
function refused(raw: unknown, path: string, message?: RegExp): string {
  let error: unknown;
  try {
    parseDeploymentConfig(raw, 'vakt.yaml');
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  assert.ok(error.message.startsWith('vakt.yaml: '), `the source is named: ${error.message}`);
  assert.ok(error.message.includes(`${path}: `), `expected the field ${path} in: ${error.message}`);
  if (message) assert.match(error.message, message);
  assert.doesNotMatch(error.message, /\n\s+at /, 'no stack trace in the message');
  return error.message;
}

describe('deployment configuration', () => {
  test('a minimal config gets the documented defaults', () => {
    assert.deepEqual(parseDeploymentConfig(config()), {
      tenants: [
        {
          slug: 'acme',
          displayName: 'Acme',
          locales: ['nb', 'sv', 'en'],
          defaultCountry: 'NO',
          support: {},
          help: {},
          identifierKinds: ['email', 'phone'],
          signup: true,
          passwordPolicy: {
            minLength: 8,
            maxLength: 1024,
            requireUppercase: false,
            requireLowercase: false,
            requireDigit: false,
            requireSymbol: false,
            refuseCommon: true,
          },
          delivery: {},
          sessions: { absolute: 30 * 24 * 3600 },
          codeLimits: {
            perIdentifier: [
              { seconds: 600, max: 3 },
              { seconds: 86_400, max: 10 },
            ],
            perIp: [
              { seconds: 600, max: 10 },
              { seconds: 86_400, max: 50 },
            ],
            perCountry: [{ seconds: 3600, max: 1000 }],
          },
          clients: [
            {
              id: 'web',
              redirectUris: ['https://web.acme.example/callback'],
              postLogoutRedirectUris: [],
              firstParty: false,
              tokenLifetimes: {
                accessToken: 3600,
                idToken: 3600,
                refreshToken: 14 * 24 * 3600,
                refreshTokenAbsolute: 365 * 24 * 3600,
                authorizationCode: 60,
              },
            },
          ],
        },
      ],
    });
    assert.deepEqual(parseDeploymentConfig({}), { tenants: [] });
    assert.deepEqual(parseDeploymentConfig(null), { tenants: [] }, 'an empty YAML file');
    // A tenant with no clients is valid, and a partial tokenLifetimes keeps the other defaults.
    const partial = parseDeploymentConfig(config({ tokenLifetimes: { accessToken: 600 } }));
    assert.deepEqual(partial.tenants[0]!.clients[0]!.tokenLifetimes, {
      accessToken: 600,
      idToken: 3600,
      refreshToken: 14 * 24 * 3600,
      refreshTokenAbsolute: 365 * 24 * 3600,
      authorizationCode: 60,
    });
  });

  test('a duplicate tenant slug is refused at the second one', () => {
    const twice = { tenants: [config().tenants[0], { slug: 'acme', displayName: 'Acme again' }] };
    refused(twice, 'tenants[acme].slug', /tenant "acme" appears twice/);
  });

  test('a duplicate client id in a tenant is refused; the same id in another tenant is fine', () => {
    const clients = [
      { id: 'web', redirectUris: ['https://a.example/cb'] },
      { id: 'web', redirectUris: ['https://b.example/cb'] },
    ];
    refused(config({}, { clients }), 'tenants[acme].clients[web].id', /client id "web" appears twice/);
    const twoTenants = { tenants: [config().tenants[0], { ...config().tenants[0], slug: 'other' }] };
    assert.equal(parseDeploymentConfig(twoTenants).tenants.length, 2);
  });

  test('session lifetimes: idle no longer than absolute, which it follows when unset', () => {
    const withSessions = (sessions: unknown) => ({
      tenants: [{ slug: 'acme', displayName: 'Acme', sessions }],
    });
    refused(
      withSessions({ idle: 7200, absolute: 3600 }),
      'tenants[acme].sessions.idle',
      /no longer than absolute/,
    );
    refused(withSessions({ absolute: 30 }), 'tenants[acme].sessions.absolute');
    assert.deepEqual(parseDeploymentConfig(withSessions({ absolute: 43_200 })).tenants[0]!.sessions, {
      absolute: 43_200,
    });
  });

  test('ASVS 10.4.8: refresh tokens end within a year, and live unused no longer than in all', () => {
    const lifetimes = (tokenLifetimes: unknown) => config({ tokenLifetimes });
    refused(
      lifetimes({ refreshToken: 90 * 86_400, refreshTokenAbsolute: 30 * 86_400 }),
      'tenants[acme].clients[web].tokenLifetimes.refreshToken',
      /no longer than refreshTokenAbsolute/,
    );
    refused(
      lifetimes({ refreshTokenAbsolute: 366 * 86_400 }),
      'tenants[acme].clients[web].tokenLifetimes.refreshTokenAbsolute',
    );
    const parsed = parseDeploymentConfig(lifetimes({ refreshToken: 86_400, refreshTokenAbsolute: 86_400 }));
    assert.equal(parsed.tenants[0]!.clients[0]!.tokenLifetimes.refreshTokenAbsolute, 86_400);
  });

  test('an ID token algorithm vakt does not sign with is refused', () => {
    refused(config({ idTokenSigningAlg: 'HS256' }), 'tenants[acme].clients[web].idTokenSigningAlg');
    assert.equal(
      parseDeploymentConfig(config({ idTokenSigningAlg: 'ES256' })).tenants[0]!.clients[0]!.idTokenSigningAlg,
      'ES256',
    );
  });

  test('secret and secretEnv together are refused', () => {
    refused(
      config({ secret: 's'.repeat(32), secretEnv: 'WEB_SECRET' }),
      'tenants[acme].clients[web].secretEnv',
      /either secret or secretEnv/,
    );
    assert.ok(parseDeploymentConfig(config({ secretEnv: 'WEB_SECRET' })));
    refused(config({ secret: 'too-short' }), 'tenants[acme].clients[web].secret', /at least 32 characters/);
  });

  test('a bad tenant slug is refused', () => {
    for (const slug of ['Acme', 'acme corp', '-acme', 'acme-', '', 'a'.repeat(64), 'æøå']) {
      refused(config({}, { slug }), `tenants[${slug}].slug`, /lower-case letters, digits and hyphens/);
    }
    for (const slug of ['a', 'acme-2', '0', 'a'.repeat(63)]) {
      assert.equal(parseDeploymentConfig(config({}, { slug })).tenants[0]!.slug, slug);
    }
  });

  test('a redirect URI with a fragment, or not an absolute URL, is refused naming its index', () => {
    refused(
      config({ redirectUris: ['https://web.acme.example/ok', 'https://web.acme.example/cb#frag'] }),
      'tenants[acme].clients[web].redirectUris[1]',
      /without a fragment/,
    );
    refused(config({ redirectUris: ['/callback'] }), 'tenants[acme].clients[web].redirectUris[0]');
    refused(config({ redirectUris: ['not a url'] }), 'tenants[acme].clients[web].redirectUris[0]');
    refused(config({ redirectUris: [] }), 'tenants[acme].clients[web].redirectUris');
    refused(
      config({ postLogoutRedirectUris: ['https://web.acme.example/#bye'] }),
      'tenants[acme].clients[web].postLogoutRedirectUris[0]',
    );
  });

  // Every client is a web client to oidc-provider, which would refuse any redirect URI that is
  // not http(s) only when the tenant is first used; the schema refuses it when the file is read.
  test('a redirect URI that is not http(s) is refused up front', () => {
    refused(
      config({ redirectUris: ['javascript:alert(document.domain)//'] }),
      'tenants[acme].clients[web].redirectUris[0]',
    );
    refused(config({ redirectUris: ['data:text/html,hi'] }), 'tenants[acme].clients[web].redirectUris[0]');
  });

  test('unknown keys and other bad values are refused with their place named', () => {
    refused(config({ colour: 'blue' }), 'tenants[acme].clients[web]', /colour/);
    refused({ tenant: [] }, '(root)', /"tenant"/);
    refused(config({}, { defaultCountry: 'no' }), 'tenants[acme].defaultCountry', /ISO 3166-1/);
    refused(config({}, { locales: ['de'] }), 'tenants[acme].locales[0]');
    refused(
      config({ tokenLifetimes: { authorizationCode: 601 } }),
      'tenants[acme].clients[web].tokenLifetimes.authorizationCode',
    );
    // Every problem is reported at once, not one per attempt.
    const both = refused(
      { tenants: [{ slug: 'acme', displayName: '', clients: [{ id: 'web', redirectUris: ['x'] }] }] },
      'tenants[acme].displayName',
    );
    assert.ok(both.includes('tenants[acme].clients[web].redirectUris[0]: '), both);
  });

  describe('from a file', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'vakt-config-'));
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('YAML and JSON files give the same configuration', () => {
      const yamlFile = join(dir, 'vakt.yaml');
      const jsonFile = join(dir, 'vakt.json');
      writeFileSync(yamlFile, stringify(config()));
      writeFileSync(jsonFile, JSON.stringify(config()));
      assert.deepEqual(loadDeploymentConfig(yamlFile), parseDeploymentConfig(config()));
      assert.deepEqual(loadDeploymentConfig(jsonFile), parseDeploymentConfig(config()));
    });

    test('a bad file names the file and the field; unreadable and unparsable files are ConfigErrors', () => {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, stringify(config({ redirectUris: ['https://x.example/#f'] })));
      assert.throws(
        () => loadDeploymentConfig(bad),
        (error: Error) =>
          error instanceof ConfigError &&
          error.message.startsWith(`${bad}: `) &&
          error.message.includes('tenants[acme].clients[web].redirectUris[0]'),
      );
      const broken = join(dir, 'broken.yaml');
      writeFileSync(broken, 'tenants: [\n  - slug: acme\n');
      assert.throws(
        () => loadDeploymentConfig(broken),
        (error: Error) => error instanceof ConfigError && /not valid YAML/.test(error.message),
      );
      const brokenJson = join(dir, 'broken.json');
      writeFileSync(brokenJson, '{"tenants": [}');
      assert.throws(
        () => loadDeploymentConfig(brokenJson),
        (error: Error) => error instanceof ConfigError && /not valid JSON/.test(error.message),
      );
      assert.throws(
        () => loadDeploymentConfig(join(dir, 'missing.yaml')),
        (error: Error) => error instanceof ConfigError && /cannot read/.test(error.message),
      );
    });
  });
});

describe('process settings in production', () => {
  const SECRET = 'production-secret-0123456789-abcdef';
  const good = {
    VAKT_SECRET: SECRET,
    VAKT_PUBLIC_URL: 'https://id.example.com/',
    DATABASE_URL: 'postgres://db/vakt',
  };

  function refusedSettings(env: Record<string, string>, variable: string): string {
    let error: unknown;
    try {
      loadSettings('production', env);
    } catch (caught) {
      error = caught;
    }
    assert.ok(
      error instanceof ConfigError,
      `expected a ConfigError for ${JSON.stringify(env)}, got ${String(error)}`,
    );
    assert.ok(error.message.includes(variable), `the message names ${variable}: ${error.message}`);
    return error.message;
  }

  test('a good production environment loads, listening on every interface', () => {
    const settings = loadSettings('production', good);
    assert.equal(settings.mode, 'production');
    assert.equal(settings.secret, SECRET);
    assert.equal(settings.publicUrl, 'https://id.example.com', 'the trailing slash is dropped');
    assert.equal(settings.host, '0.0.0.0');
    assert.equal(settings.databaseUrl, 'postgres://db/vakt');
  });

  test('a missing or short VAKT_SECRET is refused, naming the variable and not echoing the value', () => {
    const { VAKT_SECRET: _omitted, ...withoutSecret } = good;
    refusedSettings(withoutSecret, 'VAKT_SECRET');
    refusedSettings({ ...good, VAKT_SECRET: '' }, 'VAKT_SECRET');
    const short = 'short-secret-but-31-characters!';
    assert.equal(short.length, 31);
    const message = refusedSettings({ ...good, VAKT_SECRET: short }, 'VAKT_SECRET');
    assert.ok(!message.includes(short), 'the secret is not in the message');
    assert.equal(loadSettings('production', { ...good, VAKT_SECRET: `${short}x` }).secret.length, 32);
  });

  test('a missing, http or invalid VAKT_PUBLIC_URL is refused, naming the variable', () => {
    const { VAKT_PUBLIC_URL: _omitted, ...withoutUrl } = good;
    refusedSettings(withoutUrl, 'VAKT_PUBLIC_URL');
    refusedSettings({ ...good, VAKT_PUBLIC_URL: 'http://id.example.com' }, 'VAKT_PUBLIC_URL');
    refusedSettings({ ...good, VAKT_PUBLIC_URL: 'id.example.com' }, 'VAKT_PUBLIC_URL');
  });

  test('a short VAKT_SECRET is refused in development too; a malformed variable is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vakt-settings-'));
    try {
      assert.throws(
        () => loadSettings('development', { VAKT_SECRET: 'short', VAKT_DATA_DIR: dir }),
        (error: Error) =>
          error instanceof ConfigError &&
          error.message.includes('VAKT_SECRET') &&
          !error.message.includes("'short'"),
      );
      assert.throws(
        () => loadSettings('development', { PORT: 'eighty', VAKT_DATA_DIR: dir }),
        (error: Error) => error instanceof ConfigError && error.message.includes('PORT'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
