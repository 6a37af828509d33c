// The pages that oidc-provider answers with, and the error pages of a journey, speak the language
// the person is being served in, and their language links lead back to the same page. Over HTTP
// against a real vakt on SQLite and PostgreSQL, and in Chromium with and without JavaScript:
// - the language links of oidc-provider's pages (an authorization error, the logout question, the
//   "logged out" page) go to the page itself, and a page that answers a form to the help pages;
// - an error page inside an authorization request (a failed CSRF check, a step that does not
//   fit) is in the journey's language: a choice made with the switch, then ui_locales, then
//   Accept-Language, as the journey's own pages;
// - a logout asked for with ui_locales keeps its language through the confirmation, to the
//   "logged out" page, and to the error of a confirmation sent twice;
// - the page that sends a response_mode=form_post answer (and a logout without a session) on by
//   itself is vakt's, in the person's language, allowed by the Content-Security-Policy with
//   JavaScript and answered with a button without.
// Cites: OpenID Connect Core 3.1.2.1 (ui_locales), RP-Initiated Logout 1.0 section 2
// (ui_locales), OAuth 2.0 Form Post Response Mode, WCAG 2.1 3.1.1 (language of page),
// ASVS 3.5.1 (CSRF), the hosted pages' rule that they work without JavaScript.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Request as BrowserRequest } from 'playwright-core';
import type { Locale } from '../src/config/schema.js';
import { en } from '../src/ui/messages/en.js';
import { nb } from '../src/ui/messages/nb.js';
import { sv } from '../src/ui/messages/sv.js';
import { browserSkip, launchChromium } from './helpers/browser.js';
import { databaseKinds, sqlite } from './helpers/databases.js';
import { alertText, formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { submitForm } from './helpers/journeys.js';
import { authorizationUrl, logInThroughPage } from './helpers/login.js';
import {
  createEmailAccounts,
  RP,
  type RunningVakt,
  randomPassword,
  startVakt,
  testTenant,
} from './helpers/vakt.js';

const EMAIL = 'kari@example.com';

/** What the JSX renderer makes of text. */
const escapeHtml = (text: string) =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
const langOf = (page: Pick<Response, 'body'>) => /<html lang="([^"]+)"/.exec(page.body)?.[1];
const h1 = (page: Pick<Response, 'body'>) => /<h1>([\s\S]*?)<\/h1>/.exec(page.body)?.[1];
const errorCode = (page: Pick<Response, 'body'>) => /data-error="([^"]+)"/.exec(page.body)?.[1];
const detail = (page: Pick<Response, 'body'>) => /<code>([^<]*)<\/code>/.exec(page.body)?.[1];

/** The language switch's links, by language. */
function languageLinks(page: Pick<Response, 'body'>): Partial<Record<Locale, string>> {
  return Object.fromEntries(
    [...page.body.matchAll(/<a href="([^"]*)" lang="(\w+)" hreflang/g)].map((m) => [
      m[2],
      m[1]!.replace(/&amp;/g, '&'),
    ]),
  );
}

/** The link to `locale`, which must lead to `path` (under the tenant) with lang=`locale`. */
function linkTo(page: Response, locale: Locale, path: string): string {
  const link = languageLinks(page)[locale];
  assert.ok(link, `a link to ${locale} on ${page.url}: ${page.body.slice(0, 300)}`);
  const url = new URL(link, page.url);
  assert.equal(url.pathname, path, `the ${locale} link of ${page.url} leads to ${link}`);
  assert.equal(url.searchParams.get('lang'), locale);
  return url.href;
}

for (const kind of databaseKinds) {
  describe(`the language of the provider's pages and of journey errors on ${kind.name}`, {
    skip: kind.skip,
  }, () => {
    let running: RunningVakt;
    const password = randomPassword();
    const html = { accept: 'text/html' };
    const path = (p: string) => `/t/acme${p}`;

    before(async () => {
      running = await startVakt(kind, { config: { tenants: [testTenant({ identifierKinds: ['email'] })] } });
      await createEmailAccounts(running, [[EMAIL, { password }]]);
    });

    after(async () => {
      await running?.stop();
    });

    /** An agent logged in to the test tenant (a session cookie, no page language chosen). */
    async function loggedIn(headers: Record<string, string> = {}): Promise<UserAgent> {
      const agent = new UserAgent(headers);
      await logInThroughPage(agent, authorizationUrl(running.issuer), { identifier: EMAIL, password });
      return agent;
    }

    test("an authorization error's language links lead to the same request, which answers in the chosen language", async () => {
      const agent = new UserAgent(html);
      const shown = await agent.request(`${running.issuer}/auth?client_id=nope&ui_locales=en`);
      assert.equal(shown.status, 400);
      assert.equal(langOf(shown), 'en');
      const link = linkTo(shown, 'sv', path('/auth'));
      assert.equal(new URL(link).searchParams.get('client_id'), 'nope', 'with the request it answered');

      const swedish = await agent.request(link);
      assert.equal(swedish.status, 400);
      assert.equal(langOf(swedish), 'sv');
      assert.equal(h1(swedish), escapeHtml(sv['error.title']));
      assert.equal(errorCode(swedish), errorCode(shown));
      assert.equal(detail(swedish), detail(shown), 'the same error');
    });

    test('the logout question and the "logged out" page link to themselves', async () => {
      const agent = await loggedIn(html);
      const question = await agent.request(`${running.issuer}/session/end?ui_locales=sv`);
      assert.equal(question.status, 200);
      assert.equal(h1(question), escapeHtml(sv['logout.title']));
      const english = await agent.request(linkTo(question, 'en', path('/session/end')));
      assert.equal(english.status, 200);
      assert.equal(h1(english), escapeHtml(en['logout.title']), 'the question again, in English');
      // The choice is kept, as on vakt's own pages: a page asked without any language is English.
      const later = await agent.request(`${running.issuer}/session/end/success`);
      assert.equal(h1(later), escapeHtml(en['logout.done_title']));

      // A browser that chose no language gets the one the relying party asked for.
      const another = new UserAgent(html);
      const done = await another.request(`${running.issuer}/session/end/success?ui_locales=sv`);
      assert.equal(h1(done), escapeHtml(sv['logout.done_title']));
      const norwegian = await another.request(linkTo(done, 'nb', path('/session/end/success')));
      assert.equal(norwegian.status, 200);
      assert.equal(h1(norwegian), escapeHtml(nb['logout.done_title']));
    });

    test('an error page in a journey asked for in Swedish is Swedish, and links back into the journey', async () => {
      const agent = new UserAgent({ 'accept-language': 'en-GB,en;q=0.9' });
      const login = await agent.follow(authorizationUrl(running.issuer, { ui_locales: 'sv' }), running.url);
      assert.equal(langOf(login), 'sv', 'ui_locales before Accept-Language, on the login page');
      const base = new URL(formAction(login.body, '/login'), running.url).pathname.replace(/\/login$/, '');

      // A form whose CSRF token is wrong (an old tab, another site's form).
      const refused = await agent.request(`${running.url}${base}/login`, {
        form: { csrf: 'not-the-token', identifier: EMAIL, password },
      });
      assert.equal(refused.status, 403);
      assert.equal(langOf(refused), 'sv');
      assert.equal(h1(refused), escapeHtml(sv['error.title']));
      assert.equal(alertText(refused), sv['request.csrf']);
      // It answered a form: its links lead to the journey's current step, here the login page.
      const norwegian = await agent.follow(linkTo(refused, 'nb', base), running.url);
      assert.equal(norwegian.status, 200);
      assert.equal(langOf(norwegian), 'nb');
      assert.equal(formAction(norwegian.body, '/login'), `${base}/login`);

      // Chosen with the switch: the choice comes before ui_locales, on error pages too.
      const chosen = await agent.request(`${running.url}${base}/login`, {
        form: { csrf: 'not-the-token', identifier: EMAIL, password },
      });
      assert.equal(langOf(chosen), 'nb');
      assert.equal(alertText(chosen), nb['request.csrf']);
    });

    test('a step that does not fit the journey is refused in its language too', async () => {
      const agent = new UserAgent();
      const login = await agent.follow(authorizationUrl(running.issuer, { ui_locales: 'sv' }), running.url);
      // Consent is not the step this journey is at (it asks for a login).
      const consent = new URL(formAction(login.body, '/login').replace(/\/login$/, '/consent'), running.url);
      const refused = await agent.request(consent.href, { form: { csrf: formField(login.body, 'csrf') } });
      assert.equal(refused.status, 400);
      assert.equal(langOf(refused), 'sv');
      assert.equal(alertText(refused), sv['request.invalid']);
    });

    test('a logout asked for in Swedish says "logged out" in Swedish, and a confirmation sent twice is refused in Swedish', async () => {
      const agent = await loggedIn(html);
      const question = await agent.request(`${running.issuer}/session/end?ui_locales=sv`);
      assert.equal(langOf(question), 'sv');
      const confirm = new URL(formAction(question.body, '/session/end/confirm'), running.url).href;
      const xsrf = formField(question.body, 'xsrf');

      const confirmed = await agent.request(confirm, { form: { xsrf, logout: 'yes' } });
      assert.equal(confirmed.status, 303);
      const done = await agent.request(new URL(confirmed.headers.get('location')!, running.url).href);
      assert.equal(done.status, 200);
      assert.equal(langOf(done), 'sv');
      assert.equal(h1(done), escapeHtml(sv['logout.done_title']));

      const again = await agent.request(confirm, { form: { xsrf, logout: 'yes' } });
      assert.equal(again.status, 400);
      assert.equal(langOf(again), 'sv');
      assert.equal(h1(again), escapeHtml(sv['error.title']));
      // It answered a form, which a link cannot send again: its links lead to the help pages.
      const help = await agent.request(linkTo(again, 'en', path('/help')));
      assert.equal(help.status, 200);
      assert.equal(langOf(help), 'en');
    });

    test('a language chosen on the logout question is kept to the end, and a relying party gets its own URL back untouched', async () => {
      const agent = await loggedIn(html);
      const swedish = await agent.request(`${running.issuer}/session/end?ui_locales=sv&client_id=web`);
      const question = await agent.request(linkTo(swedish, 'en', path('/session/end')));
      assert.equal(langOf(question), 'en');
      const confirmed = await agent.request(
        new URL(formAction(question.body, '/confirm'), running.url).href,
        {
          form: { xsrf: formField(question.body, 'xsrf'), logout: 'yes' },
        },
      );
      const done = await agent.request(new URL(confirmed.headers.get('location')!, running.url).href);
      assert.equal(h1(done), escapeHtml(en['logout.done_title']));

      // With a post_logout_redirect_uri the answer goes to the relying party as it registered it.
      const next = await loggedIn(html);
      const asked = await next.request(
        `${running.issuer}/session/end?${new URLSearchParams({
          client_id: 'web',
          post_logout_redirect_uri: `${RP}/logged-out`,
          state: 'bye',
          ui_locales: 'sv',
        })}`,
      );
      const back = await next.request(new URL(formAction(asked.body, '/confirm'), running.url).href, {
        form: { xsrf: formField(asked.body, 'xsrf'), logout: 'yes' },
      });
      assert.equal(back.status, 303);
      assert.equal(back.headers.get('location'), `${RP}/logged-out?state=bye`);
    });

    test('a logout without a session is sent on by a page in the asked language, allowed by the CSP, that works without JavaScript', async () => {
      const agent = new UserAgent({ 'accept-language': 'nb' });
      const page = await agent.request(`${running.issuer}/session/end?ui_locales=sv`);
      assert.equal(page.status, 200);
      assert.equal(langOf(page), 'sv');
      assert.match(page.body, new RegExp(`<title>${escapeHtml(sv['autosubmit.title'])} – Acme</title>`));
      // The button is in the form, shown only without JavaScript (with it, the form is sent at once,
      // and a second press would send it twice).
      const form = /<form id="auto-submit"[^>]*>([\s\S]*?)<\/form>/.exec(page.body)?.[1] ?? '';
      const noscript = /<noscript>([\s\S]*?)<\/noscript>/.exec(form)?.[1] ?? '';
      assert.ok(noscript.includes(escapeHtml(sv['autosubmit.noscript'])), noscript);
      assert.match(
        noscript,
        new RegExp(`<button type="submit"[^>]*>${escapeHtml(sv['autosubmit.continue'])}</button>`),
      );
      assert.doesNotMatch(page.body, /Submitting Callback|Your browser does not support/);
      assert.deepEqual(languageLinks(page), {}, 'no link would ask for the logout again');
      assertScriptAllowed(page);

      // Without JavaScript the person presses the button: the form's fields go to the confirm endpoint.
      const confirm = new URL(formAction(page.body, '/session/end/confirm'), running.url).href;
      const confirmed = await agent.request(confirm, {
        form: { xsrf: formField(page.body, 'xsrf'), logout: formField(page.body, 'logout') },
      });
      assert.equal(confirmed.status, 303);
      const done = await agent.request(new URL(confirmed.headers.get('location')!, running.url).href);
      assert.equal(h1(done), escapeHtml(sv['logout.done_title']));
    });

    test('a response_mode=form_post answer is posted by a page in the journey language, with its fields intact', async () => {
      const agent = new UserAgent();
      const state = `a"b&c<d>'e`;
      const login = await agent.follow(
        authorizationUrl(running.issuer, { response_mode: 'form_post', ui_locales: 'en', state }),
        running.url,
      );
      const submitted = await submitForm(agent, login, '/login', { identifier: EMAIL, password });
      assert.equal(submitted.status, 303);
      const page = await agent.follow(
        new URL(submitted.headers.get('location')!, running.url).href,
        running.url,
      );
      assert.equal(page.status, 200);
      assert.equal(langOf(page), 'en');
      assert.equal(h1(page), escapeHtml(en['autosubmit.title']));
      assert.ok(page.body.includes(escapeHtml(en['autosubmit.noscript'])));
      assert.equal(formAction(page.body, RP), `${RP}/callback`);
      const fields = Object.fromEntries(
        [...page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [
          m[1],
          m[2]!
            .replace(/&quot;/g, '"')
            .replace(/&lt;/g, '<')
            .replace(/&gt;/g, '>')
            .replace(/&#39;/g, "'")
            .replace(/&amp;/g, '&'),
        ]),
      );
      assert.deepEqual(Object.keys(fields).sort(), ['code', 'iss', 'state']);
      assert.equal(fields.state, state);
      assert.equal(fields.iss, running.issuer);
      assertScriptAllowed(page);
    });
  });
}

/** The page has one inline script, and its CSP allows that one alone, by its hash. */
function assertScriptAllowed(page: Response) {
  const scripts = [...page.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  assert.equal(scripts.length, 1);
  const hash = `'sha256-${createHash('sha256').update(scripts[0]!).digest('base64')}'`;
  const policy = page.headers.get('content-security-policy') ?? '';
  const scriptSrc = policy
    .split(';')
    .map((d) => d.trim().split(/\s+/))
    .find(([name]) => name === 'script-src');
  assert.deepEqual(
    scriptSrc?.filter((source) => source.startsWith("'sha256-")),
    [hash],
    `script-src allows the page's script and no other: ${policy}`,
  );
  assert.match(policy, /frame-ancestors 'none'/, 'the rest of the policy stays');
}

describe('the auto-submit page in Chromium', { skip: browserSkip ?? sqlite.skip, timeout: 60_000 }, () => {
  let running: RunningVakt;
  let browser: Browser;
  const password = randomPassword();

  before(async () => {
    browser = await launchChromium();
    running = await startVakt(sqlite, { config: { tenants: [testTenant({ identifierKinds: ['email'] })] } });
    await createEmailAccounts(running, [[EMAIL, { password }]]);
  });

  after(async () => {
    await browser?.close();
    await running?.stop();
  });

  test('with JavaScript, a logout without a session goes on by itself to "logged out", in the asked language', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    context.setDefaultTimeout(10_000);
    try {
      const page = await context.newPage();
      const blocked: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
      });
      await page.goto(`${running.issuer}/session/end?ui_locales=sv`);
      await page.waitForURL((url) => url.pathname.endsWith('/session/end/success'));
      await page.getByRole('heading', { name: sv['logout.done_title'] }).waitFor();
      assert.equal(await page.locator('html').getAttribute('lang'), 'sv');
      assert.deepEqual(blocked, [], 'the browser blocked no script');
    } finally {
      await context.close();
    }
  });

  test('without JavaScript, a form_post answer waits for a button in the journey language, which posts it', async () => {
    const context = await browser.newContext({ locale: 'en-GB', javaScriptEnabled: false });
    context.setDefaultTimeout(10_000);
    try {
      let received: (request: BrowserRequest) => void = () => {};
      const atClient = new Promise<BrowserRequest>((resolve) => {
        received = resolve;
      });
      await context.route(`${RP}/**`, async (route) => {
        received(route.request());
        await route.fulfill({ status: 200, contentType: 'text/plain', body: 'the client' });
      });
      const page = await context.newPage();
      await page.goto(
        authorizationUrl(running.issuer, { response_mode: 'form_post', ui_locales: 'sv', state: 's1' }),
      );
      await page.locator('input[name="identifier"]').fill(EMAIL);
      await page.locator('input[name="password"]').fill(password);
      await page.locator('form[action$="/login"] button[type="submit"]').click();

      await page.getByRole('heading', { name: sv['autosubmit.title'] }).waitFor();
      assert.equal(await page.locator('html').getAttribute('lang'), 'sv');
      assert.equal(await page.title(), `${sv['autosubmit.title']} – Acme`);
      // Playwright's text matching skips <noscript>, so the paragraph is found by its place.
      const why = page.locator('#auto-submit noscript p');
      assert.ok(await why.isVisible(), 'the reason is shown');
      assert.equal(await why.innerText(), sv['autosubmit.noscript']);
      await page.getByRole('button', { name: sv['autosubmit.continue'] }).click();
      const posted = await atClient;
      assert.equal(posted.method(), 'POST');
      assert.equal(posted.url(), `${RP}/callback`);
      const body = new URLSearchParams(posted.postData() ?? '');
      assert.equal(body.get('state'), 's1');
      assert.ok(body.get('code'));
    } finally {
      await context.close();
    }
  });
});
