// Changing the password as a logged-in person, over HTTP against a real vakt on SQLite and
// PostgreSQL, with a real SMTP server for the notice and openid-client for refresh tokens.
// Cites: ASVS 6.2.3 (a change needs the current password), 6.3.7 (notify after a change),
// 7.4.3 (option to end the other sessions; their refresh tokens die with them), 6.2.4 (policy).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formField, UserAgent } from './helpers/http-client.js';
import { logInThroughPage } from './helpers/login.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { RP, type RunningVakt, randomPassword, startVakt } from './helpers/vakt.js';

const SECRET = 'web-secret-0123456789-0123456789-0123';

for (const kind of databaseKinds) {
  describe(`changing the password on ${kind.name}`, { skip: kind.skip, timeout: 60_000 }, () => {
    let running: RunningVakt;
    let mailbox: Mailbox;
    let config: oidc.Configuration;

    before(async () => {
      mailbox = await startMailbox();
      running = await startVakt(kind, {
        env: { VAKT_SMTP_URL: mailbox.url, VAKT_MAIL_FROM: 'Acme ID <id@acme.example>' },
      });
      config = await oidc.discovery(new URL(running.issuer), 'web', SECRET, oidc.ClientSecretBasic(SECRET), {
        execute: [oidc.allowInsecureRequests],
      });
    });

    after(async () => {
      await running?.stop();
      await mailbox?.close();
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

    test('not logged in: a localised 401 page, no form', async () => {
      const response = await new UserAgent({ 'accept-language': 'en' }).request(`${running.url}${page}`);
      assert.equal(response.status, 401);
      assert.match(alertText(response), /^You are not logged in here/);
    });

    test('the current password is required; the policy applies; then the change, the notice and the end of other sessions', async () => {
      const email = 'changer@example.com';
      const old = randomPassword();
      const created = await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: [email],
        password: old,
        verified: true,
      });
      assert.ok(created.ok);
      const elsewhere = await logIn(new UserAgent(), email, old);
      const here = new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });
      const mine = await logIn(here, email, old);

      const wrong = await change(here, { current_password: 'not-it-at-all', password: randomPassword() });
      assert.equal(wrong.status, 401);
      assert.equal(alertText(wrong), 'Your current password is not right. Check it and try again.');
      const weak = await change(here, { current_password: old, password: 'password123' });
      assert.equal(weak.status, 400);
      assert.match(alertText(weak), /often used or have leaked|common/i);
      assert.ok(await passwordWorks(email, old), 'nothing changed yet');

      const fresh = `${randomPassword()} nytt`;
      const mails = mailbox.messages.length;
      const done = await change(here, { current_password: old, password: fresh, end_sessions: 'on' });
      assert.equal(done.status, 200);
      assert.match(done.body, /Your password has been changed/);
      const notice = mailbox.messages.slice(mails).find((m) => m.to.includes(email));
      assert.ok(notice, 'the address was told');
      assert.match(notice.subject, /was changed/);

      assert.equal(await passwordWorks(email, old), false);
      assert.ok(await passwordWorks(email, fresh));
      // The other session's refresh token is dead; this browser's session still opens the page.
      await assert.rejects(
        oidc.refreshTokenGrant(config, elsewhere.refresh_token!),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
      );
      assert.ok(mine.access_token);
      assert.equal((await here.request(`${running.url}${page}`)).status, 200, 'still logged in here');
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
