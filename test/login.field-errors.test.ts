// What the login page says, and where it points, when a field is in error; over HTTP against a
// real vakt, on SQLite and PostgreSQL.
// - Text that cannot be an email address or mobile number (`demo@vakt`, `12345`) is nobody's, so
//   the page may say so: 400 with the sign-up's message, the field kept, marked and focused; no
//   try is taken and no password checked (nothing is audited as a failed login). A well-formed
//   unknown identifier still looks exactly like a wrong password (ASVS 6.3.8).
// - A number that is none in the tenant's country but a mobile number in a neighbouring one
//   (070-123 45 67, Swedish, typed in Norway) is said to be read as a home number, with what to type.
// - After a wrong password, the password field is marked invalid and tied to the message
//   (WCAG 3.3.1 error identification, 4.1.2 name, role, value).
// - "Forgot your password?" carries what was typed to the recovery page (escaped, at most 254).
// Cites: ASVS 6.3.8, 6.3.1 (a try is taken only for a real guess), WCAG 3.3.1, 3.3.3.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { authorizationUrl } from './helpers/login.js';
import { type RunningVakt, randomPassword, startVakt, testTenant } from './helpers/vakt.js';

/** The attributes of the `<input id="…">` of a page. */
function input(page: Response, id: string): Record<string, string> {
  const tag = new RegExp(`<input id="${id}"[^>]*>`).exec(page.body)?.[0];
  assert.ok(tag, `the page has #${id}`);
  return Object.fromEntries(
    [...tag.matchAll(/([\w-]+)(?:="([^"]*)")?/g)].slice(1).map((m) => [m[1]!, m[2] ?? '']),
  );
}

const fromHtml = (text: string) =>
  text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

for (const kind of databaseKinds) {
  describe(`login page field errors on ${kind.name}`, { skip: kind.skip, timeout: 120_000 }, () => {
    let running: RunningVakt;
    const password = randomPassword();

    before(async () => {
      running = await startVakt(kind, {
        config: {
          tenants: [
            // Each test that spends tries has a tenant of its own, so the address's count is its own.
            ...['acme', 'tries', 'forgot'].map((slug) => testTenant({ slug })),
            testTenant({ slug: 'mailonly', identifierKinds: ['email'] }),
            testTenant({ slug: 'germany', defaultCountry: 'DE' }),
          ],
        },
      });
      for (const tenant of ['acme', 'tries']) {
        const created = await running.vakt.accounts.createAccount({
          tenant,
          defaultCountry: 'NO',
          emails: ['kari.field@example.com'],
          phones: [],
          password,
          verified: true,
        });
        assert.ok(created.ok);
      }
    });

    after(async () => {
      await running?.stop();
    });

    async function loginPage(agent: UserAgent, tenant = 'acme', locale = 'en') {
      const page = await agent.follow(
        authorizationUrl(`${running.url}/t/${tenant}`, { ui_locales: locale }),
        running.url,
      );
      assert.equal(page.status, 200);
      return page;
    }

    async function logIn(agent: UserAgent, page: Response, form: Record<string, string>) {
      const action = new URL(formAction(page.body, '/login'), running.url).href;
      return agent.request(action, { form: { csrf: formField(page.body, 'csrf'), ...form } });
    }

    const failedLogins = async (tenant = 'acme') =>
      (await running.vakt.repos.audit.listEvents(tenant, { type: 'login.failed' })).length;

    test('text that is no identifier: 400 with the sign-up message, kept, marked and focused; no try taken, no password checked', async () => {
      const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
      const page = await loginPage(agent, 'tries');
      const audited = await failedLogins('tries');
      for (const [typed, message] of [
        ['demo@vakt', 'That is not a valid email address. Check it for typing errors.'],
        ['12345', 'That is not a valid mobile number. Check the number and the country code.'],
      ] as const) {
        // More than the 5 free tries: none is taken, so none is ever refused with a wait.
        for (let i = 0; i < 7; i++) {
          const answer = await logIn(agent, page, { identifier: typed, password: 'whatever-it-is' });
          assert.equal(answer.status, 400, `${typed}: ${alertText(answer)}`);
          assert.equal(answer.headers.get('retry-after'), null);
          assert.equal(alertText(answer), message);
          const identifier = input(answer, 'identifier');
          assert.equal(identifier.value, typed, 'what was typed is kept');
          assert.equal(identifier['aria-invalid'], 'true');
          assert.match(identifier['aria-describedby'] ?? '', /\bform-error\b/);
          assert.ok('autofocus' in identifier, 'the identifier has the focus');
          const passwordField = input(answer, 'password');
          assert.ok(!('autofocus' in passwordField), 'and the password not');
          assert.ok(!('aria-invalid' in passwordField));
        }
      }
      assert.equal(await failedLogins('tries'), audited, 'no password was checked: no failed login audited');
      // And the address's tries are all there: five wrong passwords, then the wait.
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        statuses.push(
          (await logIn(agent, page, { identifier: 'kari.field@example.com', password: 'nope' })).status,
        );
      }
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    });

    test('ASVS 6.3.8: a well-formed unknown identifier still looks exactly like a wrong password', async () => {
      const answers = [];
      for (const identifier of ['kari.field@example.com', 'nobody.field@example.com']) {
        const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
        const page = await loginPage(agent);
        const answer = await logIn(agent, page, { identifier, password: 'not-the-password' });
        assert.equal(answer.status, 401);
        answers.push(
          answer.body
            .replaceAll(identifier, 'IDENTIFIER')
            .replace(/interaction\/[^/"]+/g, 'interaction/UID')
            .replace(/name="csrf" value="[^"]+"/g, ''),
        );
      }
      assert.equal(answers[0], answers[1]);
    });

    test('in a tenant of email addresses only, text that is no identifier is said to be no email address', async () => {
      const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
      const page = await loginPage(agent, 'mailonly');
      const answer = await logIn(agent, page, { identifier: '12345', password: 'whatever-it-is' });
      assert.equal(answer.status, 400);
      assert.equal(alertText(answer), 'That is not a valid email address. Check it for typing errors.');
    });

    test('a Swedish number typed without +46 in a Norwegian tenant: read as Norwegian, and what to type instead', async () => {
      const expected = {
        en: 'We read 070-123 45 67 as a Norwegian number. Is it Swedish? Type +46 first, for example +46 70 123 45 67.',
        sv: 'Vi läste 070-123 45 67 som ett norskt nummer. Är det svenskt? Skriv +46 först, till exempel +46 70 123 45 67.',
        nb: 'Vi leste 070-123 45 67 som et norsk nummer. Er det svensk? Skriv +46 først, for eksempel +46 70 123 45 67.',
      };
      for (const [locale, message] of Object.entries(expected)) {
        const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
        const page = await loginPage(agent, 'acme', locale);
        const answer = await logIn(agent, page, { identifier: '070-123 45 67', password: 'whatever-it-is' });
        assert.equal(answer.status, 400);
        assert.equal(alertText(answer), message);
        assert.equal(input(answer, 'identifier')['aria-invalid'], 'true');
      }
      // Nothing to suggest: a number that is none anywhere near.
      const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
      const answer = await logIn(agent, await loginPage(agent), { identifier: '0123', password: 'x-x-x-x' });
      assert.equal(
        alertText(answer),
        'That is not a valid mobile number. Check the number and the country code.',
      );
    });

    test('the hint names the country as numbers are spoken of: Norwegian numbers, norska nummer; numbers in Germany', async () => {
      const hint = (page: Response) =>
        /<p class="hint" id="identifier-hint">([^<]*)<\/p>/.exec(page.body)?.[1];
      const agent = new UserAgent();
      assert.equal(
        hint(await loginPage(agent, 'acme', 'en')),
        'Mobile numbers without a country code are read as Norwegian numbers.',
      );
      assert.equal(
        hint(await loginPage(agent, 'acme', 'sv')),
        'Mobilnummer utan landsnummer tolkas som norska nummer.',
      );
      assert.equal(
        hint(await loginPage(agent, 'acme', 'nb')),
        'Mobilnumre uten landskode leses som norske numre.',
      );
      assert.equal(
        hint(await loginPage(agent, 'germany', 'en')),
        'Mobile numbers without a country code are taken as numbers in Germany.',
      );
    });

    test('a wrong password: the password field is marked invalid, tied to the message and focused', async () => {
      const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
      const page = await loginPage(agent);
      const fresh = input(page, 'password');
      assert.ok(!('aria-invalid' in fresh) && !('aria-describedby' in fresh), 'nothing marked before');
      const answer = await logIn(agent, page, {
        identifier: 'nobody.else@example.com',
        password: 'wrong-one',
      });
      assert.equal(answer.status, 401);
      assert.match(answer.body, /id="form-error"/);
      const passwordField = input(answer, 'password');
      assert.equal(passwordField['aria-invalid'], 'true');
      assert.equal(passwordField['aria-describedby'], 'form-error');
      assert.ok('autofocus' in passwordField);
      const identifier = input(answer, 'identifier');
      assert.ok(!('aria-invalid' in identifier), 'which of the two was wrong is not said');
      assert.ok(!('autofocus' in identifier));

      const missing = await logIn(agent, page, { identifier: 'nobody.else@example.com', password: '' });
      assert.equal(missing.status, 400);
      assert.equal(
        input(missing, 'password')['aria-invalid'],
        'true',
        'an empty password is the field to fill',
      );
    });

    test('"Forgot your password?" carries the identifier typed, escaped and bounded, to the recovery page', async () => {
      const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
      const page = await loginPage(agent, 'forgot');
      assert.match(page.body, /href="[^"]*\/forgot" id="forgot-password"/, 'nothing to carry at first');
      for (const typed of [
        'kari.field@example.com',
        '912 34 567',
        `"><b>x</b>&y@example.com`,
        `${'k'.repeat(300)}@example.com`,
      ]) {
        const answer = await logIn(agent, page, { identifier: typed, password: 'not-the-password' });
        const href = /href="([^"]*)" id="forgot-password"/.exec(answer.body)?.[1];
        assert.ok(href, typed);
        assert.doesNotMatch(answer.body, /<b>x<\/b>/, 'escaped');
        const forgot = await agent.request(new URL(fromHtml(href), running.url).href);
        assert.equal(forgot.status, 200);
        assert.equal(fromHtml(input(forgot, 'identifier').value ?? ''), typed.slice(0, 254), typed);
      }
    });
  });
}
