// A login whose client went away before its password check was even asked for (while the
// throttle's database call waited) is abandoned like one that goes while the check waits
// (logins.abandoned.http.test.ts): the check is never made and its try goes back. The close
// event has passed by the time the check starts, so the login must see that the response is
// already gone, not wait for an event that will not come again.
// PostgreSQL only: there, the throttle's call waits on an advisory lock per key, which this test
// holds from outside to open the window. SQLite's calls are synchronous, so no close can come
// between the throttle and the check.
// Cites: ASVS 6.3.1 (throttling counts guesses that were checked).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { postgres } from './helpers/databases.js';
import { alertText, cuttableTransport, UserAgent } from './helpers/http-client.js';
import { loginPage, submitForm } from './helpers/journeys.js';
import { createEmailAccounts, type RunningVakt, randomPassword, startVakt } from './helpers/vakt.js';

/** The wrong passwords an identifier may have in flight or failed; one more at once gets 429. */
const FREE_GUESSES = 5;
/** Long enough for the server to see a closed socket, or a fast check to finish. */
const SETTLE_MS = 300;

describe('a login gone before its password check on postgres', {
  skip: postgres.skip,
  timeout: 60_000,
}, () => {
  let running: RunningVakt;
  let locker: pg.Client;
  const email = `gone-${randomPassword().slice(3).toLowerCase()}@example.com`;
  const password = randomPassword();
  // The throttle's lock key for the typed identifier on tenant acme, in lock space guessKeys (1):
  // the key that src/store/throttle-repository.ts locks before it counts a guess.
  const lockKey = `acme\nid:${email}`;

  before(async () => {
    running = await startVakt(postgres);
    await createEmailAccounts(running, [[email, { password }]]);
    locker = new pg.Client({ connectionString: running.database.url });
    await locker.connect();
  });
  after(async () => {
    await locker?.end();
    await running?.stop();
  });

  /** How many sessions wait for the identifier's lock. */
  async function waitingForLock(): Promise<number> {
    const { rows } = await locker.query<{ n: string }>(
      `select count(*) as n from pg_locks
        where locktype = 'advisory' and not granted
          and ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 1)`,
      [lockKey],
    );
    return Number(rows[0]?.n);
  }

  async function until(condition: () => Promise<boolean>, what: string) {
    for (let tries = 0; tries < 200; tries++) {
      if (await condition()) return;
      await sleep(25);
    }
    assert.fail(`timed out waiting until ${what}`);
  }

  const browser = (transport?: ReturnType<typeof cuttableTransport>) =>
    new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' }, transport?.transport);

  test('five wrong passwords whose clients left during the throttle call count for nothing', async () => {
    await locker.query('select pg_advisory_lock(hashtextextended($1, 1))', [lockKey]);
    const cuts = cuttableTransport();
    const pages = await Promise.all(
      Array.from({ length: FREE_GUESSES }, async () => {
        const agent = browser(cuts);
        return { agent, page: await loginPage(agent, running.issuer) };
      }),
    );
    const sent = pages.map(({ agent, page }, i) =>
      submitForm(agent, page, '/login', { identifier: email, password: `wrong ${i}` }).then(
        () => assert.fail('answered, though its client had gone'),
        (error: Error) => assert.equal(error.name, 'AbortError'),
      ),
    );
    await until(async () => (await waitingForLock()) === FREE_GUESSES, 'every login waits for the lock');
    cuts.cut();
    await Promise.all(sent);
    // The server sees each socket close while the login still waits for the database.
    await sleep(SETTLE_MS);
    await locker.query('select pg_advisory_unlock(hashtextextended($1, 1))', [lockKey]);
    await until(async () => (await waitingForLock()) === 0, 'every login has its lock');
    await sleep(SETTLE_MS);

    // Had the five checks been made, they would have counted, and this sixth wrong password
    // would have to wait (429) instead of being checked.
    const agent = browser();
    const wrong = await submitForm(agent, await loginPage(agent, running.issuer), '/login', {
      identifier: email,
      password: 'wrong again',
    });
    assert.equal(wrong.status, 401, alertText(wrong));
    const right = await submitForm(agent, await loginPage(agent, running.issuer), '/login', {
      identifier: email,
      password,
    });
    assert.equal(right.status, 303, alertText(right));
  });
});
