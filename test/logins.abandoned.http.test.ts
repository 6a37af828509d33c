// A login whose client goes away while its password check waits in the line (the browser was
// closed, the person pressed Stop, a proxy gave up) leaves the line: its check is never made, its
// guess goes back, and the hashes after it do not wait for it. Over HTTP against a real vakt, on
// SQLite and PostgreSQL.
// Here one hash runs at a time: a login for an account whose imported argon2id hash is
// deliberately slow holds the place while five wrong passwords for another account wait behind
// it, and their clients abort. Had they been checked, they would be the identifier's five free
// failures, and its next login would have to wait.
// Then stop() ends promptly: after such aborts Node counted some kept-alive connections as busy
// with no request on them, and stop() waited 67 s for them (src/server/graceful-close.ts).
// Cites: ASVS 6.3.1 (throttling counts guesses that were checked).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseKinds } from './helpers/databases.js';
import { cuttableTransport, type Response, UserAgent } from './helpers/http-client.js';
import { loginPage as journeyLoginPage, submitForm } from './helpers/journeys.js';
import { authorizationUrl, logInThroughPage } from './helpers/login.js';
import { startOneHashAtATime } from './helpers/slow-hash.js';
import { type RunningVakt, randomPassword } from './helpers/vakt.js';

/** Far below the keep-alive timeout (72 s) that held stop(), far above a close's own work. */
const PATIENCE_MS = 20_000;
/** The identifier's free guesses, in flight or failed (a sixth at once is refused with 429). */
const ABANDONED = 5;

for (const kind of databaseKinds) {
  describe(`a login abandoned in the line of password hashes on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    let stopped: Promise<void> | undefined;
    const password = randomPassword();

    before(async () => {
      running = await startOneHashAtATime(kind, {
        waiting: 16,
        accounts: [['person@example.com', password]],
      });
    });

    after(async () => {
      await (stopped ?? running?.stop());
    });

    const headers = { 'accept-language': 'en', 'sec-fetch-site': 'same-origin' };

    const loginPage = (browser: UserAgent) => journeyLoginPage(browser, `${running.url}/t/acme`);
    const submit = (browser: UserAgent, page: Response, form: Record<string, string>) =>
      submitForm(browser, page, '/login', form);

    test('is never checked: its guess goes back, and the account is not made to wait', async () => {
      const slowBrowser = new UserAgent(headers);
      const slowPage = await loginPage(slowBrowser);
      const cuts = cuttableTransport();
      const leaving = Array.from({ length: ABANDONED }, () => new UserAgent(headers, cuts.transport));
      const pages = await Promise.all(leaving.map((browser) => loginPage(browser)));

      // The slow account's check takes the one place.
      let slowAnsweredAt = 0;
      const slow = submit(slowBrowser, slowPage, { identifier: 'slow@example.com', password: 'not it' }).then(
        (response) => {
          slowAnsweredAt = Date.now();
          return response;
        },
      );
      await sleep(300);
      // Five wrong passwords for the person wait behind it; then their clients go.
      const abandoned = leaving.map((browser, i) =>
        submit(browser, pages[i]!, { identifier: 'person@example.com', password: 'a wrong one' }).then(
          (response) => response.status,
          (error: Error) => error.name,
        ),
      );
      await sleep(300);
      cuts.cut();
      const abortedAt = Date.now();
      assert.deepEqual(await Promise.all(abandoned), Array(ABANDONED).fill('AbortError'));

      assert.equal((await slow).status, 401);
      assert.ok(slowAnsweredAt > abortedAt, 'the five were still waiting when their clients went');

      // Checked, the five would have used up the person's free failures, and the second wrong
      // password after them would have to wait (1 s after the fifth failure, then 2 s).
      for (let i = 0; i < 2; i++) {
        const browser = new UserAgent(headers);
        const wrong = await submit(browser, await loginPage(browser), {
          identifier: 'person@example.com',
          password: 'still wrong',
        });
        assert.equal(
          wrong.status,
          401,
          `wrong password ${i + 1} after the abandoned ones is checked, not made to wait`,
        );
      }
      const { callback } = await logInThroughPage(
        new UserAgent(headers),
        authorizationUrl(`${running.url}/t/acme`),
        { identifier: 'person@example.com', password },
      );
      assert.ok(callback.searchParams.get('code'), 'and the right one logs in');

      stopped = running.stop();
      const outcome = await Promise.race([
        stopped.then(() => 'stopped'),
        sleep(PATIENCE_MS).then(() => 'still waiting'),
      ]);
      assert.equal(outcome, 'stopped', `stop() still waited after ${PATIENCE_MS / 1000} s`);
    });
  });
}
