// The limit store contract (src/store/limit-store.ts): the limits on sending codes and the guess
// waits give the same answers, to the second, on the database (SQLite, PostgreSQL) and on Redis
// (VAKT_REDIS_URL). Checked through the services that use the store, with an injected clock.
// Cites: ASVS 2.4.1 (anti-automation on sending codes: per identifier, IP and destination
// country), ASVS 6.6.3 (code checks rate-limited), ASVS 6.3.1 (throttling after repeated
// failures), NIST 800-63B (at most 100 consecutive failures per account; success resets).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Core, createCore } from '../src/composition.js';
import { type CodeLimits, LONGEST_LIMIT_WINDOW_SECONDS } from '../src/config/schema.js';
import { loadSettings } from '../src/config/settings.js';
import { createManualClock } from '../src/domain/clock.js';
import type { CodeRequest } from '../src/domain/one-time-codes.js';
import { ACCOUNT_FAILURE_LIMIT, type ThrottleKey } from '../src/domain/throttle.js';
import { type DatabaseKind, postgres, sqlite, type TestDatabase } from './helpers/databases.js';
import { createTestRedis, redisSkip, type TestRedis } from './helpers/redis.js';
import { TEST_SECRET, testTenant } from './helpers/vakt.js';

interface Backend {
  name: string;
  skip: string | undefined;
  database: DatabaseKind;
  redis: boolean;
}

const BACKENDS: Backend[] = [
  { name: 'sqlite', skip: sqlite.skip, database: sqlite, redis: false },
  { name: 'postgres', skip: postgres.skip, database: postgres, redis: false },
  { name: 'redis', skip: redisSkip, database: sqlite, redis: true },
];

const MINUTE = 60_000;
const NONE = { perIdentifier: [], perIp: [], perCountry: [] } satisfies CodeLimits;

async function openCore(database: TestDatabase, redis: TestRedis | undefined, clock: { now(): number }) {
  const settings = loadSettings('test', {
    VAKT_SECRET: TEST_SECRET,
    DATABASE_URL: database.url,
    VAKT_DATA_DIR: mkdtempSync(join(tmpdir(), 'vakt-data-')),
    ...(redis ? { VAKT_REDIS_URL: redis.url } : {}),
  });
  const core = createCore(settings, { clock, poolSize: 4, redisKeyPrefix: redis?.prefix });
  await core.migrate();
  await core.limits.connect();
  return core;
}

for (const backend of BACKENDS) {
  describe(`limit store contract on ${backend.name}`, { skip: backend.skip }, () => {
    const clock = createManualClock(1_700_000_000_000);
    let database: TestDatabase;
    let redis: TestRedis | undefined;
    let core: Core;

    before(async () => {
      database = await backend.database.create();
      if (backend.redis) redis = await createTestRedis();
      core = await openCore(database, redis, clock);
      await core.tenants.applyDeploymentConfig({
        tenants: ['acme', 'other'].map((slug) => testTenant({ slug })),
      });
    });

    after(async () => {
      await core?.close();
      await redis?.drop();
      await database?.drop();
    });

    const request = (destination: string, extra: Partial<CodeRequest> = {}): CodeRequest => ({
      tenant: 'acme',
      journey: `journey-${destination}`,
      purpose: 'signup',
      kind: destination.startsWith('+') ? 'phone' : 'email',
      destination,
      ip: '192.0.2.1',
      ...extra,
    });

    /** Asks for a place and, when given one, sends (or fails to deliver) the code; the refusal's seconds. */
    async function send(limits: CodeLimits, req: CodeRequest, delivered = true, on: Core = core) {
      const limit = await on.codes.checkLimits(limits, req);
      if ('refused' in limit) return limit.refused.retryAfterSeconds;
      const pending = await on.codes.create(req, limit.place);
      if (delivered) await on.codes.markSent(pending);
      else await on.codes.discard(pending);
      return undefined;
    }

    test('ASVS 2.4.1: per identifier, the 4th code in 10 minutes is refused until the oldest leaves the window, to the second', async () => {
      const limits = { ...NONE, perIdentifier: [{ seconds: 600, max: 3 }] };
      const to = request('window@example.com');
      for (let i = 0; i < 3; i++) {
        assert.equal(await send(limits, to), undefined, `code ${i + 1}`);
        clock.advance(MINUTE);
      }
      assert.equal(await send(limits, to), 420, 'the first code leaves the window 7 minutes from now');
      clock.advance(419_000);
      assert.equal(await send(limits, to), 1);
      clock.advance(1000);
      assert.equal(await send(limits, to), undefined, 'the window moved on by one code');
      assert.equal(await send(limits, to), 60, 'and the next place frees a minute later');
    });

    test('ASVS 2.4.1: the longest wait of several windows is the answer, and refusals are not counted', async () => {
      const limits = {
        ...NONE,
        perIdentifier: [
          { seconds: 600, max: 3 },
          { seconds: 86_400, max: 4 },
        ],
      };
      const to = request('daily@example.com');
      for (let i = 0; i < 4; i++) {
        assert.equal(await send(limits, to), undefined, `code ${i + 1}`);
        clock.advance(10 * MINUTE);
      }
      for (let i = 0; i < 5; i++) assert.equal(await send(limits, to), 86_400 - 40 * 60, `refusal ${i + 1}`);
      clock.advance((86_400 - 40 * 60) * 1000);
      assert.equal(await send(limits, to), undefined, 'one place freed, none taken by the refusals');
      assert.equal(await send(limits, to), 600);
    });

    test('a failed delivery gives its place back: four failures, then three codes still go', async () => {
      const limits = { ...NONE, perIdentifier: [{ seconds: 600, max: 3 }] };
      const to = request('flaky@example.com');
      for (let i = 0; i < 4; i++) assert.equal(await send(limits, to, false), undefined, `failure ${i + 1}`);
      for (let i = 0; i < 3; i++) assert.equal(await send(limits, to), undefined, `code ${i + 1}`);
      assert.equal(await send(limits, to), 600);
    });

    test('ASVS 2.4.1: a week-long window still counts a code sent 6 days ago, after a sweep too', async () => {
      const limits = { ...NONE, perIdentifier: [{ seconds: LONGEST_LIMIT_WINDOW_SECONDS, max: 1 }] };
      const to = request('weekly@example.com');
      assert.equal(await send(limits, to), undefined);
      clock.advance(6 * 24 * 3600_000);
      await core.sweep();
      assert.equal(await send(limits, to), 24 * 3600);
    });

    test('ASVS 2.4.1: per IP address and per destination country, counted apart from each other and per tenant', async () => {
      const limits = {
        ...NONE,
        perIp: [{ seconds: 600, max: 2 }],
        perCountry: [{ seconds: 3600, max: 1 }],
      };
      const ip = '198.51.100.7';
      assert.equal(await send(limits, request('ip-one@example.com', { ip })), undefined);
      assert.equal(await send(limits, request('ip-two@example.com', { ip })), undefined);
      assert.equal(await send(limits, request('ip-three@example.com', { ip })), 600, 'a third from one IP');
      assert.equal(
        await send(limits, request('ip-three@example.com', { ip, tenant: 'other' })),
        undefined,
        'another tenant has its own count',
      );
      assert.equal(await send(limits, request('+46701112233', { ip: '198.51.100.8' })), undefined);
      assert.equal(
        await send(limits, request('+46701112244', { ip: '198.51.100.9' })),
        3600,
        'Sweden is full',
      );
      assert.equal(
        await send(limits, request('+4793411223', { ip: '198.51.100.10' })),
        undefined,
        'Norway is not',
      );
    });

    /** Takes `n` guesses that are counted, moving the clock past any wait first. */
    async function failGuesses(keys: ThrottleKey[], n: number) {
      for (let i = 0; i < n; i++) {
        const wait = await core.throttle.take('acme', keys);
        if (wait !== undefined) {
          clock.advance(wait * 1000);
          i--;
        }
      }
    }

    test('ASVS 6.3.1: typed-identifier waits start at the 5th failure and double, a success forgets them, an hour forgets them too', async () => {
      const keys: ThrottleKey[] = ['id:guess@example.com'];
      const take = () => core.throttle.take('acme', keys);
      for (let i = 1; i <= 5; i++) assert.equal(await take(), undefined, `free guess ${i}`);
      assert.equal(await take(), 1, 'the 5th failure earns a wait of 1 s');
      assert.equal(await take(), 1, 'a refused guess is not counted');
      clock.advance(1000);
      assert.equal(await take(), undefined, 'the 6th guess');
      assert.equal(await take(), 2, 'then 2 s');
      assert.equal(await core.throttle.take('other', keys), undefined, 'another tenant counts apart');
      await core.throttle.giveBack('acme', [], keys);
      for (let i = 1; i <= 5; i++) assert.equal(await take(), undefined, `forgotten: free guess ${i} again`);

      clock.advance(61 * MINUTE);
      for (let i = 1; i <= 5; i++)
        assert.equal(await take(), undefined, `an hour later, counting starts at 1 (${i})`);
      assert.equal(await take(), 1);
    });

    test('ASVS 6.3.1: a guess counts before it is checked, and one that was right gives its try back', async () => {
      const keys: ThrottleKey[] = ['ip:198.51.100.7'];
      const take = () => core.throttle.take('acme', keys);
      await failGuesses(keys, 19);
      await core.throttle.giveBack('acme', keys);
      assert.equal(await take(), undefined, 'the 19th again, since the last one was right');
      assert.equal(await take(), undefined, 'the 20th');
      assert.equal(await take(), 1, 'waits from the 20th failure');
      await core.throttle.giveBack('acme', keys);
      assert.equal(await take(), undefined, 'the right guess took its wait with it');
      assert.equal(await take(), 1);
    });

    test('ASVS 6.3.1: twenty guesses at the same moment on one identifier: 5 are taken, 15 wait', async () => {
      const keys: ThrottleKey[] = ['id:burst@example.com'];
      const answers = await Promise.all(Array.from({ length: 20 }, () => core.throttle.take('acme', keys)));
      assert.equal(answers.filter((a) => a === undefined).length, 5);
      assert.deepEqual(
        answers.filter((a) => a !== undefined),
        Array(15).fill(1),
      );
    });

    // The bench found this: logins from one address all give their tries back, yet on
    // PostgreSQL the count crept up until the address waited (a give-back landed between a
    // take's read and its write, and was lost).
    test('ASVS 6.3.1: right guesses made at the same moment all give their tries back', async () => {
      const keys: ThrottleKey[] = ['ip:192.0.2.77'];
      await Promise.all(
        Array.from({ length: 15 }, async () => {
          for (let i = 0; i < 4; i++) {
            assert.equal(await core.throttle.take('acme', keys), undefined, 'never more than 15 in flight');
            await core.throttle.giveBack('acme', keys);
          }
        }),
      );
      for (let i = 1; i <= 20; i++)
        assert.equal(
          await core.throttle.take('acme', keys),
          undefined,
          `free guess ${i}: nothing was left over`,
        );
      assert.equal(await core.throttle.take('acme', keys), 1);
    });

    // As a login counts it: two keys per guess, the typed identifier and the address. Each guess
    // here has its own identifier, so only the address's lock (the second key in sorted order)
    // keeps them from all reading the address's count before any of them writes it.
    test('ASVS 6.6.3: twenty guesses at the same moment on twenty identifiers from one address with 5 tries left: 5 are taken', async () => {
      const ip: ThrottleKey = 'ip:192.0.2.78';
      await failGuesses([ip], 15);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => core.throttle.take('acme', [`id:burst${i}@example.com`, ip])),
      );
      assert.equal(answers.filter((a) => a === undefined).length, 5);
      assert.equal(answers.filter((a) => a !== undefined).length, 15);
    });

    test('ASVS 6.6.3: an IP address waits from its 20th failure, at most 15 minutes', async () => {
      const keys: ThrottleKey[] = ['ip:203.0.113.5'];
      await failGuesses(keys, 20);
      assert.equal(await core.throttle.take('acme', keys), 1);
      await failGuesses(keys, 20);
      assert.equal(await core.throttle.take('acme', keys), 15 * 60);
      const calm: ThrottleKey = 'id:calm@example.com';
      assert.equal(
        await core.throttle.take('acme', [calm, ...keys]),
        15 * 60,
        'the longest wait of the keys',
      );
      for (let i = 1; i <= 5; i++)
        assert.equal(
          await core.throttle.take('acme', [calm]),
          undefined,
          `the refused guess took nothing (${i})`,
        );
      assert.equal(await core.throttle.take('acme', [calm]), 1);
    });

    test(`NIST 800-63B: ${ACCOUNT_FAILURE_LIMIT} consecutive failures per account are counted; a success resets`, async () => {
      for (let i = 0; i < ACCOUNT_FAILURE_LIMIT; i++) await core.throttle.accountFailed('acme', 'acct-1');
      clock.advance(24 * 60 * MINUTE);
      assert.equal(
        await core.throttle.accountFailures('acme', 'acct-1'),
        ACCOUNT_FAILURE_LIMIT,
        'time forgets nothing',
      );
      await core.throttle.accountSucceeded('acme', 'acct-1');
      assert.equal(await core.throttle.accountFailures('acme', 'acct-1'), 0);
    });

    if (backend.redis) {
      test('on Redis, two processes sending 20 codes at once take exactly the 3 places there are', async () => {
        const second = await openCore(database, redis, clock);
        try {
          const limits = { ...NONE, perIdentifier: [{ seconds: 600, max: 3 }] };
          const to = request('burst@example.com');
          const answers = await Promise.all(
            Array.from({ length: 20 }, (_, i) => send(limits, to, true, i % 2 ? core : second)),
          );
          assert.equal(answers.filter((a) => a === undefined).length, 3);
          assert.ok(answers.every((a) => a === undefined || a === 600));
        } finally {
          await second.close();
        }
      });

      test('on Redis, every key expires: nothing grows without bound', async () => {
        const keys = await redis!.keys();
        assert.ok(keys.length > 0);
        for (const key of keys) {
          const ttl = await redis!.client.pttl(key);
          assert.ok(ttl > 0 && ttl <= LONGEST_LIMIT_WINDOW_SECONDS * 1000, `${key} has a TTL (${ttl} ms)`);
        }
      });
    }
  });
}
