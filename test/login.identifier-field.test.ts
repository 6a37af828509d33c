// The login and forgot-password pages ask for what the tenant's people log in with: a tenant of
// mobile numbers only never says "email", and a phone keyboard opens; one of email addresses only
// gets an email field; a tenant of both asks for either. In nb, sv and en, on SQLite and PostgreSQL.
// Cites: WCAG 1.3.5 (input purpose: autocomplete="username" beside current-password),
// WCAG 3.3.2 (labels or instructions), ASVS 6.2.7 (password managers work).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { authorizationUrl } from './helpers/login.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { type SmsGateway, startSmsGateway } from './helpers/sms-gateway.js';
import { deliveryEnv, type RunningVakt, randomPassword, startVakt, testTenant } from './helpers/vakt.js';

type Locale = 'nb' | 'sv' | 'en';

/** What each kind of tenant's identifier field says and does, in each language. */
const FIELDS = {
  both: {
    label: {
      nb: 'E-postadresse eller mobilnummer',
      sv: 'E-postadress eller mobilnummer',
      en: 'Email address or mobile number',
    },
    type: 'text',
    inputmode: 'email',
    countryHint: true,
  },
  email: {
    label: { nb: 'E-postadresse', sv: 'E-postadress', en: 'Email address' },
    type: 'email',
    inputmode: 'email',
    countryHint: false,
  },
  phone: {
    label: { nb: 'Mobilnummer', sv: 'Mobilnummer', en: 'Mobile number' },
    type: 'tel',
    inputmode: 'tel',
    countryHint: true,
  },
} as const;

const TENANTS = { both: 'acme', email: 'mailonly', phone: 'phoneonly' } as const;

/** The attributes of the identifier field and the text of its label and hint. */
function identifierField(page: Response) {
  const tag = /<input id="identifier"[^>]*>/.exec(page.body)?.[0];
  assert.ok(tag, 'the page has an identifier field');
  const attributes = Object.fromEntries(
    [...tag.matchAll(/([\w-]+)(?:="([^"]*)")?/g)].slice(1).map((m) => [m[1]!, m[2] ?? '']),
  );
  return {
    attributes,
    label: /<label for="identifier">([^<]*)<\/label>/.exec(page.body)?.[1],
    hint: /<p class="hint" id="identifier-hint">([^<]*)<\/p>/.exec(page.body)?.[1],
  };
}

for (const kind of databaseKinds) {
  describe(`the identifier field follows the tenant on ${kind.name}`, {
    skip: kind.skip,
    timeout: 120_000,
  }, () => {
    let running: RunningVakt;
    let mailbox: Mailbox;
    let sms: SmsGateway;

    before(async () => {
      mailbox = await startMailbox();
      sms = await startSmsGateway();
      running = await startVakt(kind, {
        env: deliveryEnv(mailbox, sms),
        config: {
          tenants: [
            testTenant(),
            testTenant({ slug: 'mailonly', identifierKinds: ['email'] }),
            testTenant({ slug: 'phoneonly', identifierKinds: ['phone'] }),
          ],
        },
      });
    });

    after(async () => {
      await running?.stop();
      await mailbox?.close();
      await sms?.close();
    });

    /** Opens a tenant's login page, its language asked for with OIDC ui_locales. */
    async function loginPage(tenant: string, locale: Locale, agent = new UserAgent()) {
      const url = authorizationUrl(`${running.url}/t/${tenant}`, { ui_locales: locale });
      const page = await agent.follow(url, running.url);
      assert.equal(page.status, 200);
      return page;
    }

    function assertField(page: Response, kinds: keyof typeof FIELDS, locale: Locale) {
      const expected = FIELDS[kinds];
      const field = identifierField(page);
      assert.equal(field.label, expected.label[locale], `${kinds} in ${locale}: the label`);
      assert.equal(field.attributes.type, expected.type, `${kinds}: type`);
      assert.equal(field.attributes.inputmode, expected.inputmode, `${kinds}: inputmode`);
      assert.equal(field.attributes.autocomplete, 'username', `${kinds}: password managers pair it`);
      assert.equal(Boolean(field.hint), expected.countryHint, `${kinds}: the hint on numbers without +47`);
      if (!expected.countryHint) assert.doesNotMatch(page.body, /identifier-hint/);
    }

    for (const kinds of ['both', 'email', 'phone'] as const) {
      test(`login page of a tenant of ${kinds === 'both' ? 'email and phone' : `${kinds} only`}: label, type and keyboard in nb, sv and en`, async () => {
        for (const locale of ['nb', 'sv', 'en'] as const) {
          assertField(await loginPage(TENANTS[kinds], locale), kinds, locale);
        }
      });
    }

    test('the language switch keeps the tenant wording', async () => {
      const agent = new UserAgent();
      const nb = await loginPage('phoneonly', 'nb', agent);
      const swedish = /href="([^"]*)" lang="sv"/.exec(nb.body)?.[1]?.replace(/&amp;/g, '&');
      assert.ok(swedish, 'the page links to Swedish');
      const sv = await agent.request(new URL(swedish, running.url).href);
      assertField(sv, 'phone', 'sv');
    });

    test('the forgot-password page asks for the same kind of identifier, and marks it when it is wrong', async () => {
      for (const kinds of ['both', 'email', 'phone'] as const) {
        const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
        const login = await loginPage(TENANTS[kinds], 'en', agent);
        const href = /href="([^"]*)" id="forgot-password"/.exec(login.body)?.[1];
        assert.ok(href);
        const forgot = await agent.request(new URL(href, running.url).href);
        assert.equal(forgot.status, 200);
        assertField(forgot, kinds, 'en');
        assert.doesNotMatch(forgot.body, /aria-invalid/);
        const wrong = await agent.request(new URL(formAction(forgot.body, '/forgot'), running.url).href, {
          form: { csrf: formField(forgot.body, 'csrf'), identifier: '@@' },
        });
        assert.equal(wrong.status, 400, alertText(wrong));
        assert.match(wrong.body, /aria-invalid="true"/, `${kinds}: the identifier is marked`);
      }
    });

    test('messages that name the identifier name only what the tenant takes', async () => {
      const wrong = {
        both: 'Wrong email address, mobile number or password. Check them and try again.',
        email: 'Wrong email address or password. Check them and try again.',
        phone: 'Feil mobilnummer eller passord. Sjekk dem og prøv igjen.',
      };
      const missing = {
        both: 'Enter your email address or mobile number and your password.',
        email: 'Enter your email address and your password.',
        phone: 'Skriv inn mobilnummeret ditt og passordet ditt.',
      };
      for (const kinds of ['both', 'email', 'phone'] as const) {
        const locale = kinds === 'phone' ? 'nb' : 'en';
        for (const [form, expected] of [
          [{ identifier: '912 34 000', password: randomPassword() }, wrong[kinds]],
          [{ identifier: '', password: '' }, missing[kinds]],
        ] as const) {
          const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
          const page = await loginPage(TENANTS[kinds], locale, agent);
          const action = new URL(formAction(page.body, '/login'), running.url).href;
          const answer = await agent.request(action, {
            form: { csrf: formField(page.body, 'csrf'), ...form },
          });
          assert.equal(alertText(answer), expected, `${kinds}: ${JSON.stringify(form)}`);
          assertField(answer, kinds, locale);
        }
      }
    });
  });
}
