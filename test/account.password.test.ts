// Changing the password as a logged-in person, over HTTP against a real vakt on SQLite and
// PostgreSQL, with a real SMTP server for the notice, openid-client for refresh tokens and a
// relying party's back-channel logout endpoint.
// Cites: ASVS 6.2.3 (a change needs the current password), 6.3.7 (notify after a change),
// 6.3.1 (guesses at the current password throttled; an empty field is no guess), 7.4.3 (option
// to end the other sessions; their grants and tokens die with them, this one's live on),
// back-channel logout (logout token for each ended session), 6.2.4 (policy), 6.2.7 (password
// managers: the account's username beside the new password), WCAG 3.3.1 (the field in error is
// marked, described by the message and focused).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import {
  type BackchannelReceiver,
  startBackchannelReceiver,
  tenantLoggingOutTo,
  verifyLogoutToken,
} from './helpers/backchannel.js';
import { databaseKinds } from './helpers/databases.js';
import { assertCouldNotUpdate, whilePasswordUpdatesRefused } from './helpers/faults.js';
import { alertText, formField, UserAgent } from './helpers/http-client.js';
import { expectSilentRedirect, logInThroughPage } from './helpers/login.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { discoverClient } from './helpers/oidc.js';
import { type SmsGateway, startSmsGateway } from './helpers/sms-gateway.js';
import { deliveryEnv, RP, type RunningVakt, randomPassword, startVakt } from './helpers/vakt.js';

for (const kind of databaseKinds) {
  describe(`changing the password on ${kind.name}`, { skip: kind.skip, timeout: 60_000 }, () => {
    let running: RunningVakt;
    let mailbox: Mailbox;
    let sms: SmsGateway;
    let backchannel: BackchannelReceiver;
    let config: oidc.Configuration;

    before(async () => {
      mailbox = await startMailbox();
      sms = await startSmsGateway();
      backchannel = await startBackchannelReceiver();
      const tenant = tenantLoggingOutTo(backchannel);
      running = await startVakt(kind, {
        env: deliveryEnv(mailbox, sms),
        config: { tenants: [tenant] },
      });
      config = await discoverClient(running.issuer);
    });

    after(async () => {
      await running?.stop();
      await mailbox?.close();
      await sms?.close();
      await backchannel?.close();
    });

    /** Logs in through the hosted page in `agent` and returns the tokens the client got. */
    async function logIn(agent: UserAgent, email: string, password: string) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${RP}/callback`,
        scope: 'openid email offline_access',
        prompt: 'consent',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      const { callback } = await logInThroughPage(agent, url.href, { identifier: email, password });
      return oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
    }

    const page = `/t/acme/account/password`;

    async function change(agent: UserAgent, form: Record<string, string>) {
      const form_page = await agent.request(`${running.url}${page}`);
      assert.equal(form_page.status, 200);
      return agent.request(`${running.url}${page}`, {
        form: { csrf: formField(form_page.body, 'csrf'), ...form },
      });
    }

    async function passwordWorks(email: string, password: string) {
      try {
        await logIn(new UserAgent(), email, password);
        return true;
      } catch {
        return false;
      }
    }

    test('not logged in: a localised 401 page that says to log in at an app, with help, no form and no error', async () => {
      const response = await new UserAgent({ 'accept-language': 'en' }).request(`${running.url}${page}`);
      assert.equal(response.status, 401);
      assert.match(response.body, /<h1>You need to log in first<\/h1>/);
      assert.match(response.body, /first log in at one of the services that use Acme\./);
      assert.match(response.body, /<a href="\/t\/acme\/help\/login-problems\?lang=en" id="login-help">/);
      assert.doesNotMatch(response.body, /Something went wrong|<form/);
    });

    /** Creates an account with verified email addresses (and numbers) and the given password. */
    async function account(email: string, password: string, phones: string[] = []) {
      const created = await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: [email],
        phones,
        password,
        verified: true,
      });
      assert.ok(created.ok);
    }

    /** The attributes of the `<input>` named `name` on `html`. */
    function input(html: string, name: string): string {
      const tag = new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(html)?.[0];
      assert.ok(tag, `no ${name} field`);
      return tag;
    }

    /** What an authorization request with prompt=none gets from the session in `agent`. */
    async function silently(agent: UserAgent) {
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${RP}/callback`,
        scope: 'openid',
        prompt: 'none',
        state: 'silent',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const back = await expectSilentRedirect(agent, url.href);
      return back.searchParams.has('code') ? 'logged in' : back.searchParams.get('error');
    }

    const refreshes = (tokens: oidc.TokenEndpointResponse) =>
      oidc.refreshTokenGrant(config, tokens.refresh_token!).then(
        () => true,
        (error: oidc.ResponseBodyError) => {
          assert.equal(error.error, 'invalid_grant');
          return false;
        },
      );
    const active = async (tokens: oidc.TokenEndpointResponse) =>
      (await oidc.tokenIntrospection(config, tokens.access_token)).active;

    /** Two browsers logged in to one new account, each with the client's tokens. */
    async function twoSessions(email: string, password: string) {
      await account(email, password);
      const here = new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });
      const there = new UserAgent();
      const mine = await logIn(here, email, password);
      const theirs = await logIn(there, email, password);
      backchannel.tokens.length = 0;
      return { here, there, mine, theirs };
    }

    test('the current password is required; the policy applies; then the change and the notice', async () => {
      const email = 'changer@example.com';
      const old = randomPassword();
      await account(email, old);
      const here = new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });
      await logIn(here, email, old);

      const wrong = await change(here, { current_password: 'not-it-at-all', password: randomPassword() });
      assert.equal(wrong.status, 401);
      assert.equal(alertText(wrong), 'Your current password is not right. Check it and try again.');
      // WCAG 3.3.1: the current password is marked wrong, tied to the message and focused.
      assert.match(wrong.body, /id="form-error"/);
      assert.match(input(wrong.body, 'current_password'), /aria-invalid="true"/);
      assert.match(input(wrong.body, 'current_password'), /aria-describedby="form-error"/);
      assert.match(input(wrong.body, 'current_password'), /autofocus/);
      assert.doesNotMatch(input(wrong.body, 'password'), /aria-invalid|autofocus/);
      const weak = await change(here, { current_password: old, password: 'password123' });
      assert.equal(weak.status, 400);
      assert.match(alertText(weak), /often used or have leaked|common/i);
      // The new password is the one in error now: it is marked and focused, not the current one.
      assert.match(input(weak.body, 'password'), /aria-invalid="true"/);
      assert.match(input(weak.body, 'password'), /aria-describedby="password-hint form-error"/);
      assert.match(input(weak.body, 'password'), /autofocus/);
      assert.doesNotMatch(input(weak.body, 'current_password'), /aria-invalid|autofocus/);
      assert.ok(await passwordWorks(email, old), 'nothing changed yet');

      const fresh = `${randomPassword()} nytt`;
      const mails = mailbox.messages.length;
      const done = await change(here, { current_password: old, password: fresh });
      assert.equal(done.status, 200);
      assert.match(done.body, /Your password has been changed/);
      // The one address there is, named: not "your email addresses and mobile numbers".
      assert.match(
        done.body,
        /<p role="status">Use the new password from now on\. We have told changer@example\.com about the change\.<\/p>/,
      );
      const notice = mailbox.messages.slice(mails).find((m) => m.to.includes(email));
      assert.ok(notice, 'the address was told');
      assert.match(notice.subject, /was changed/);

      assert.equal(await passwordWorks(email, old), false);
      assert.ok(await passwordWorks(email, fresh));
    });

    test('ASVS 6.3.1: guessing the current password is throttled: 5 wrong, then 429 and Retry-After; after the wait the right one works', async () => {
      const email = 'guessed@example.com';
      const old = randomPassword();
      await account(email, old);
      const here = new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });
      await logIn(here, email, old);
      for (let i = 1; i <= 5; i++) {
        const wrong = await change(here, {
          current_password: `guess-number-${i}`,
          password: randomPassword(),
        });
        assert.equal(wrong.status, 401, `guess ${i}`);
      }
      const refused = await change(here, { current_password: old, password: randomPassword() });
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(
        alertText(refused),
        'Too many wrong passwords. For your security, wait 1 second before you try again, or log out and choose "Forgot your password?".',
      );
      assert.ok(await passwordWorks(email, old), 'the refused try changed nothing');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const fresh = randomPassword();
      const done = await change(here, { current_password: old, password: fresh });
      assert.equal(done.status, 200);
      assert.ok(await passwordWorks(email, fresh));
    });

    test('ASVS 7.4.3 and back-channel logout: "end other sessions" keeps this session and its tokens, ends the other one with its tokens, and tells its client', async () => {
      const old = randomPassword();
      const { here, there, mine, theirs } = await twoSessions('two.browsers@example.com', old);
      const done = await change(here, {
        current_password: old,
        password: randomPassword(),
        end_sessions: 'on',
      });
      assert.equal(done.status, 200);

      // This browser: its session, access token and refresh token all still work.
      assert.equal(await active(mine), true, "this session's access token lives");
      assert.equal(await refreshes(mine), true, "this session's refresh token still refreshes");
      assert.equal(await silently(here), 'logged in', 'single sign-on goes on here');
      assert.equal((await here.request(`${running.url}${page}`)).status, 200, 'still logged in here');

      // The other browser: its tokens are dead and its cookie no longer logs anyone in.
      assert.equal(await active(theirs), false, "the other session's access token is dead");
      assert.equal(await refreshes(theirs), false, "the other session's refresh token is refused");
      assert.equal(await silently(there), 'login_required', 'prompt=none there needs a login');

      // Its client was told, with a logout token for that session, signed with the tenant's keys.
      assert.equal(backchannel.tokens.length, 1, 'one logout token: the ended session had one client');
      const logout = await verifyLogoutToken(backchannel.tokens[0]!, running.issuer, 'web');
      assert.equal(logout.sid, theirs.claims()!.sid);
      assert.equal(logout.sub, theirs.claims()!.sub);
      assert.notEqual(logout.sid, mine.claims()!.sid);
    });

    test('ASVS 7.4.3: a client that cannot take its logout token fails nothing', async () => {
      const old = randomPassword();
      const { here, there, theirs } = await twoSessions('rp.down@example.com', old);
      backchannel.refusing = true;
      try {
        const done = await change(here, {
          current_password: old,
          password: randomPassword(),
          end_sessions: 'on',
        });
        assert.equal(done.status, 200);
      } finally {
        backchannel.refusing = false;
      }
      assert.equal(backchannel.tokens.length, 1, 'it was tried');
      assert.equal(await refreshes(theirs), false);
      assert.equal(await silently(there), 'login_required');
    });

    test('ASVS 7.4.3: without "end other sessions" no session, grant or token ends and no logout token is sent', async () => {
      const old = randomPassword();
      const { here, there, mine, theirs } = await twoSessions('one.change@example.com', old);
      const done = await change(here, { current_password: old, password: randomPassword() });
      assert.equal(done.status, 200);
      for (const [tokens, agent] of [
        [mine, here],
        [theirs, there],
      ] as const) {
        assert.equal(await active(tokens), true);
        assert.equal(await refreshes(tokens), true);
        assert.equal(await silently(agent), 'logged in');
      }
      assert.equal(backchannel.tokens.length, 0);
    });

    test('ASVS 6.2.3: a change the database refuses says so (503, no stack trace); the old password still works, nothing is ended or sent', async () => {
      const email = 'refused.change@example.com';
      const old = randomPassword();
      const fresh = randomPassword();
      const { here, there, theirs } = await twoSessions(email, old);
      const mails = mailbox.messages.length;
      const refused = await whilePasswordUpdatesRefused(running.vakt, () =>
        change(here, { current_password: old, password: fresh, end_sessions: 'on' }),
      );
      assertCouldNotUpdate(refused, /name="current_password"/);

      assert.ok(await passwordWorks(email, old), 'the old password still works');
      assert.equal(await passwordWorks(email, fresh), false, 'the new one does not');
      assert.equal(await refreshes(theirs), true, 'the other session was not ended');
      assert.equal(await silently(there), 'logged in');
      assert.equal(backchannel.tokens.length, 0, 'no client was told of a logout');
      assert.equal(mailbox.messages.length, mails, 'no "password changed" notice');
    });

    test('ASVS 6.3.1: an empty current password says so (400), and is no guess: six of them, then the right one works', async () => {
      const email = 'forgetful@example.com';
      const old = randomPassword();
      await account(email, old);
      const here = new UserAgent({ 'accept-language': 'nb', 'sec-fetch-site': 'same-origin' });
      await logIn(here, email, old);
      // More than the 5 wrong guesses after which the throttling test above gets 429.
      for (let i = 1; i <= 6; i++) {
        const empty = await change(here, { current_password: '', password: randomPassword() });
        assert.equal(empty.status, 400, `empty ${i}`);
        assert.equal(alertText(empty), 'Skriv inn det nåværende passordet ditt.');
        assert.match(input(empty.body, 'current_password'), /aria-invalid="true"/);
        assert.match(input(empty.body, 'current_password'), /aria-describedby="form-error"/);
        assert.match(input(empty.body, 'current_password'), /autofocus/);
      }
      const missing = await change(here, { password: randomPassword() });
      assert.equal(missing.status, 400, 'no field at all is as empty');
      const fresh = randomPassword();
      const done = await change(here, { current_password: old, password: fresh });
      assert.equal(done.status, 200, 'no wait: nothing was counted');
      assert.ok(await passwordWorks(email, fresh));
    });

    test('ASVS 6.2.7: the form names the account for password managers; the account pages link to each other and to help', async () => {
      const email = 'manager@example.com';
      const password = randomPassword();
      await account(email, password, ['934 56 789']);
      const here = new UserAgent({ 'accept-language': 'en' });
      await logIn(here, email, password);
      const form = await here.request(`${running.url}${page}`);
      assert.equal(form.status, 200);
      const username = input(form.body, 'username');
      assert.match(username, /autocomplete="username"/);
      assert.match(username, /value="manager@example\.com"/, 'the email address, listed first');
      assert.match(username, /hidden/);
      assert.ok(form.body.indexOf('name="username"') < form.body.indexOf('name="password"'));

      const nav = /<nav aria-label="Your account"[^>]*>([\s\S]*?)<\/nav>/.exec(form.body)?.[1];
      assert.ok(nav, 'the account navigation');
      assert.match(nav, /<a href="\/t\/acme\/account\/password" id="nav-password" aria-current="page">/);
      assert.match(
        nav,
        /<a href="\/t\/acme\/account\/sessions" id="nav-sessions">Where you are logged in<\/a>/,
      );
      assert.match(nav, /<a href="\/t\/acme\/help\?lang=en" id="nav-help">Help<\/a>/);
      const sessions = await here.request(`${running.url}/t/acme/account/sessions`);
      assert.match(
        sessions.body,
        /<a href="\/t\/acme\/account\/password" id="nav-password">Change your password<\/a>/,
      );
      assert.match(sessions.body, /id="nav-sessions" aria-current="page"/);
    });

    test('ASVS 6.3.7: the page after a change names the addresses and numbers that were told, and only those', async () => {
      const email = 'two.ways@example.com';
      const old = randomPassword();
      await account(email, old, ['912 34 567']);
      const here = new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });
      await logIn(here, email, old);
      const fresh = randomPassword();
      const both = await change(here, { current_password: old, password: fresh });
      assert.equal(both.status, 200);
      assert.match(both.body, /We have told two\.ways@example\.com and 912 34 567 about the change\./);
      assert.ok(sms.last('+4791234567'), 'the number was sent the notice');
      assert.match(both.body, /id="nav-password"/, 'a way on from the success page');

      // An SMS the gateway refuses was not a notice given: the page does not claim it.
      sms.status = 500;
      try {
        const one = await change(here, { current_password: fresh, password: randomPassword() });
        assert.equal(one.status, 200);
        assert.match(one.body, /We have told two\.ways@example\.com about the change\./);
        assert.doesNotMatch(one.body, /912 34 567/);
      } finally {
        sms.status = 200;
      }
    });

    test('a form from another site is refused (CSRF)', async () => {
      const email = 'csrf.target@example.com';
      const password = randomPassword();
      const created = await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: [email],
        password,
        verified: true,
      });
      assert.ok(created.ok);
      const agent = new UserAgent({ 'accept-language': 'en' });
      await logIn(agent, email, password);
      const form = await agent.request(`${running.url}${page}`);
      const forged = await agent.request(`${running.url}${page}`, {
        form: { csrf: 'forged', current_password: password, password: randomPassword() },
      });
      assert.equal(forged.status, 403, 'a wrong token');
      const crossSite = await agent.request(`${running.url}${page}`, {
        headers: { 'sec-fetch-site': 'cross-site' },
        form: { csrf: formField(form.body, 'csrf'), current_password: password, password: randomPassword() },
      });
      assert.equal(crossSite.status, 403, 'the right token, posted from another site');
      assert.ok(await passwordWorks(email, password));
    });
  });
}
