// A sign-up, a password change or a reset whose client goes away while its password hash waits
// in the line leaves the line unmade, as an abandoned login does (logins.abandoned.http.test.ts):
// nothing of it is kept, and no one is left to answer. Over HTTP against a real vakt, on SQLite
// and PostgreSQL.
// Here one hash runs at a time: logins for an account whose imported argon2id hash is
// deliberately slow hold the place while the others wait behind them, and their clients abort.
// Had the hashes been made after all:
// - the sign-up would have sent its code, and used up the one code its address may get;
// - the change and the reset would have set their new passwords;
// - the wrong current passwords would have counted against the account, and a later wrong one
//   would have to wait.
// Cites: ASVS 6.3.1 (throttling counts guesses that were checked), ASVS 2.4.1 (code limits count
// sent codes).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseKinds } from './helpers/databases.js';
import { alertText, cuttableTransport, UserAgent } from './helpers/http-client.js';
import { loginPage, passwordChange, provedReset, signupPage, submitForm } from './helpers/journeys.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { startOneHashAtATime } from './helpers/slow-hash.js';
import { type RunningVakt, randomPassword } from './helpers/vakt.js';

/** The account's free wrong passwords, in flight or failed (a sixth at once is refused with 429). */
const ABANDONED_GUESSES = 5;
/** Long enough for a fast check (tens of ms) to finish; far shorter than the slow hash. */
const SETTLE_MS = 300;

for (const kind of databaseKinds) {
  describe(`password hashes abandoned in the line on ${kind.name}`, {
    skip: kind.skip,
    timeout: 120_000,
  }, () => {
    let running: RunningVakt;
    let mailbox: Mailbox;
    let issuer: string;
    const password = randomPassword();

    before(async () => {
      mailbox = await startMailbox();
      running = await startOneHashAtATime(kind, {
        waiting: 16,
        mailbox,
        accounts: [
          ['changer@example.com', password],
          ['guesser@example.com', password],
          ['forgetful@example.com', password],
        ],
      });
      issuer = `${running.url}/t/acme`;
    });

    after(async () => {
      await running?.stop();
      await mailbox?.close();
    });

    const agent = (transport?: ReturnType<typeof cuttableTransport>) =>
      new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' }, transport?.transport);

    /** A login for the slow account, with a wrong password: it holds the one place a while. */
    async function slowLogin() {
      const browser = agent();
      const page = await loginPage(browser, issuer);
      let settled = false;
      const answer = submitForm(browser, page, '/login', {
        identifier: 'slow@example.com',
        password: 'not the slow one',
      }).finally(() => {
        settled = true;
      });
      return { answer, settled: () => settled };
    }

    /** Sends the form as `send` does, and expects its client to abort it. */
    const abandoned = (send: Promise<unknown>) =>
      send.then(
        () => assert.fail('answered, though its client had gone'),
        (error: Error) => assert.equal(error.name, 'AbortError'),
      );

    test('a sign-up, a change, wrong current passwords and a reset keep nothing; the same requests sent again go through', async () => {
      const cuts = cuttableTransport();
      const newcomer = agent(cuts);
      const signup = await signupPage(newcomer, issuer);
      const changer = agent(cuts);
      const change = await passwordChange(changer, issuer, { identifier: 'changer@example.com', password });
      const guesser = agent(cuts);
      const guess = await passwordChange(guesser, issuer, { identifier: 'guesser@example.com', password });
      const resetter = agent(cuts);
      const reset = await provedReset(resetter, issuer, mailbox, 'forgetful@example.com');

      const first = await slowLogin();
      await sleep(SETTLE_MS);
      // The change's check of the current password waits behind the first slow login; the second
      // slow login waits behind it, so the change's new password waits for its hash behind that.
      const changed = randomPassword();
      const changing = abandoned(change(password, changed));
      await sleep(SETTLE_MS);
      const second = await slowLogin();
      await sleep(SETTLE_MS);
      const waiting = [
        abandoned(
          submitForm(newcomer, signup, '/signup', {
            identifier: 'newcomer@example.com',
            password: randomPassword(),
          }),
        ),
        ...Array.from({ length: ABANDONED_GUESSES }, (_, i) =>
          abandoned(guess(`wrong ${i}`, randomPassword())),
        ),
        abandoned(reset(randomPassword())),
      ];
      assert.equal((await first.answer).status, 401);
      await sleep(SETTLE_MS);
      assert.equal(second.settled(), false, 'the second slow login must still hold the place');
      cuts.cut();
      await Promise.all([changing, ...waiting]);
      assert.equal((await second.answer).status, 401);

      // A login waits behind anything still in the line, so once it is answered, every hash
      // that had stayed in it would have been made.
      const changerAgain = agent();
      const oldWorks = await submitForm(changerAgain, await loginPage(changerAgain, issuer), '/login', {
        identifier: 'changer@example.com',
        password,
      });
      assert.equal(oldWorks.status, 303, `the change set nothing: ${alertText(oldWorks)}`);
      await sleep(SETTLE_MS);

      const newcomerAgain = agent();
      assert.equal(mailbox.last('newcomer@example.com'), undefined, 'the sign-up sent no code');
      const signedUp = await submitForm(newcomerAgain, await signupPage(newcomerAgain, issuer), '/signup', {
        identifier: 'newcomer@example.com',
        password: randomPassword(),
      });
      assert.equal(signedUp.status, 303, `its one code goes now: ${alertText(signedUp)}`);
      assert.match(mailbox.code('newcomer@example.com'), /^\d{6}$/);

      for (let i = 0; i < 2; i++) {
        const wrong = await guess(`still wrong ${i}`, randomPassword());
        assert.equal(wrong.status, 401, `wrong current password ${i + 1} is checked, not made to wait`);
      }

      const forgetfulAgain = agent();
      const stillOld = await submitForm(forgetfulAgain, await loginPage(forgetfulAgain, issuer), '/login', {
        identifier: 'forgetful@example.com',
        password,
      });
      assert.equal(stillOld.status, 303, `the reset set nothing: ${alertText(stillOld)}`);
      const done = await reset(randomPassword());
      assert.equal(done.status, 303, `the reset goes through now: ${alertText(done)}`);
      const done2 = await change(password, changed);
      assert.equal(done2.status, 200, `the change goes through now: ${alertText(done2)}`);
    });
  });
}
