// The sessions page in a real browser (Chromium) against a real vakt with the development demo:
// reached from demo app A by its link, it lists the browser signed in to demo app B; Enter in
// the password field logs nothing out (the person chooses with a button); the "Log out" button
// of the other browser, with the password, ends that browser's single sign-on. On the account
// pages an error focuses the field it is about, and each "Log out" is described by its entry.
// Cites: ASVS 7.5.2 (list and end sessions after authenticating again), keyboard use, WCAG 3.3.1
// (errors identified: the field marked, focused and tied to the message), WCAG 1.3.1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { demoRelyingParties } from '../src/demo/relying-party.js';
import { DEMO_EMAIL, DEMO_PASSWORD, seedDemo } from '../src/demo/seed.js';
import { browserSkip, launchChromium } from './helpers/browser.js';
import { databaseKinds } from './helpers/databases.js';
import { type RunningVakt, startVakt } from './helpers/vakt.js';

for (const kind of databaseKinds) {
  describe(`the sessions page in Chromium on ${kind.name}`, {
    skip: browserSkip ?? kind.skip,
    timeout: 60_000,
  }, () => {
    let running: RunningVakt;
    let browser: Browser;
    const contexts: BrowserContext[] = [];

    before(async () => {
      browser = await launchChromium();
      running = await startVakt(kind, { plugins: [demoRelyingParties], config: { tenants: [] } });
      await seedDemo(running.vakt, running.url);
    });
    after(async () => {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close();
      await running?.stop();
    });

    /** A browser of its own, logged in to demo app `app` (a or b) on the hosted page, in English. */
    async function loggedIn(app: 'a' | 'b'): Promise<Page> {
      const context = await browser.newContext({ baseURL: running.url, locale: 'en-GB' });
      context.setDefaultTimeout(10_000);
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`/demo/${app}/?lang=en`);
      await page.click('#login');
      await page.getByLabel('Email address or mobile number').fill(DEMO_EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(DEMO_PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForSelector('#signed-in');
      return page;
    }

    /** Whether demo app `app` in `page`'s browser still gets a login without the login page. */
    async function singleSignOn(page: Page, app: 'a' | 'b'): Promise<boolean> {
      await page.goto(`/demo/${app}/login`);
      await page.waitForLoadState('load');
      return (await page.locator('#signed-in').count()) === 1;
    }

    test('ASVS 7.5.2: Enter posts nothing; the other browser\'s "Log out" with the password ends it', async () => {
      const other = await loggedIn('b');
      const here = await loggedIn('a');
      await here.click('#sessions');
      await here.waitForSelector('h1:text("Where you are logged in")');
      assert.equal(await here.getByText('Another browser or app').count(), 1);
      assert.equal(await here.getByText('Used for: Butikken (demo app B)').count(), 1);
      // The disabled first button that keeps Enter from posting is not drawn (the stylesheet's
      // button rule once showed it as an empty bar).
      assert.equal(await here.locator('button[hidden]').count(), 1);
      assert.equal(await here.locator('button[hidden]').isVisible(), false);
      // WCAG 1.4.3: a button's text is readable in either colour scheme (4.5:1 at least).
      const luminance = (color: string) => {
        const [r, g, b] = color
          .match(/\d+/g)!
          .slice(0, 3)
          .map((c) => {
            const v = Number(c) / 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
          });
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      for (const colorScheme of ['light', 'dark'] as const) {
        await here.emulateMedia({ colorScheme });
        const colors = await here
          .getByRole('button', { name: 'Log out', exact: true })
          .evaluate((button) => [getComputedStyle(button).color, getComputedStyle(button).backgroundColor]);
        const [hi, lo] = colors.map(luminance).sort((x, y) => y - x);
        const ratio = (hi! + 0.05) / (lo! + 0.05);
        assert.ok(ratio >= 4.5, `${colorScheme}: ${colors.join(' on ')}, contrast ${ratio.toFixed(2)}:1`);
      }
      await here.emulateMedia({ colorScheme: 'light' });

      // Every form POST from this page, in order: a submission by Enter would be the first.
      const posts: string[] = [];
      here.on('request', (request) => {
        if (request.method() === 'POST') posts.push(request.postData() ?? '');
      });
      const password = here.getByLabel('Current password');
      await password.fill(DEMO_PASSWORD);
      await password.press('Enter');
      await here.getByRole('button', { name: 'Log out', exact: true }).click();
      await here.waitForSelector('[role=status]');
      assert.equal(await here.locator('[role=status]').textContent(), 'That browser is logged out.');
      assert.equal(await here.getByText('You are not logged in anywhere else.').count(), 1);
      assert.equal(posts.length, 1, `only the button posted, Enter nothing: ${posts.join(' | ')}`);
      assert.match(posts[0]!, /(^|&)end=[^&]+/);
      assert.equal(await singleSignOn(other, 'b'), false, 'the other browser must log in again');
    });

    test('WCAG 3.3.1: an empty change-password form focuses the current password, marked and described; the account pages link to each other; each "Log out" says which session it ends', async () => {
      await loggedIn('b');
      const here = await loggedIn('a');
      await here.click('#change-password');
      await here.waitForSelector('h1:text("Change your password")');
      await here.getByRole('button', { name: 'Change password' }).click();
      await here.waitForSelector('[role=alert]');
      assert.equal(await here.locator('[role=alert]').textContent(), 'Enter your current password.');
      await here.waitForFunction(() => document.activeElement?.id === 'current_password');
      const field = here.locator('#current_password');
      assert.equal(await field.getAttribute('aria-invalid'), 'true');
      assert.equal(await field.getAttribute('aria-describedby'), 'form-error');
      assert.equal(await here.locator('#form-error').count(), 1);

      await here
        .getByRole('navigation', { name: 'Your account' })
        .getByRole('link', { name: 'Where you are logged in' })
        .click();
      await here.waitForSelector('h1:text("Where you are logged in")');
      // The accessible description Chromium computes for each other session's "Log out" button.
      const cdp = await here.context().newCDPSession(here);
      const { root } = await cdp.send('DOM.getDocument');
      const { nodes } = await cdp.send('Accessibility.queryAXTree', {
        nodeId: root.nodeId,
        accessibleName: 'Log out',
        role: 'button',
      });
      assert.ok(nodes.length >= 1);
      for (const node of nodes) {
        const description = String(node.description?.value ?? '');
        assert.match(description, /^Another browser or app Logged in .+ Used for: /, description);
      }
      await cdp.detach();
    });

    test('logged out, an account page says to log in first and links to help, not "something went wrong"', async () => {
      const context = await browser.newContext({ baseURL: running.url, locale: 'en-GB' });
      contexts.push(context);
      const page = await context.newPage();
      const response = await page.goto('/t/demo/account/sessions?lang=en');
      assert.equal(response?.status(), 401);
      assert.equal(await page.locator('h1').textContent(), 'You need to log in first');
      await page.getByRole('link', { name: 'Problems logging in?' }).click();
      await page.waitForSelector('h1:text("Problems logging in?")');
    });
  });
}
