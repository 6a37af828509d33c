// response_mode=form_post in a real browser (Chromium): after the login, vakt answers with a page
// whose one inline script posts the code to the client. vakt's Content-Security-Policy allows no
// inline script, so the page works only if that script's hash is added to it; a browser that
// blocked it would stop on a blank page. The relying party is played by Chromium's request
// routing, which captures the POST, and openid-client redeems the code from it.
// Cites: the Basic OP test plan re-run with response_mode=form_post, RFC 9207 (iss in the
// response), RFC 9700 (frame-ancestors: the CSP stays in force).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Request as BrowserRequest } from 'playwright-core';
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
  });
}
