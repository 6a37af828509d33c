// Where a person is logged in, and logging out the others: /t/<tenant>/account/sessions over
// HTTP against a real vakt on SQLite and PostgreSQL, with openid-client for the tokens each
// browser's client holds and a relying party's back-channel logout endpoint.
// Cites: ASVS 7.5.2 (list and end active sessions, after authenticating again), ASVS 10.4.9
// (a person revokes an app's refresh tokens on the authorization server's pages), ASVS 6.3.1
// (guesses at the password throttled; an empty field is no guess), ASVS 7.2.3 (a session id is never shown: the page names
// sessions by a keyed hash), back-channel logout (a logout token for each ended session), WCAG
// 1.3.1 and 3.3.1 (each "Log out" is described by its entry; the field in error is marked).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import {
  type BackchannelReceiver,
  startBackchannelReceiver,
  tenantLoggingOutTo,
} from './helpers/backchannel.js';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formField, type Response, UserAgent } from './helpers/http-client.js';
import { authorizationUrl, expectSilentRedirect, logInThroughPage } from './helpers/login.js';
import { authorizationRequest, discoverClient, redeemCode } from './helpers/oidc.js';
import { createEmailAccounts, type RunningVakt, randomPassword, startVakt } from './helpers/vakt.js';

for (const kind of databaseKinds) {
  describe(`the sessions page on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    let backchannel: BackchannelReceiver;
    let config: oidc.Configuration;
    const password = randomPassword();
    const page = () => `${running.url}/t/acme/account/sessions`;

    before(async () => {
      backchannel = await startBackchannelReceiver();
      const tenant = tenantLoggingOutTo(backchannel);
      running = await startVakt(kind, { config: { tenants: [tenant] } });
      await createEmailAccounts(running, [
        ['listed@example.com', { password }],
        ['three@example.com', { password }],
        ['alone@example.com', { password }],
        ['checked@example.com', { password }],
        ['offline@example.com', { password }],
        ['described@example.com', { password }],
        ['empty@example.com', { password }],
      ]);
      config = await discoverClient(running.issuer, 'web');
    });
    after(async () => {
      await running?.stop();
      await backchannel?.close();
    });

    /** A browser of its own, signed in to the web client with offline access. */
    async function browser(email: string, scope = 'openid offline_access') {
      const agent = new UserAgent({ 'accept-language': 'en' });
      const sent = await authorizationRequest(config, { scope, prompt: 'consent' });
      const { callback } = await logInThroughPage(agent, sent.url.href, { identifier: email, password });
      const tokens = await redeemCode(config, callback, sent);
      return { agent, tokens, refreshToken: tokens.refresh_token };
    }
    type Browser = Awaited<ReturnType<typeof browser>>;

    async function loggedIn(b: Browser): Promise<boolean> {
      const back = await expectSilentRedirect(b.agent, authorizationUrl(running.issuer, { prompt: 'none' }));
      return back.searchParams.has('code');
    }
    /** Whether `b`'s client can still refresh; it keeps the rotated token for the next time. */
    async function refreshes(b: Browser): Promise<boolean> {
      try {
        b.refreshToken = (await oidc.refreshTokenGrant(config, b.refreshToken!)).refresh_token;
        return true;
      } catch {
        return false;
      }
    }

    /** The refs of the page's "Log out" buttons, in page order. */
    const logoutButtons = (html: string) =>
      [...html.matchAll(/<button type="submit" name="end" value="([^"]+)"/g)].map((m) => m[1]!);

    async function submit(b: Browser, shown: Response, form: Record<string, string>) {
      return b.agent.request(page(), { form: { csrf: formField(shown.body, 'csrf'), ...form } });
    }

    test('not logged in: a localised 401 page that says to log in first, with help', async () => {
      const response = await new UserAgent({ 'accept-language': 'sv' }).request(page());
      assert.equal(response.status, 401);
      assert.match(response.body, /<h1>Du måste logga in först<\/h1>/);
      assert.match(response.body, /href="\/t\/acme\/help\/login-problems\?lang=sv"/);
      assert.doesNotMatch(response.body, /Något gick fel/);
    });

    test('ASVS 7.5.2: the page lists every session, this one first, by a hash and never by its id', async () => {
      const here = await browser('listed@example.com');
      const there = await browser('listed@example.com');
      const shown = await here.agent.request(page());
      assert.equal(shown.status, 200);
      assert.match(shown.body, /<h1>Where you are logged in<\/h1>/);
      assert.equal(shown.body.match(/<strong>This browser<\/strong>/g)?.length, 1);
      assert.ok((shown.body.match(/<strong>Another browser or app<\/strong>/g)?.length ?? 0) >= 1);
      assert.ok(shown.body.indexOf('This browser') < shown.body.indexOf('Another browser'), 'this one first');
      assert.match(shown.body, /Logged in now/);
      assert.match(shown.body, /Used for: Acme Web/);
      assert.match(shown.body, /autocomplete="current-password"/);
      // No session cookie's value (a session id) is on the page: not this one's, not the other's.
      for (const b of [here, there]) {
        const cookie = /vakt_acme_session=([^;]+)/.exec(b.agent.cookiesFor(page()))![1]!;
        assert.ok(cookie.length >= 22);
        assert.equal(shown.body.includes(cookie), false, 'a session id is on the page');
      }

      const norsk = await here.agent.request(`${page()}?lang=nb`);
      assert.match(norsk.body, /<h1>Der du er logget inn<\/h1>/);
      assert.match(norsk.body, /Logg ut alle andre steder/);
      const svenska = await here.agent.request(`${page()}?lang=sv`);
      assert.match(svenska.body, /<h1>Där du är inloggad<\/h1>/);
      assert.match(svenska.body, />Logga ut på alla andra ställen</);
    });

    test('each "Log out" button is described by the text of its own entry', async () => {
      const here = await browser('described@example.com');
      await browser('described@example.com');
      const shown = await here.agent.request(page());
      const buttons = [...shown.body.matchAll(/<button type="submit" name="end" value="[^"]+"([^>]*)>/g)];
      const sessionButtons = buttons.filter(([tag]) => !/value="(others|app:)/.test(tag));
      assert.ok(sessionButtons.length >= 1);
      for (const [, attributes] of sessionButtons) {
        const id = /aria-describedby="([^"]+)"/.exec(attributes!)?.[1];
        assert.ok(id, 'the button has a description');
        const entry = new RegExp(`<span id="${id}">([\\s\\S]*?)</span>`).exec(shown.body)?.[1];
        assert.ok(entry, `an element with id ${id}`);
        assert.match(entry, /Another browser or app/);
        assert.match(entry, /Logged in now/);
        assert.match(entry, /Used for: Acme Web/);
      }
    });

    test('ASVS 6.3.1: "Log out" without the password says to enter it (400), ends nothing and counts no guess', async () => {
      const here = await browser('empty@example.com');
      const other = await browser('empty@example.com');
      for (let i = 1; i <= 6; i++) {
        const shown = await here.agent.request(page());
        const empty = await submit(here, shown, { end: 'others', current_password: '' });
        assert.equal(empty.status, 400, `empty ${i}`);
        assert.equal(alertText(empty), 'Enter your current password.');
        const field = /<input[^>]*name="current_password"[^>]*>/.exec(empty.body)?.[0] ?? '';
        assert.match(field, /aria-invalid="true"/);
        assert.match(field, /aria-describedby="form-error"/);
        assert.match(field, /autofocus/);
      }
      assert.equal(await loggedIn(other), true, 'nothing ended');
      const done = await submit(here, await here.agent.request(page()), {
        end: 'others',
        current_password: password,
      });
      assert.equal(done.status, 200, 'no wait: the empty ones were no guesses');
      assert.equal(await loggedIn(other), false);
    });

    test('ASVS 7.5.2: one other session ends after the password; the rest and this one live on', async () => {
      const here = await browser('three@example.com');
      const two = [await browser('three@example.com'), await browser('three@example.com')];
      let shown = await here.agent.request(page());
      const chosen = logoutButtons(shown.body)[0]!;
      assert.ok(chosen && chosen !== 'others');

      const wrong = await submit(here, shown, { end: chosen, current_password: 'not it' });
      assert.equal(wrong.status, 401);
      assert.match(alertText(wrong), /current password is not right/);
      for (const b of two) assert.equal(await loggedIn(b), true, 'nothing ended without the password');

      const sent = backchannel.tokens.length;
      shown = await here.agent.request(page());
      const ended = await submit(here, shown, { end: chosen, current_password: password });
      assert.equal(ended.status, 200);
      assert.match(ended.body, /That browser is logged out\./);
      assert.equal(backchannel.tokens.length, sent + 1, 'its client got a logout token');
      assert.equal(logoutButtons(ended.body).includes(chosen), false, 'it is off the list');
      // Logins in the same second cannot be told apart by time, so which one is the page's to say:
      // exactly one of the two ended, with its client's refresh token, and the other lives on.
      const states = await Promise.all(two.map(async (b) => [await loggedIn(b), await refreshes(b)]));
      assert.deepEqual(
        states.map(([session]) => session).sort(),
        [false, true],
        'one of the two sessions ended',
      );
      for (const [session, refresh] of states) assert.equal(refresh, session, 'its tokens end with it');
      assert.equal(await loggedIn(here), true, 'this session lives on');
      assert.equal(await refreshes(here), true);

      // The same button again ends nothing more.
      const again = await submit(here, await here.agent.request(page()), {
        end: chosen,
        current_password: password,
      });
      assert.equal(again.status, 200);
      assert.match(again.body, /That browser was already logged out\./);
      const still = two.find((_, i) => states[i]![0]);
      assert.equal(await loggedIn(still!), true);
    });

    test('ASVS 7.5.2: "log out everywhere else" ends every other session and keeps this one', async () => {
      const here = await browser('alone@example.com');
      const others = [await browser('alone@example.com'), await browser('alone@example.com')];
      const shown = await here.agent.request(page());
      assert.ok(logoutButtons(shown.body).includes('others'));
      const done = await submit(here, shown, { end: 'others', current_password: password });
      assert.equal(done.status, 200);
      assert.match(done.body, /2 browsers and apps are logged out\./);
      assert.match(done.body, /You are not logged in anywhere else\./);
      assert.deepEqual(
        logoutButtons(done.body).filter((ref) => !ref.startsWith('app:')),
        [],
        'no other session left to log out',
      );
      for (const other of others) {
        assert.equal(await loggedIn(other), false);
        assert.equal(await refreshes(other), false);
      }
      assert.equal(await loggedIn(here), true);
      assert.equal(await refreshes(here), true);
    });

    /** RP-initiated logout of `b`'s session, confirmed on vakt's page. */
    async function logOut(b: Browser) {
      const url = oidc.buildEndSessionUrl(config, { id_token_hint: b.tokens.id_token! });
      const confirm = await b.agent.follow(url.href, running.url);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
      const action = /action="([^"]+)"/.exec(confirm.body)?.[1];
      assert.ok(xsrf && action, 'the logout confirmation form');
      await b.agent.follow(new URL(action, running.url).href, running.url, { form: { xsrf, logout: 'yes' } });
      assert.equal(await loggedIn(b), false, 'logged out');
    }

    test('ASVS 10.4.9: an app whose refresh token outlives its logout is listed, and removing its access ends it', async () => {
      const here = await browser('offline@example.com', 'openid');
      const app = await browser('offline@example.com');
      await logOut(app);
      assert.equal(
        await refreshes(app),
        true,
        'offline access outlives the logout, as OpenID Connect intends',
      );

      const shown = await here.agent.request(page());
      assert.match(shown.body, /<h2>Apps that stay logged in<\/h2>/);
      assert.match(shown.body, /<strong>Acme Web<\/strong><br\/?>Access given now/);
      const [ref] = logoutButtons(shown.body);
      assert.ok(ref?.startsWith('app:'), 'no other session, one app');

      const wrong = await submit(here, shown, { end: ref!, current_password: 'not it' });
      assert.equal(wrong.status, 401);
      assert.equal(await refreshes(app), true, 'nothing removed without the password');
      const removed = await submit(here, await here.agent.request(page()), {
        end: ref!,
        current_password: password,
      });
      assert.equal(removed.status, 200);
      assert.match(removed.body, /Acme Web no longer has access\./);
      assert.doesNotMatch(removed.body, /Apps that stay logged in/);
      assert.equal(await refreshes(app), false, 'its refresh token ended');
      assert.equal(await loggedIn(here), true, 'this session is untouched');

      const again = await submit(here, await here.agent.request(page()), {
        end: ref!,
        current_password: password,
      });
      assert.match(again.body, /That app had no access any more\./);
    });

    test('bad input: no CSRF token is 403, no button is 400, and neither ends anything', async () => {
      const here = await browser('checked@example.com');
      const other = await browser('checked@example.com');
      const noCsrf = await here.agent.request(page(), {
        form: { end: 'others', current_password: password },
      });
      assert.equal(noCsrf.status, 403);
      const shown = await here.agent.request(page());
      const noButton = await submit(here, shown, { current_password: password });
      assert.equal(noButton.status, 400);
      assert.equal(await loggedIn(other), true);
    });
  });
}
