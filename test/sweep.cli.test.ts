// `vakt sweep` (and the server's periodic sweep, which runs the same code): rows no request can
// see any more are deleted, on SQLite and PostgreSQL. The rows are made through the services with
// a clock set in the past; the command then runs as an operator runs it, on the real clock.
// Pins: guess counters of typed identifiers and IP addresses idle for a day go, fresher ones stay;
// an account's failures are never swept (NIST 800-63B: after 100 consecutive failures the password
// stays locked until it is reset); sent codes stay for the longest limit window (ASVS 2.4.1), then go,
// and what a code's journey carried (a sign-up's password hash) is wiped once the journey is over.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Core, createCore } from '../src/composition.js';
import { loadSettings } from '../src/config/settings.js';
import { createManualClock } from '../src/domain/clock.js';
import { ACCOUNT_FAILURE_LIMIT } from '../src/domain/throttle.js';
import { databaseKinds, type TestDatabase } from './helpers/databases.js';
import { runVakt } from './helpers/process.js';
import { TEST_SECRET, testTenant } from './helpers/vakt.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

for (const kind of databaseKinds) {
  describe(`vakt sweep on ${kind.name}`, { skip: kind.skip, timeout: 120_000 }, () => {
    let database: TestDatabase;
    let env: Record<string, string>;
    const codeIds: Record<'old' | 'recent' | 'fresh', string> = { old: '', recent: '', fresh: '' };

    const open = (clock = createManualClock()) => {
      const core = createCore(loadSettings('test', env), { clock, poolSize: 2 });
      return { core, clock };
    };

    async function sendCode(core: Core, destination: string): Promise<string> {
      const request = {
        tenant: 'acme',
        journey: `journey-${destination}`,
        purpose: 'signup' as const,
        kind: 'email' as const,
        destination,
        payload: { passwordHash: 'carried by the journey' },
      };
      const limit = await core.codes.checkLimits(testTenant().codeLimits, request);
      assert.ok('place' in limit);
      await core.codes.markSent(await core.codes.create(request, limit.place));
      return limit.place.id;
    }

    before(async () => {
      database = await kind.create();
      env = {
        DATABASE_URL: database.url,
        VAKT_SECRET: TEST_SECRET,
        VAKT_DATA_DIR: mkdtempSync(join(tmpdir(), 'vakt-data-')),
      };
      const { core, clock } = open(createManualClock(Date.now() - 8 * DAY));
      try {
        await core.migrate();
        await core.tenants.applyDeploymentConfig({ tenants: [testTenant()] });
        assert.equal(await core.throttle.take('acme', ['id:old@example.com', 'ip:192.0.2.9']), undefined);
        for (let i = 0; i < ACCOUNT_FAILURE_LIMIT; i++) await core.throttle.accountFailed('acme', 'locked');
        codeIds.old = await sendCode(core, 'old@example.com');
        clock.set(Date.now() - 2 * HOUR);
        assert.equal(await core.throttle.take('acme', ['id:recent@example.com']), undefined);
        codeIds.recent = await sendCode(core, 'recent@example.com');
        clock.set(Date.now());
        codeIds.fresh = await sendCode(core, 'fresh@example.com');
      } finally {
        await core.close();
      }
    });

    after(() => database?.drop());

    test('deletes idle guess counters and codes past their retention; keeps the rest and every account lock', async () => {
      const run = await runVakt(['sweep'], env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        /old one-time codes \(1\), idle guess counters \(2\) and old places in code limits \(1\)/,
      );
      const { core } = open();
      try {
        const rows = await core.repos.throttles.find('acme', [
          'id:old@example.com',
          'ip:192.0.2.9',
          'id:recent@example.com',
          'account:locked',
        ]);
        assert.deepEqual(rows.map((r) => r.key).sort(), ['account:locked', 'id:recent@example.com']);
        assert.equal(
          await core.throttle.accountFailures('acme', 'locked'),
          ACCOUNT_FAILURE_LIMIT,
          'still locked',
        );
        assert.equal(await core.repos.codes.findById(codeIds.old), undefined);
        const recent = await core.repos.codes.findById(codeIds.recent);
        assert.ok(recent, 'a code 2 hours old stays');
        assert.equal(recent.payload_encrypted, null, 'but what its journey carried is gone');
        const fresh = await core.repos.codes.findById(codeIds.fresh);
        assert.ok(fresh?.payload_encrypted, 'a journey that can still finish keeps its payload');
      } finally {
        await core.close();
      }
      const again = await runVakt(['sweep'], env);
      assert.match(
        again.stdout,
        /old one-time codes \(0\), idle guess counters \(0\) and old places in code limits \(0\)/,
        'a second sweep finds nothing',
      );
    });
  });
}
