// Sign-up in a real browser (Chromium) against a real vakt with the demo apps, a real SMTP
// server and a real HTTP SMS gateway: a newcomer creates an account with an email address and
// with a mobile number from the demo app's "Create an account" link (prompt=create), reads the
// code where it was sent, is returned to the app, logs out, and logs in again typing the
// identifier another way. Cites: NIST 800-63B 3.1.3 (out-of-band code), Initiating User
// Registration via OIDC (prompt=create), WCAG 1.3.5 (autocomplete new-password, one-time-code).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { demoRelyingParties } from '../src/demo/relying-party.js';
import { seedDemo } from '../src/demo/seed.js';
import { browserSkip, launchChromium } from './helpers/browser.js';
import { databaseKinds } from './helpers/databases.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { type SmsGateway, startSmsGateway } from './helpers/sms-gateway.js';
import { type RunningVakt, randomPassword, startVakt } from './helpers/vakt.js';

// The demo tenant speaks Norwegian Bokmål first; the browser asks for it.
const NB = {
  demoSignup: 'Opprett konto',
  demoLogin: 'Logg inn',
  demoLogout: 'Logg ut overalt',
  logoutConfirm: 'Ja, logg meg ut',
  signupTitle: 'Opprett konto',
  identifier: 'E-postadresse eller mobilnummer',
  newPassword: 'Velg et passord',
  next: 'Fortsett',
  codeTitle: 'Skriv inn koden',
  code: 'Kode',
  confirm: 'Bekreft',
  password: 'Passord',
  login: 'Logg inn',
};

for (const kind of databaseKinds) {
  describe(`sign-up in Chromium on ${kind.name}`, { skip: browserSkip ?? kind.skip, timeout: 90_000 }, () => {
    let running: RunningVakt;
    let browser: Browser;
    let mailbox: Mailbox;
    let sms: SmsGateway;
    const contexts = new Set<BrowserContext>();

    before(async () => {
      browser = await launchChromium();
      mailbox = await startMailbox();
      sms = await startSmsGateway();
      running = await startVakt(kind, {
        plugins: [demoRelyingParties],
        config: { tenants: [] },
        env: {
          VAKT_SMTP_URL: mailbox.url,
          VAKT_MAIL_FROM: 'vakt demo <id@vakt.example>',
          VAKT_SMS_WEBHOOK_URL: sms.url,
        },
      });
      await seedDemo(running.vakt, running.url);
    });

    after(async () => {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close();
      await running?.stop();
      await mailbox?.close();
      await sms?.close();
    });

    async function newPage(): Promise<Page> {
      const context = await browser.newContext({ baseURL: running.url, locale: 'nb-NO' });
      context.setDefaultTimeout(10_000);
      contexts.add(context);
      return context.newPage();
    }

    /** From demo app A's "Create an account" to the code page. */
    async function signUp(page: Page, identifier: string, password: string) {
      await page.goto('/demo/a/');
      await page.getByRole('link', { name: NB.demoSignup, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: NB.signupTitle }).waitFor();
      const passwordField = page.getByLabel(NB.newPassword, { exact: true });
      assert.equal(await passwordField.getAttribute('autocomplete'), 'new-password');
      await page.getByLabel(NB.identifier, { exact: true }).fill(identifier);
      await passwordField.fill(password);
      await page.getByRole('button', { name: NB.next, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: NB.codeTitle }).waitFor();
      assert.equal(
        await page.getByLabel(NB.code, { exact: true }).getAttribute('autocomplete'),
        'one-time-code',
      );
    }

    async function enterCode(page: Page, code: string) {
      await page.getByLabel(NB.code, { exact: true }).fill(code);
      await page.getByRole('button', { name: NB.confirm, exact: true }).click();
      await page.waitForURL(`${running.url}/demo/a/`);
      await page.locator('#signed-in').waitFor();
      return JSON.parse((await page.locator('#userinfo').textContent()) ?? '{}') as Record<string, unknown>;
    }

    async function logOut(page: Page) {
      await page.getByRole('button', { name: NB.demoLogout, exact: true }).click();
      await page.getByRole('button', { name: NB.logoutConfirm, exact: true }).click();
      await page.waitForURL(`${running.url}/demo/a/`);
      await page.locator('#signed-out').waitFor();
    }

    async function logIn(page: Page, identifier: string, password: string) {
      await page.getByRole('link', { name: NB.demoLogin, exact: true }).click();
      await page.getByLabel(NB.identifier, { exact: true }).fill(identifier);
      await page.getByLabel(NB.password, { exact: true }).fill(password);
      await page.getByRole('button', { name: NB.login, exact: true }).click();
      await page.waitForURL(`${running.url}/demo/a/`);
      await page.locator('#signed-in').waitFor();
      return JSON.parse((await page.locator('#userinfo').textContent()) ?? '{}') as Record<string, unknown>;
    }

    test('with an email address: the code comes by SMTP; log out, log in again typed in capitals', async () => {
      const page = await newPage();
      const password = `${randomPassword()} blåbær`;
      await signUp(page, 'Ingrid.Ny@Example.com', password);
      const mail = mailbox.last('ingrid.ny@example.com');
      assert.ok(mail);
      assert.match(mail.subject, /vakt demo/);
      assert.match(
        mail.text,
        /Bruk denne koden for å opprette kontoen din hos vakt demo/,
        'in the page language',
      );
      const userinfo = await enterCode(page, mailbox.code('ingrid.ny@example.com'));
      assert.equal(userinfo.email, 'ingrid.ny@example.com');
      assert.equal(userinfo.email_verified, true);
      await logOut(page);
      const again = await logIn(page, '  INGRID.NY@example.COM ', password);
      assert.equal(again.sub, userinfo.sub);
    });

    // WCAG 3.3.1 / 4.1.2: the field in error is marked, described by the message and focused, so
    // a screen reader says what went wrong where the person types again. ASVS 6.3.8: a malformed
    // identifier is nobody's, so it may be named; a wrong password never says which was wrong.
    test('login errors: the field at fault has the focus, aria-invalid and the message as its description', async () => {
      const page = await newPage();
      await page.goto('/demo/a/');
      await page.getByRole('link', { name: NB.demoLogin, exact: true }).click();
      const identifier = page.getByLabel(NB.identifier, { exact: true });
      const passwordField = page.getByLabel(NB.password, { exact: true });
      const focused = () => page.evaluate(() => document.activeElement?.id);

      await identifier.fill('demo@vakt');
      await passwordField.fill('vakt-demo-passord');
      await page.getByRole('button', { name: NB.login, exact: true }).click();
      await page.getByRole('alert').waitFor();
      assert.match(
        (await page.getByRole('alert').textContent()) ?? '',
        /^Det er ikke en gyldig e-postadresse/,
      );
      assert.equal(await identifier.inputValue(), 'demo@vakt', 'what was typed is kept');
      assert.equal(await identifier.getAttribute('aria-invalid'), 'true');
      assert.equal(await focused(), 'identifier');
      assert.equal(await passwordField.getAttribute('aria-invalid'), null);

      await identifier.fill('demo@vakt.example');
      await passwordField.fill('not-the-password');
      await page.getByRole('button', { name: NB.login, exact: true }).click();
      await page.waitForFunction(
        () => document.getElementById('password')?.getAttribute('aria-invalid') === 'true',
      );
      assert.equal(await focused(), 'password');
      assert.equal(await passwordField.getAttribute('aria-describedby'), 'form-error');
      assert.equal(
        await identifier.getAttribute('aria-invalid'),
        null,
        'which of the two was wrong is not said',
      );
    });

    test('with a mobile number: the code goes to the SMS gateway; log out, log in again with +47', async () => {
      const page = await newPage();
      const password = randomPassword();
      await signUp(page, '934 00 001', password);
      const message = sms.last('+4793400001');
      assert.ok(message);
      assert.equal(message.tenant, 'demo');
      const userinfo = await enterCode(page, sms.code('+4793400001'));
      assert.equal(userinfo.phone_number, '+4793400001');
      assert.equal(userinfo.phone_number_verified, true);
      await logOut(page);
      const again = await logIn(page, '+47 934 00 001', password);
      assert.equal(again.sub, userinfo.sub);
    });
  });
}
