// The way back from a help page to the login (usability review of `vakt dev`): an error message
// on a login, recovery or account page links to help with `return=` set to the page it is on, and
// the help page shows "Back to the login" (or "Back to your account") to that page, and carries it
// along its own links (language switch, other topics, all topics). Only a path of the same
// tenant's interaction or account pages is ever a way back: another tenant's page, another site,
// a scheme, `..`, anything encoded or with a query is dropped without a trace, so `return` can
// never become an open redirect or a link dressed as ours. Over HTTP against a real vakt, on
// SQLite and PostgreSQL.
// Cites: ASVS 5.1.5 (redirects only to allowed destinations), WCAG 3.2.3 (consistent navigation).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { catalogues } from '../src/ui/i18n.js';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { authorizationUrl, logInThroughPage } from './helpers/login.js';
import { type RunningVakt, randomPassword, startVakt, testTenant } from './helpers/vakt.js';

const fromHtml = (text: string) =>
  text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

/** The href of the help link beside a page's error message. */
function helpLinkOf(page: Pick<Response, 'body'>): URL {
  const href = /<a href="([^"]+)" class="help-link">/.exec(page.body)?.[1];
  assert.ok(href, 'the error message links to help');
  return new URL(fromHtml(href), 'http://vakt.test');
}

/** The "Back to …" link of a help page: its href and text, or undefined when there is none. */
function backLinkOf(body: string): { href: string; text: string } | undefined {
  const match = /<a href="([^"]*)" id="help-back">([^<]*)<\/a>/.exec(body);
  return match ? { href: fromHtml(match[1]!), text: match[2]! } : undefined;
}

/** Every href on a page. */
const hrefsOf = (body: string) => [...body.matchAll(/href="([^"]*)"/g)].map((m) => fromHtml(m[1]!));

/** The `return` of a link, however it is written (plain or percent-encoded). */
const returnOf = (href: string) => new URL(href, 'http://vakt.test').searchParams.getAll('return');

/** The language switch's link to `locale`. */
function switchTo(body: string, locale: string): string {
  const href = new RegExp(`<a href="([^"]*)" lang="${locale}" hreflang="${locale}">`).exec(body)?.[1];
  assert.ok(href, `a switch to ${locale}`);
  return fromHtml(href);
}

for (const kind of databaseKinds) {
  describe(`the way back from help on ${kind.name}`, { skip: kind.skip, timeout: 120_000 }, () => {
    let running: RunningVakt;
    const password = randomPassword();

    before(async () => {
      running = await startVakt(kind, {
        config: { tenants: [testTenant(), testTenant({ slug: 'other', displayName: 'Other' })] },
      });
      const created = await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: ['kari.back@example.com'],
        phones: [],
        password,
        verified: true,
      });
      assert.ok(created.ok);
    });
    after(() => running?.stop());

    const get = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${running.url}${path}`, { headers, redirect: 'manual' }).then(async (response) => ({
        status: response.status,
        body: await response.text(),
      }));

    test('a login error links to help with the way back, and the way back leads to the same login', async () => {
      const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
      const login = await agent.follow(
        authorizationUrl(`${running.url}/t/acme`, { ui_locales: 'sv' }),
        running.url,
      );
      assert.equal(login.status, 200);
      const action = formAction(login.body, '/login');
      const loginPath = new URL(action, running.url).pathname;
      assert.match(loginPath, /^\/t\/acme\/interaction\/[A-Za-z0-9_-]+\/login$/);

      const refused = await agent.request(new URL(action, running.url).href, {
        form: { csrf: formField(login.body, 'csrf'), identifier: 'kari.back@example.com', password: 'wrong' },
      });
      assert.equal(refused.status, 401);
      const help = helpLinkOf(refused);
      assert.equal(help.pathname, '/t/acme/help/login-problems');
      assert.equal(help.searchParams.get('lang'), 'sv', 'in the language of the login');
      assert.equal(help.searchParams.get('return'), loginPath);

      const topic = await agent.request(`${running.url}${help.pathname}${help.search}`);
      assert.equal(topic.status, 200);
      assert.deepEqual(backLinkOf(topic.body), { href: loginPath, text: catalogues.sv['help.back_login'] });

      // Back on the login page: the same interaction, still going, in the same language.
      const back = await agent.request(`${running.url}${backLinkOf(topic.body)!.href}`);
      assert.equal(back.status, 200);
      assert.equal(formAction(back.body, '/login'), action);
      assert.match(back.body, /<html lang="sv"/);
      const done = await agent.request(new URL(action, running.url).href, {
        form: { csrf: formField(back.body, 'csrf'), identifier: 'kari.back@example.com', password },
      });
      assert.equal(done.status, 303, 'and the login goes on from there');
    });

    test('a recovery error links back to the recovery page it is on', async () => {
      const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
      const login = await agent.follow(authorizationUrl(`${running.url}/t/acme`), running.url);
      const base = new URL(formAction(login.body, '/login'), running.url).pathname.replace(/\/login$/, '');
      // A choice whose sealed state is not one: "start again", on the recovery start page.
      const expired = await agent.request(`${running.url}${base}/forgot/send`, {
        form: { csrf: formField(login.body, 'csrf'), state: 'forged', choice: '0' },
      });
      assert.equal(expired.status, 400, alertText(expired));
      const help = helpLinkOf(expired);
      assert.equal(help.pathname, '/t/acme/help/forgot-password');
      assert.equal(
        help.searchParams.get('return'),
        `${base}/forgot`,
        'the page it shows, not the form it answered',
      );
      const topic = await agent.request(`${running.url}${help.pathname}${help.search}`);
      assert.equal(backLinkOf(topic.body)?.href, `${base}/forgot`);
      const back = await agent.request(`${running.url}${base}/forgot`);
      assert.equal(back.status, 200);
    });

    test('an account page error links back to that account page', async () => {
      const agent = new UserAgent({ 'sec-fetch-site': 'same-origin', 'accept-language': 'nb' });
      await logInThroughPage(agent, authorizationUrl(`${running.url}/t/acme`), {
        identifier: 'kari.back@example.com',
        password,
      });
      const form = await agent.request(`${running.url}/t/acme/account/password`);
      assert.equal(form.status, 200);
      const wrong = await agent.request(`${running.url}/t/acme/account/password`, {
        form: { csrf: formField(form.body, 'csrf'), current_password: 'not-it', password: randomPassword() },
      });
      assert.equal(wrong.status, 401);
      const help = helpLinkOf(wrong);
      assert.equal(help.searchParams.get('return'), '/t/acme/account/password');
      const topic = await agent.request(`${running.url}${help.pathname}${help.search}`);
      assert.deepEqual(backLinkOf(topic.body), {
        href: '/t/acme/account/password',
        text: catalogues.nb['help.back_account'],
      });
    });

    test('the way back survives the language switch and the links between topics', async () => {
      const way = '/t/acme/interaction/Abc_12-x/signup/code';
      const carried = `return=${encodeURIComponent(way)}`;
      const topic = await get(`/t/acme/help/forgot-password?lang=en&${carried}&junk=1`);
      assert.deepEqual(backLinkOf(topic.body), { href: way, text: catalogues.en['help.back_login'] });

      // The switch keeps the way back, and nothing else of the query.
      const toNb = switchTo(topic.body, 'nb');
      const switched = new URL(toNb, 'http://vakt.test');
      assert.equal(switched.pathname, '/t/acme/help/forgot-password');
      assert.deepEqual([...switched.searchParams.keys()].sort(), ['lang', 'return']);
      assert.deepEqual(returnOf(toNb), [way]);
      const norwegian = await get(toNb);
      assert.deepEqual(backLinkOf(norwegian.body), { href: way, text: catalogues.nb['help.back_login'] });

      // Every link to another help page carries it: the cross-reference and "All help topics".
      const helpLinks = hrefsOf(topic.body).filter((href) => href.startsWith('/t/acme/help'));
      assert.ok(helpLinks.length >= 3, helpLinks.join(' '));
      for (const href of helpLinks) assert.deepEqual(returnOf(href), [way], href);
      assert.ok(helpLinks.includes(`/t/acme/help/no-code-received?return=${way}`), 'the cross-reference');
      assert.ok(
        helpLinks.some((href) => href.startsWith(`/t/acme/help?`)),
        'all topics',
      );

      // The index shows it too, and its links to every topic keep it.
      const index = await get(`/t/acme/help?${carried}`, { 'accept-language': 'sv' });
      assert.deepEqual(backLinkOf(index.body), { href: way, text: catalogues.sv['help.back_login'] });
      const topics = hrefsOf(index.body).filter((href) => href.startsWith('/t/acme/help/'));
      assert.ok(topics.length >= 12);
      for (const href of topics) assert.ok(href.endsWith(`?return=${way}`), href);
      assert.deepEqual(returnOf(switchTo(index.body, 'en')), [way]);

      // Without a way back, none: no link, nothing carried.
      const plain = await get('/t/acme/help/forgot-password?lang=en');
      assert.equal(backLinkOf(plain.body), undefined);
      assert.doesNotMatch(plain.body, /return=/);
    });

    test('a way back that is not a page of this tenant’s journeys is ignored: no link, not carried', async () => {
      const hostile = [
        '/t/other/interaction/abc/login', // another tenant's login
        '/t/other/account/password',
        '//evil.example',
        '//evil.example/t/acme/interaction/abc/login',
        'https://evil.example',
        'https://evil.example/t/acme/interaction/abc/login',
        'javascript:alert(1)',
        '/t/acme/interaction/x/../../x',
        '/t/acme/interaction/x/../../../evil.example',
        '/t/acme/interaction/abc%2f..%2f..%2fevil',
        '%2f%2fevil.example',
        '/t/acme/interaction/abc/login?next=https://evil.example',
        '/t/acme/interaction/abc/login#top',
        '/t/acme/interaction/abc/login/',
        '/t/acme//interaction/abc/login',
        '/t/acme/interaction/abc\\evil',
        '/\\evil.example',
        '/t/acme/interaction/abc/login\n',
        '/t/acme/interaction/abc/Login',
        '/T/acme/interaction/abc/login',
        '/t/acme/interaction/',
        `/t/acme/interaction/${'a'.repeat(201)}`,
        '/t/acme/account/delete',
        '/t/acme/account',
        '/t/acme/help',
        '/t/acme',
        't/acme/interaction/abc/login',
        ' /t/acme/interaction/abc/login',
      ];
      for (const value of hostile) {
        for (const path of ['/t/acme/help/forgot-password', '/t/acme/help']) {
          const page = await get(`${path}?lang=en&return=${encodeURIComponent(value)}`);
          assert.equal(page.status, 200, value);
          assert.equal(backLinkOf(page.body), undefined, `${path}: ${JSON.stringify(value)}`);
          assert.doesNotMatch(page.body, /return=/, `${path}: ${JSON.stringify(value)} is not carried`);
          assert.doesNotMatch(page.body, /evil/, `${path}: ${JSON.stringify(value)}`);
        }
      }
      // As typed into an address bar, undecoded: `%2f%2f` decodes once to `//`, and once is all.
      for (const raw of [
        '%2f%2fevil.example',
        '%252f%252fevil.example',
        '/t/acme/interaction/abc%252flogin',
      ]) {
        const page = await get(`/t/acme/help/forgot-password?return=${raw}`);
        assert.equal(backLinkOf(page.body), undefined, raw);
        assert.doesNotMatch(page.body, /return=|evil/, raw);
      }
      // Given twice, it is no path at all.
      const twice = await get(
        '/t/acme/help/forgot-password?return=%2Ft%2Facme%2Faccount%2Fpassword&return=%2F%2Fevil.example',
      );
      assert.equal(backLinkOf(twice.body), undefined);
      // The same path is a way back on its own tenant's help only.
      const own = await get(`/t/other/help?return=${encodeURIComponent('/t/other/interaction/abc/login')}`);
      assert.equal(backLinkOf(own.body)?.href, '/t/other/interaction/abc/login');
    });
  });
}
