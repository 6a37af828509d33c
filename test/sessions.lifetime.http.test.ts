// How long a login lasts: a session ends when it goes unused for the tenant's idle time, and at
// the latest its absolute time after the login, however often it is used; a new login starts
// both again. vakt's own account pages count as use, as signing in to an app does. Over HTTP against a real vakt, on SQLite and PostgreSQL, with time moved instead
// of waited for: node:test's mock timers move Date, the clock of oidc-provider (which keeps the
// time of the login) and of vakt's system clock (which keeps the session's expiry) alike. Single sign-on is asked with prompt=none: a code back means the session
// lives, login_required that it has ended.
// Cites: ASVS 7.3.1 (inactivity timeout), ASVS 7.3.2 (absolute maximum session lifetime),
// NIST 800-63B-4 (reauthentication at AAL1: 30 days by default).
import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import { databaseKinds } from './helpers/databases.js';
import { alertText, UserAgent } from './helpers/http-client.js';
import { loginPage, submitForm } from './helpers/journeys.js';
import { authorizationUrl, expectSilentRedirect } from './helpers/login.js';
import {
  createEmailAccounts,
  type RunningVakt,
  randomPassword,
  startVakt,
  testTenant,
} from './helpers/vakt.js';

const MINUTE = 60_000;
const IDLE_SECONDS = 3600;
const ABSOLUTE_SECONDS = 4 * 3600;

for (const kind of databaseKinds) {
  describe(`session lifetimes on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    const password = randomPassword();
    const clock = { advance: (ms: number) => mock.timers.tick(ms) };

    before(async () => {
      mock.timers.enable({ apis: ['Date'], now: Date.now() });
      running = await startVakt(kind, {
        config: { tenants: [testTenant({ sessions: { idle: IDLE_SECONDS, absolute: ABSOLUTE_SECONDS } })] },
      });
      await createEmailAccounts(running, [
        ['idle@example.com', { password }],
        ['busy@example.com', { password }],
        ['remembered@example.com', { password }],
        ['pages@example.com', { password }],
      ]);
    });
    after(async () => {
      await running?.stop();
      mock.timers.reset();
    });

    /** Logs in on the login page; answers the response that set the session cookie. */
    async function logIn(agent: UserAgent, identifier: string, form: Record<string, string> = {}) {
      const page = await loginPage(agent, running.issuer);
      const submitted = await submitForm(agent, page, '/login', { identifier, password, ...form });
      assert.equal(submitted.status, 303, alertText(submitted));
      const resumed = await agent.request(new URL(submitted.headers.get('location')!, running.url).href);
      assert.equal(resumed.status, 303);
      assert.ok(new URL(resumed.headers.get('location')!).searchParams.get('code'), 'logged in');
      return resumed;
    }

    /** Whether single sign-on still works: prompt=none comes back with a code, or login_required. */
    async function stillLoggedIn(agent: UserAgent): Promise<boolean> {
      const back = await expectSilentRedirect(agent, authorizationUrl(running.issuer, { prompt: 'none' }));
      if (back.searchParams.get('code')) return true;
      assert.equal(back.searchParams.get('error'), 'login_required');
      return false;
    }

    test('ASVS 7.3.1: a session unused for the idle time ends; each use starts the idle time again', async () => {
      const agent = new UserAgent();
      await logIn(agent, 'idle@example.com');
      clock.advance(59 * MINUTE);
      assert.equal(await stillLoggedIn(agent), true, 'after 59 minutes');
      clock.advance(59 * MINUTE);
      assert.equal(await stillLoggedIn(agent), true, '59 minutes after its last use');
      clock.advance(61 * MINUTE);
      assert.equal(await stillLoggedIn(agent), false, '61 minutes after its last use');
    });

    test('ASVS 7.3.2: a session ends its absolute time after the login, used or not; a new login starts it again', async () => {
      const agent = new UserAgent();
      await logIn(agent, 'busy@example.com');
      // Used every 50 minutes: never idle for an hour.
      for (let used = 50; used <= 200; used += 50) {
        clock.advance(50 * MINUTE);
        assert.equal(await stillLoggedIn(agent), true, `${used} minutes after the login`);
      }
      clock.advance(41 * MINUTE);
      assert.equal(await stillLoggedIn(agent), false, '4 hours and 1 minute after the login');

      // Logging in again gives a new four hours from now.
      await logIn(agent, 'busy@example.com');
      for (let used = 50; used <= 200; used += 50) {
        clock.advance(50 * MINUTE);
        assert.equal(await stillLoggedIn(agent), true, `${used} minutes after the new login`);
      }
    });

    test('"Stay logged in" keeps the cookie no longer than the session may live', async () => {
      const agent = new UserAgent();
      const resumed = await logIn(agent, 'remembered@example.com', { remember: 'on' });
      const session = resumed.headers.getSetCookie().find((cookie) => /^vakt_acme_session=/.test(cookie));
      assert.ok(session, 'the session cookie is set');
      const expires = /;\s*expires=([^;]+)/i.exec(session)?.[1];
      assert.ok(expires, `a remembered login's cookie outlives the browser: ${session}`);
      const left = (Date.parse(expires) - Date.now()) / 1000;
      assert.ok(left > IDLE_SECONDS - 60 && left <= IDLE_SECONDS, `expires in ${left} s`);
    });

    test('ASVS 7.3.1: using the account pages is using the session: the idle time starts again, and the remembered cookie moves with it', async () => {
      const agent = new UserAgent();
      const resumed = await logIn(agent, 'pages@example.com', { remember: 'on' });
      const cookieOf = (response: { headers: Headers }) =>
        response.headers.getSetCookie().find((cookie) => /^vakt_acme_session=/.test(cookie));
      const attributes = (cookie: string) =>
        cookie
          .split(/;\s*/)
          .slice(1)
          .filter((a) => !/^expires=/i.test(a))
          .map((a) => a.toLowerCase())
          .sort();
      const atLogin = cookieOf(resumed)!;

      clock.advance(50 * MINUTE);
      const page = await agent.request(`${running.issuer}/account/password`);
      assert.equal(page.status, 200, 'the account page, 50 minutes after the login');
      const touched = cookieOf(page);
      assert.ok(touched, 'the page sets the session cookie again');
      assert.equal(touched.split(';')[0], atLogin.split(';')[0], 'the same session');
      assert.deepEqual(attributes(touched), attributes(atLogin), 'with the attributes the login gave it');
      const expires = Date.parse(/;\s*expires=([^;]+)/i.exec(touched)?.[1] ?? '');
      const left = (expires - Date.now()) / 1000;
      assert.ok(left > IDLE_SECONDS - 60 && left <= IDLE_SECONDS, `expires an idle time from now: ${left} s`);

      // With the language switch on the same page, both cookies are set.
      const switched = await agent.request(`${running.issuer}/account/password?lang=en`);
      assert.deepEqual(
        switched.headers
          .getSetCookie()
          .map((cookie) => cookie.split('=')[0])
          .sort(),
        ['vakt_acme_session', 'vakt_acme_session.sig', 'vakt_lang'],
      );

      // 100 minutes after the login, 50 after the page: alive, though no app signed in since.
      clock.advance(50 * MINUTE);
      assert.equal(await stillLoggedIn(agent), true, '50 minutes after the account page');

      // A session that has ended is not brought back by the page.
      clock.advance(61 * MINUTE);
      assert.equal((await agent.request(`${running.issuer}/account/password`)).status, 401);
      assert.equal(await stillLoggedIn(agent), false, '61 minutes after its last use');

      // Without "Stay logged in", the page leaves the cookie one that ends with the browser.
      const forgetful = new UserAgent();
      await logIn(forgetful, 'pages@example.com');
      const again = cookieOf(await forgetful.request(`${running.issuer}/account/password`));
      assert.ok(again, 'the page sets the session cookie again');
      assert.doesNotMatch(again, /expires=/i, `still a browser-session cookie: ${again}`);
    });
  });
}
