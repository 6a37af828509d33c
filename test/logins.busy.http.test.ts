// When too many password hashes wait already (VAKT_HASH_QUEUE), a login, a sign-up, a password
// change or a reset is refused at once, over HTTP against a real vakt, on SQLite and PostgreSQL:
// 503 with Retry-After and the form again with a localised message, and nothing of the refused
// request kept. Its guess is not counted (a person is not made to wait for the server's load),
// a refused change or reset leaves the old password, and the sign-up's place in the code limits
// goes back (no code was sent). A flood waits no longer than the line allows, instead of making
// every login slow.
// Here one hash runs at a time and none may wait: a login for an account whose imported argon2id
// hash is deliberately slow holds the one place while the others are refused.
// Cites: ASVS 6.3.1 (throttling counts guesses, not refusals), ASVS 6.3.8 (an unknown identifier
// is refused as a known one), ASVS 2.4.1 (code limits count sent codes), RFC 9110 15.6.4 and
// 10.2.3 (503, Retry-After).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { en } from '../src/ui/messages/en.js';
import { nb } from '../src/ui/messages/nb.js';
import { sv } from '../src/ui/messages/sv.js';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formField, type Response, UserAgent } from './helpers/http-client.js';
import {
  loginPage as journeyLoginPage,
  passwordChange,
  provedReset,
  signupPage,
  submitForm,
} from './helpers/journeys.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { startOneHashAtATime } from './helpers/slow-hash.js';
import { type RunningVakt, randomPassword } from './helpers/vakt.js';

// The slow hash takes LONGER_PASSES: the 18 refused requests must all be answered while it runs
// (0.5-0.7 s on the slow machine).

for (const kind of databaseKinds) {
  describe(`a full line of password hashes on ${kind.name}`, { skip: kind.skip, timeout: 120_000 }, () => {
    let running: RunningVakt;
    let mailbox: Mailbox;
    let issuer: string;
    const password = randomPassword();

    before(async () => {
      mailbox = await startMailbox();
      running = await startOneHashAtATime(kind, {
        waiting: 0,
        mailbox,
        accounts: [
          ['forgetful@example.com', password],
          ['person@example.com', password],
        ],
      });
      issuer = `${running.url}/t/acme`;
    });

    after(async () => {
      await running?.stop();
      await mailbox?.close();
    });

    const agent = (language: string) =>
      new UserAgent({ 'accept-language': language, 'sec-fetch-site': 'same-origin' });

    const loginPage = (browser: UserAgent) => journeyLoginPage(browser, issuer);

    function assertRefused(response: Response, message: string) {
      assert.equal(response.status, 503, alertText(response));
      const retryAfter = response.headers.get('retry-after');
      assert.match(retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After in whole seconds');
      assert.equal(alertText(response), message);
      assert.doesNotMatch(response.body, /aria-invalid/, "no field is blamed for the server's load");
    }

    test('logins, sign-ups, changes and resets are refused at once while the line is full; none counts or changes anything', async () => {
      const norwegian = agent('nb');
      const english = agent('en');
      const slowBrowser = agent('en');
      const unknownBrowser = agent('nb');
      const [slowPage, personPage, unknownPage] = await Promise.all([
        loginPage(slowBrowser),
        loginPage(norwegian),
        loginPage(unknownBrowser),
      ]);
      const signupForm = await signupPage(english, issuer);
      // The same person, logged in elsewhere, on the page that changes the password.
      const change = await passwordChange(agent('en'), issuer, {
        identifier: 'person@example.com',
        password,
      });

      // Another person, who forgot the password, proved the address with a code and is asked
      // for a new one.
      const reset = await provedReset(agent('sv'), issuer, mailbox, 'forgetful@example.com');
      const resetPassword = randomPassword();

      // The slow account's login takes the one place, with a wrong password.
      let slowSettled = false;
      const slowLogin = submitForm(slowBrowser, slowPage, '/login', {
        identifier: 'slow@example.com',
        password: 'not the slow one',
      }).finally(() => {
        slowSettled = true;
      });
      await sleep(200);

      // More wrong passwords than the free guesses (5 per identifier): refused, not counted.
      let page = personPage;
      for (let i = 0; i < 7; i++) {
        const refused = await submitForm(norwegian, page, '/login', {
          identifier: 'person@example.com',
          password: `wrong ${i}`,
        });
        assertRefused(refused, nb['server.busy']);
        assert.equal(formField(refused.body, 'identifier'), 'person@example.com', 'what was typed stays');
        page = refused;
      }
      const unknown = await submitForm(unknownBrowser, unknownPage, '/login', {
        identifier: 'nobody@example.com',
        password: 'whatever it is',
      });
      assertRefused(unknown, nb['server.busy']);

      const signup = await submitForm(english, signupForm, '/signup', {
        identifier: 'newcomer@example.com',
        password: randomPassword(),
      });
      assertRefused(signup, en['server.busy']);
      assert.equal(mailbox.last('newcomer@example.com'), undefined, 'no code was sent');

      // Asking for the current password is a guess too (per account): refused, not counted.
      for (let i = 0; i < 7; i++)
        assertRefused(await change(`wrong ${i}`, randomPassword()), en['server.busy']);
      const newPassword = randomPassword();
      assertRefused(await change(password, newPassword), en['server.busy']);

      assertRefused(await reset(resetPassword), sv['server.busy']);

      assert.equal(
        slowSettled,
        false,
        'the slow verify must still hold the place for this test to mean anything',
      );
      const slowAnswer = await slowLogin;
      assert.equal(slowAnswer.status, 401, 'the login that held the place was checked, not refused');

      // The line is empty: the person gets in at once, no wait for the refused tries.
      const login = await submitForm(norwegian, page, '/login', {
        identifier: 'person@example.com',
        password,
      });
      assert.equal(login.status, 303, `the login answered ${login.status}: ${alertText(login)}`);
      assert.match(login.headers.get('location') ?? '', /\/auth\//);
      // The old password still worked, so the refused change changed nothing; now it goes through.
      const changed = await change(password, newPassword);
      assert.equal(changed.status, 200, `the change answered ${changed.status}: ${alertText(changed)}`);

      // The refused reset set nothing: the old password still logs in, and now the reset goes through.
      const fresh = agent('en');
      const stillOld = await submitForm(fresh, await loginPage(fresh), '/login', {
        identifier: 'forgetful@example.com',
        password,
      });
      assert.equal(stillOld.status, 303, alertText(stillOld));
      const done = await reset(resetPassword);
      assert.equal(done.status, 303, `the reset answered ${done.status}: ${alertText(done)}`);

      // The refused sign-up gave its place back: the one code this address may get is sent now.
      const again = await submitForm(english, signup, '/signup', {
        identifier: 'newcomer@example.com',
        password: randomPassword(),
      });
      assert.equal(again.status, 303, `the sign-up answered ${again.status}: ${alertText(again)}`);
      assert.match(mailbox.code('newcomer@example.com'), /^\d{6}$/);
    });
  });
}
