// The demo app's callback when vakt's answer logs no one in: the person cancelled on the login
// page, reloaded the callback after logging in, or the answer was forged or malformed. Each is
// the app's own page in the person's language with a way to try again, a 4xx where the request
// was bad, and no error in the log; an answer the app does not expect still reaches the server's
// error handler. Walked over HTTP as a browser without JavaScript would, against a real vakt.
// Cites: RFC 6749 4.1.2.1 (access_denied), RFC 6749 10.12 and OIDC Core 3.1.2.7 (state binds
// the answer to this browser), RFC 9207 (iss), ASVS 16.5.x (expected failures are not errors).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { demoRelyingParties } from '../src/demo/relying-party.js';
import { DEMO_EMAIL, DEMO_PASSWORD, seedDemo } from '../src/demo/seed.js';
import { databaseKinds } from './helpers/databases.js';
import { formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { type RunningVakt, startVakt } from './helpers/vakt.js';

const TEXT = {
  cancelled: {
    nb: 'Du avbrøt innloggingen.',
    sv: 'Du avbröt inloggningen.',
    en: 'You cancelled the login.',
  },
  noLogin: { nb: 'Det er ingen innlogging på gang her' },
  wrongState: {
    en: 'The answer from the login does not belong to the login started in this browser, so it was not used.',
  },
  malformed: { nb: 'Svaret fra innloggingen var ufullstendig eller ugyldig, så det ble ikke brukt.' },
  tryAgain: { nb: 'Logg inn på nytt', sv: 'Logga in igen', en: 'Log in again' },
  cancelButton: {
    nb: 'Avbryt og gå tilbake til Avisa (demo app A)',
    sv: 'Avbryt och gå tillbaka till Avisa (demo app A)',
    en: 'Cancel and return to Avisa (demo app A)',
  },
};

for (const kind of databaseKinds) {
  describe(`the demo app's callback, when no one is logged in by it, on ${kind.name}`, {
    skip: kind.skip,
    timeout: 60_000,
  }, () => {
    let running: RunningVakt;
    /** Every log line, parsed. */
    const log: Array<{ level: number; msg: string; url?: string; problem?: string }> = [];

    before(async () => {
      // Info and up, so that an expected case logged at error level would be seen.
      running = await startVakt(kind, {
        plugins: [demoRelyingParties],
        config: { tenants: [] },
        env: { LOG_LEVEL: 'info' },
        logDestination: { write: (line: string) => log.push(JSON.parse(line)) },
      });
      await seedDemo(running.vakt, running.url);
    });
    after(() => running?.stop());

    const issuer = () => `${running.url}/t/demo`;

    /** The log lines at error level (50) or above that `run` caused. */
    async function errorsLoggedBy(run: () => Promise<void>): Promise<string[]> {
      const from = log.length;
      await run();
      return log
        .slice(from)
        .filter((entry) => entry.level >= 50)
        .map((entry) => `${entry.msg} ${entry.url ?? ''}`);
    }

    /** Follows every redirect within vakt's origin (the demo is there too); the pages on the way. */
    async function walk(
      agent: UserAgent,
      url: string,
      init: Parameters<UserAgent['request']>[1] = {},
    ): Promise<{ response: Response; visited: URL[] }> {
      const visited: URL[] = [new URL(url)];
      let response = await agent.request(url, init);
      for (let hops = 0; hops < 10; hops++) {
        const location = response.headers.get('location');
        if (response.status < 300 || response.status >= 400 || !location) return { response, visited };
        const next = new URL(location, response.url);
        visited.push(next);
        response = await agent.request(next.href);
      }
      throw new Error('too many redirects');
    }

    /** Starts a login at demo app A and expects vakt's login page. */
    async function openLoginPage(agent: UserAgent, query = ''): Promise<Response> {
      const { response } = await walk(agent, `${running.url}/demo/a/login${query}`);
      assert.equal(response.status, 200, `expected vakt's login page, got ${response.status}`);
      assert.match(new URL(response.url).pathname, /^\/t\/demo\/interaction\/[^/]+$/);
      return response;
    }

    /** The state of the login the agent has just started at demo app A, from vakt's address. */
    async function startLogin(agent: UserAgent): Promise<string> {
      const started = await agent.request(`${running.url}/demo/a/login`);
      assert.equal(started.status, 302);
      const state = new URL(started.headers.get('location')!).searchParams.get('state');
      assert.ok(state, 'the authorization request carries a state');
      return state;
    }

    /** Clicks "Avbryt" on vakt's login page; answers where the browser lands, and the way there. */
    function cancel(agent: UserAgent, loginPage: Response, language: 'nb' | 'sv' | 'en' = 'nb') {
      assert.ok(
        loginPage.body.includes(TEXT.cancelButton[language]),
        `the login page offers to cancel (${language})`,
      );
      const action = new URL(formAction(loginPage.body, '/abort'), loginPage.url).href;
      return walk(agent, action, { form: { csrf: formField(loginPage.body, 'csrf') } });
    }

    /** Logs in on vakt's login page; answers the way back to the app, the callback included. */
    async function logIn(agent: UserAgent, loginPage: Response) {
      const action = new URL(formAction(loginPage.body, '/login'), loginPage.url).href;
      const walked = await walk(agent, action, {
        form: { csrf: formField(loginPage.body, 'csrf'), identifier: DEMO_EMAIL, password: DEMO_PASSWORD },
      });
      assert.equal(walked.response.status, 200);
      assert.match(walked.response.body, /id="signed-in"/, 'logged in to the demo app');
      const callback = walked.visited.find((url) => url.pathname === '/demo/a/callback');
      assert.ok(callback, `went through the callback: ${walked.visited.join(' -> ')}`);
      return { ...walked, callback };
    }

    function problemOf(page: Response): string | undefined {
      return /id="callback-problem" data-problem="([^"]+)"/.exec(page.body)?.[1];
    }

    // Checklist: RFC 6749 4.1.2.1 — "Avbryt" on the login page answers access_denied.
    test('cancel on vakt’s login page: the app says so in Norwegian, 200, with a way back in', async () => {
      const agent = new UserAgent();
      const errors = await errorsLoggedBy(async () => {
        const loginPage = await openLoginPage(agent);
        const { response, visited } = await cancel(agent, loginPage);
        assert.equal(visited.at(-1)?.pathname, '/demo/a/callback', 'back at the app');
        assert.equal(visited.at(-1)?.searchParams.get('error'), 'access_denied');
        // 200: a cancelled login is an outcome the login page offers, not a bad request.
        assert.equal(response.status, 200, response.body.slice(0, 300));
        assert.equal(problemOf(response), 'cancelled');
        assert.ok(response.body.includes(TEXT.cancelled.nb), 'in Norwegian, the default');
        assert.match(response.body, /<html lang="nb">/);
        assert.match(response.body, /id="signed-out"/, 'and the app is still logged out');
        const tryAgain = /<a id="try-again" href="([^"]+)">([^<]+)</.exec(response.body);
        assert.deepEqual([tryAgain?.[1], tryAgain?.[2]], ['/demo/a/login?lang=nb', TEXT.tryAgain.nb]);
        // The link starts a new login, which the cancel did not spoil.
        await openLoginPage(agent, '?lang=nb');
      });
      assert.deepEqual(errors, [], 'nothing logged as an error');
    });

    test('cancel in the language the login was started in (sv), or the browser’s (en)', async () => {
      const swedish = new UserAgent();
      const sv = await cancel(swedish, await openLoginPage(swedish, '?lang=sv'), 'sv');
      assert.equal(sv.response.status, 200);
      assert.ok(sv.response.body.includes(TEXT.cancelled.sv), 'in Swedish');
      assert.ok(sv.response.body.includes(TEXT.tryAgain.sv));

      const english = new UserAgent({ 'accept-language': 'en-GB,en;q=0.9' });
      const en = await cancel(english, await openLoginPage(english), 'en');
      assert.equal(en.response.status, 200);
      assert.ok(en.response.body.includes(TEXT.cancelled.en), 'in English');
      assert.ok(en.response.body.includes(TEXT.tryAgain.en));
    });

    test('reloading the callback after a cancel is a 400 page, not a 500', async () => {
      const agent = new UserAgent();
      const errors = await errorsLoggedBy(async () => {
        const { visited } = await cancel(agent, await openLoginPage(agent));
        const reloaded = await agent.request(visited.at(-1)!.href);
        assert.equal(reloaded.status, 400);
        assert.equal(problemOf(reloaded), 'no_login');
      });
      assert.deepEqual(errors, []);
    });

    test('reloading the callback after logging in: 400, still logged in, no error logged', async () => {
      const agent = new UserAgent();
      const errors = await errorsLoggedBy(async () => {
        const { callback } = await logIn(agent, await openLoginPage(agent));
        const reloaded = await agent.request(callback.href);
        assert.equal(reloaded.status, 400, reloaded.body.slice(0, 300));
        assert.equal(problemOf(reloaded), 'no_login');
        assert.ok(reloaded.body.includes(TEXT.noLogin.nb), 'says why, in Norwegian');
        assert.match(reloaded.body, /id="signed-in"/, 'the app still shows who is logged in');
        assert.match(reloaded.body, /<a id="try-again" href="\/demo\/a\/login\?lang=nb">/);
        const home = await agent.request(`${running.url}/demo/a/`);
        assert.match(home.body, /id="signed-in"/, 'the reload logged no one out');
      });
      assert.deepEqual(errors, []);
    });

    // Checklist: RFC 6749 10.12 — an answer whose state is not this browser's login is not used.
    test('a forged state is a 400 page, logged as a warning; the real login goes on', async () => {
      const agent = new UserAgent({ 'accept-language': 'en' });
      const from = log.length;
      const loginPage = await openLoginPage(agent);
      const forged = await agent.request(
        `${running.url}/demo/a/callback?code=stolen&state=forged&iss=${encodeURIComponent(issuer())}`,
      );
      assert.equal(forged.status, 400);
      assert.equal(problemOf(forged), 'wrong_state');
      assert.ok(forged.body.includes(TEXT.wrongState.en), 'says why, in English');
      assert.match(forged.body, /<a id="try-again" href="\/demo\/a\/login\?lang=en">Log in again</);
      const lines = log.slice(from);
      assert.deepEqual(
        lines.filter((entry) => entry.level >= 50),
        [],
      );
      assert.ok(
        lines.some((entry) => entry.level === 40 && entry.problem === 'wrong_state'),
        'a warning names the forged answer',
      );
      // The forged answer did not end the login in progress: the person still logs in with it.
      await logIn(agent, loginPage);
    });

    test('no parameters, no state, a forged state without a login: 400 each', async () => {
      const errors = await errorsLoggedBy(async () => {
        const fresh = await new UserAgent().request(`${running.url}/demo/a/callback`);
        assert.equal(fresh.status, 400);
        assert.equal(problemOf(fresh), 'no_login');
        const prober = await new UserAgent().request(
          `${running.url}/demo/a/callback?error=access_denied&state=x`,
        );
        assert.equal(prober.status, 400);
        assert.equal(problemOf(prober), 'no_login');

        const agent = new UserAgent();
        await startLogin(agent);
        const bare = await agent.request(`${running.url}/demo/a/callback`);
        assert.equal(bare.status, 400);
        assert.equal(problemOf(bare), 'wrong_state', 'no state is not this login’s state');
      });
      assert.deepEqual(errors, []);
    });

    // Checklist: RFC 9207 — the answer names vakt's issuer; one that does not is not used.
    test('the right state without iss, with another iss, or with two codes: 400, malformed', async () => {
      const agent = new UserAgent();
      const state = await startLogin(agent);
      const callback = (query: string) =>
        agent.request(`${running.url}/demo/a/callback?state=${state}&${query}`);
      const errors = await errorsLoggedBy(async () => {
        const iss = encodeURIComponent(issuer());
        for (const query of [
          'code=abc',
          'error=access_denied',
          `code=abc&iss=${encodeURIComponent('https://elsewhere.example/t/demo')}`,
          `code=abc&code=def&iss=${iss}`,
          `iss=${iss}`,
          `code=abc&error=access_denied&iss=${iss}`,
        ]) {
          const page = await callback(query);
          assert.equal(page.status, 400, query);
          assert.equal(problemOf(page), 'malformed', query);
          assert.ok(page.body.includes(TEXT.malformed.nb), query);
        }
      });
      assert.deepEqual(errors, []);
      // None of them used up the login: its real answer, a cancel here, is still taken.
      const cancelled = await callback(`error=access_denied&iss=${encodeURIComponent(issuer())}`);
      assert.equal(cancelled.status, 200);
      assert.equal(problemOf(cancelled), 'cancelled');
    });

    test('an error from vakt that is no cancel still reaches the error handler, logged as an error', async () => {
      const agent = new UserAgent();
      const state = await startLogin(agent);
      const errors = await errorsLoggedBy(async () => {
        const page = await agent.request(
          `${running.url}/demo/a/callback?error=server_error&state=${state}&iss=${encodeURIComponent(issuer())}`,
        );
        assert.equal(page.status, 500);
        assert.equal(problemOf(page), undefined, 'the server’s error page, not the app’s');
      });
      assert.equal(errors.length, 1, 'one error logged');
      assert.match(errors[0]!, /^unexpected error \/demo\/a\/callback\?error=server_error/);
    });
  });
}
