// response_mode=form_post in a real browser (Chromium): after the login, vakt answers with a page
// whose one inline script posts the code to the client. vakt's Content-Security-Policy allows no
// inline script, so the page works only if that script's hash is added to it; a browser that
// blocked it would stop on a blank page. The relying party is played by Chromium's request
// routing, which captures the POST, and openid-client redeems the code from it.
// The other way round, a relying party's page posts the authentication or logout request to
// vakt: the browser sends vakt's SameSite=Lax cookies with no POST from another site, so single
// sign-on and logout hold only because vakt sends the POST on as a GET (a top-level navigation,
// which carries them).
// Cites: the Basic OP test plan re-run with response_mode=form_post, RFC 9207 (iss in the
// response), RFC 9700 (frame-ancestors: the CSP stays in force), oidcc-ensure-post-request-succeeds,
// RP-Initiated Logout 1.0 section 2 (POST at the logout endpoint).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Request as BrowserRequest } from 'playwright-core';
import { en } from '../src/ui/messages/en.js';
import { browserSkip, launchChromium } from './helpers/browser.js';
import { databaseKinds } from './helpers/databases.js';
import { authorizationRequest, discoverClient, redeemCode } from './helpers/oidc.js';
import {
  createEmailAccounts,
  RP,
  type RunningVakt,
  randomPassword,
  startVakt,
  testTenant,
} from './helpers/vakt.js';

const EMAIL = 'kari@example.com';

for (const kind of databaseKinds) {
  describe(`response_mode=form_post in Chromium on ${kind.name}`, {
    skip: browserSkip ?? kind.skip,
    timeout: 60_000,
  }, () => {
    let running: RunningVakt;
    let browser: Browser;
    const password = randomPassword();

    before(async () => {
      browser = await launchChromium();
      running = await startVakt(kind, { config: { tenants: [testTenant({ identifierKinds: ['email'] })] } });
      await createEmailAccounts(running, [[EMAIL, { password }]]);
    });

    after(async () => {
      await browser?.close();
      await running?.stop();
    });

    test('the browser posts the code, state and iss to the client, which redeems the code', async () => {
      const config = await discoverClient(running.issuer);
      assert.ok(config.serverMetadata().response_modes_supported?.includes('form_post'));
      const sent = await authorizationRequest(config, { response_mode: 'form_post' });

      const context = await browser.newContext({ locale: 'en-GB' });
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
        const blocked: string[] = [];
        const page = await context.newPage();
        page.on('console', (message) => {
          if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
        });
        await page.goto(sent.url.href);
        await page.locator('input[name="identifier"]').fill(EMAIL);
        await page.locator('input[name="password"]').fill(password);
        await page.locator('form[action$="/login"] button[type="submit"]').click();

        const posted = await Promise.race([
          atClient,
          sleep(10_000).then(() =>
            assert.fail(`nothing reached the client; blocked: ${blocked.join(' | ')}`),
          ),
        ]);
        assert.equal(posted.method(), 'POST');
        assert.equal(posted.url(), `${RP}/callback`);
        assert.deepEqual(blocked, [], 'the browser blocked no script');
        const body = new URLSearchParams(posted.postData() ?? '');
        assert.equal(body.get('state'), sent.state);
        assert.equal(body.get('iss'), running.issuer);
        assert.ok(body.get('code'));

        const tokens = await redeemCode(
          config,
          new Request(`${RP}/callback`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: posted.postData() ?? '',
          }),
          sent,
        );
        assert.equal(tokens.claims()!.aud, 'web');
      } finally {
        await context.close();
      }
    });

    test("a relying party's page posts the request from its own site: single sign-on holds, and a posted logout ends the session", async () => {
      const config = await discoverClient(running.issuer);
      const context = await browser.newContext({ locale: 'en-GB' });
      context.setDefaultTimeout(10_000);
      try {
        // The relying party's site: /post shows a form that posts `posted.fields` to `posted.to`;
        // anything else answers "the client" and is recorded.
        let posted: { to: string; fields: Record<string, string> } = { to: '', fields: {} };
        const atClient: URL[] = [];
        await context.route(`${RP}/**`, async (route) => {
          const url = new URL(route.request().url());
          if (url.pathname !== '/post') {
            atClient.push(url);
            return route.fulfill({ status: 200, contentType: 'text/plain', body: 'the client' });
          }
          const inputs = Object.entries(posted.fields)
            .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
            .join('');
          await route.fulfill({
            status: 200,
            contentType: 'text/html',
            body: `<form method="post" action="${posted.to}">${inputs}<button>Go</button></form>`,
          });
        });
        const page = await context.newPage();
        const navigations: string[] = [];
        page.on('request', (request) => {
          if (request.isNavigationRequest()) navigations.push(`${request.method()} ${request.url()}`);
        });
        const backAtClient = async (path: string) => {
          await page.waitForURL((url) => url.href.startsWith(`${RP}${path}`));
          return atClient.at(-1)!;
        };

        // Logged in once, by GET.
        const first = await authorizationRequest(config);
        await page.goto(first.url.href);
        await page.locator('input[name="identifier"]').fill(EMAIL);
        await page.locator('input[name="password"]').fill(password);
        await page.locator('form[action$="/login"] button[type="submit"]').click();
        const firstTokens = await redeemCode(config, await backAtClient('/callback'), first);

        // The next request is posted from the client's page: back with a code, no login page.
        const second = await authorizationRequest(config);
        posted = { to: `${running.issuer}/auth`, fields: Object.fromEntries(second.url.searchParams) };
        await page.goto(`${RP}/post`);
        navigations.length = 0;
        await page.getByRole('button', { name: 'Go' }).click();
        const callback = await backAtClient('/callback');
        assert.ok(
          !navigations.some((n) => n.includes('/interaction/')),
          `signed in without a login page: ${navigations.join(' → ')}`,
        );
        assert.equal(navigations[0], `POST ${running.issuer}/auth`);
        const secondTokens = await redeemCode(config, callback, second);
        assert.equal(secondTokens.claims()!.sub, firstTokens.claims()!.sub);

        // A logout posted from the client's page: vakt asks, and the session ends. Had the
        // browser not sent the session cookie, vakt would have ended an empty session of its own
        // and this one would still be stored, so the store is asked.
        const sub = secondTokens.claims()!.sub;
        const sessions = () => running.vakt.repos.oidcModels.listSessionIds('acme', sub, Date.now());
        const mine = (await context.cookies(running.url)).find((c) => c.name === 'vakt_acme_session')?.value;
        assert.ok(mine && (await sessions()).includes(mine), "this browser's session is stored");
        posted = {
          to: `${running.issuer}/session/end`,
          fields: {
            id_token_hint: secondTokens.id_token!,
            post_logout_redirect_uri: `${RP}/logged-out`,
            state: 'bye',
          },
        };
        await page.goto(`${RP}/post`);
        await page.getByRole('button', { name: 'Go' }).click();
        await page.getByRole('button', { name: en['logout.confirm'] }).click();
        const loggedOut = await backAtClient('/logged-out');
        assert.equal(loggedOut.searchParams.get('state'), 'bye');
        assert.ok(!(await sessions()).includes(mine), 'and gone from the store after the logout');
        const silent = await authorizationRequest(config, { prompt: 'none' });
        posted = { to: `${running.issuer}/auth`, fields: Object.fromEntries(silent.url.searchParams) };
        await page.goto(`${RP}/post`);
        await page.getByRole('button', { name: 'Go' }).click();
        assert.equal((await backAtClient('/callback')).searchParams.get('error'), 'login_required');
      } finally {
        await context.close();
      }
    });
  });
}
