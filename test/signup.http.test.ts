// Sign-up and first-login proof with one-time codes, over HTTP against a real vakt, with a real
// SMTP server and a real HTTP SMS gateway, on SQLite and PostgreSQL. An openid-client relying
// party checks what the new account looks like in the ID token and UserInfo.
// Cites: NIST 800-63B 3.1.3 (out-of-band codes: 6 digits, CSPRNG, 10 minutes, single use),
// ASVS 6.5.1 (a code is spent once used, and expires), 6.5.4 and 6.5.5 (6 digits, at most 10
// minutes), 6.6.2 (a code works only in its own journey),
// ASVS 6.6.x (out-of-band authenticators: bound to the request, limited attempts),
// ASVS 6.3.8 / 6.4 (no account enumeration at sign-up), Initiating User Registration via OIDC
// (prompt=create), RFC 9700 4.12 (303 after a form).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { createManualClock } from '../src/domain/clock.js';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { authorizationUrl } from './helpers/login.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { discoverClient } from './helpers/oidc.js';
import { type SmsGateway, startSmsGateway } from './helpers/sms-gateway.js';
import { deliveryEnv, RP, type RunningVakt, randomPassword, startVakt, testTenant } from './helpers/vakt.js';

for (const kind of databaseKinds) {
  describe(`sign-up with one-time codes on ${kind.name}`, { skip: kind.skip, timeout: 120_000 }, () => {
    let running: RunningVakt;
    let mailbox: Mailbox;
    let sms: SmsGateway;
    let config: oidc.Configuration;
    const clock = createManualClock();

    before(async () => {
      mailbox = await startMailbox();
      sms = await startSmsGateway();
      running = await startVakt(kind, {
        clock,
        env: deliveryEnv(mailbox, sms),
        config: {
          tenants: [
            testTenant(),
            testTenant({ slug: 'mailonly', identifierKinds: ['email'] }),
            testTenant({ slug: 'sverige', defaultCountry: 'SE' }),
            testTenant({ slug: 'closed', signup: false }),
          ],
        },
      });
      config = await discoverClient(running.issuer);
    });

    after(async () => {
      await running?.stop();
      await mailbox?.close();
      await sms?.close();
    });

    const english = () => new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });

    /** An authorization request of the confidential test client, with what the RP must keep. */
    async function authorization(extra: Record<string, string> = {}, tenant = 'acme') {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = authorizationUrl(`${running.url}/t/${tenant}`, {
        scope: 'openid email phone',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        state,
        ...extra,
      });
      return { url, verifier, state };
    }

    /** Opens the authorization URL and follows the "Create account" link to the sign-up form. */
    async function openSignup(agent: UserAgent, tenant = 'acme') {
      const auth = await authorization({}, tenant);
      const login = await agent.follow(auth.url, running.url);
      assert.equal(login.status, 200);
      const link = /href="([^"]*\/signup)" id="create-account"/.exec(login.body);
      assert.ok(link, 'the login page links to sign-up');
      const page = await agent.request(new URL(link[1]!, running.url).href);
      assert.equal(page.status, 200);
      return { auth, page };
    }

    async function submit(agent: UserAgent, page: Response, contains: string, form: Record<string, string>) {
      const action = new URL(formAction(page.body, contains), running.url).href;
      return agent.request(action, { form: { csrf: formField(page.body, 'csrf'), ...form } });
    }

    /** Submits the sign-up form and expects the code page. */
    async function startSignup(agent: UserAgent, page: Response, identifier: string, password: string) {
      const posted = await submit(agent, page, '/signup', { identifier, password });
      assert.equal(posted.status, 303, `sign-up answered ${posted.status}: ${alertText(posted)}`);
      const codePage = await agent.request(new URL(posted.headers.get('location')!, running.url).href);
      assert.equal(codePage.status, 200);
      assert.match(codePage.body, /autocomplete="one-time-code"/);
      return codePage;
    }

    /** Enters a code and follows the redirects back to the relying party. */
    async function enterCode(agent: UserAgent, codePage: Response, code: string) {
      const action = new URL(formAction(codePage.body, '/code'), running.url).href;
      return agent.follow(action, running.url, { form: { csrf: formField(codePage.body, 'csrf'), code } });
    }

    async function tokensFor(callbackResponse: Response, auth: { verifier: string; state: string }) {
      assert.ok(
        callbackResponse.status >= 300 && callbackResponse.status < 400,
        `expected the redirect to the client, got ${callbackResponse.status}: ${alertText(callbackResponse)}`,
      );
      const callback = new URL(callbackResponse.headers.get('location')!);
      assert.equal(callback.origin + callback.pathname, `${RP}/callback`);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: auth.verifier,
        expectedState: auth.state,
      });
      const claims = tokens.claims()!;
      return { claims, userinfo: await oidc.fetchUserInfo(config, tokens.access_token, claims.sub) };
    }

    async function passwordLogin(identifier: string, password: string, tenant = 'acme') {
      const auth = await authorization({}, tenant);
      const agent = english();
      const page = await agent.follow(auth.url, running.url);
      return submit(agent, page, '/login', { identifier, password });
    }

    test('email: the code goes by SMTP, the account exists only after it, then the person is back at the client', async () => {
      const agent = english();
      const { auth, page } = await openSignup(agent);
      assert.match(page.body, /autocomplete="new-password"/);
      const password = `${randomPassword()} æøå 🔑`;
      const codePage = await startSignup(agent, page, 'Nora.Signup@Example.com', password);
      assert.match(codePage.body, /nora\.signup@example\.com/);

      const mail = mailbox.last('nora.signup@example.com');
      assert.ok(mail, 'an email was sent');
      assert.equal(mail.from, 'id@acme.example');
      assert.match(mail.subject, /Acme/);
      assert.match(mail.html, /\d{6}/);
      // Not yet an account: the password does not log in before the code.
      assert.equal((await passwordLogin('nora.signup@example.com', password)).status, 401);

      const done = await enterCode(agent, codePage, mailbox.code('nora.signup@example.com'));
      const { claims, userinfo } = await tokensFor(done, auth);
      assert.deepEqual(claims.amr, ['pwd', 'otp']);
      assert.equal(userinfo.email, 'nora.signup@example.com');
      assert.equal(userinfo.email_verified, true);
      // And the password logs in from now on.
      assert.equal((await passwordLogin('NORA.SIGNUP@example.com', password)).status, 303);
    });

    test('mobile number typed as 912 xx xxx: the code goes to the SMS gateway as JSON, in E.164', async () => {
      const agent = english();
      const { auth, page } = await openSignup(agent);
      const password = randomPassword();
      const codePage = await startSignup(agent, page, '934 56 789', password);
      // Shown as Norwegians write a mobile number (libphonenumber would say +47 93 45 67 89).
      assert.match(codePage.body, /by SMS to 934 56 789\./);
      const message = sms.last('+4793456789');
      assert.ok(message, 'the gateway got the message');
      assert.equal(message.tenant, 'acme');
      assert.equal(message.purpose, 'signup');
      assert.match(message.text, /\d{6}/);
      const { claims, userinfo } = await tokensFor(
        await enterCode(agent, codePage, sms.code('+4793456789')),
        auth,
      );
      assert.deepEqual(claims.amr, ['pwd', 'sms']);
      assert.equal(userinfo.phone_number, '+4793456789');
      assert.equal(userinfo.phone_number_verified, true);
      // Every common way of writing the number logs in.
      for (const typed of ['+47 93456789', '0047 934 56 789', '93456789']) {
        assert.equal((await passwordLogin(typed, password)).status, 303, typed);
      }
    });

    test('a Swedish +46 number signs up in the Norwegian tenant', async () => {
      const agent = english();
      const { auth, page } = await openSignup(agent);
      const codePage = await startSignup(agent, page, '+46 70 123 45 67', randomPassword());
      const { userinfo } = await tokensFor(await enterCode(agent, codePage, sms.code('+46701234567')), auth);
      assert.equal(userinfo.phone_number, '+46701234567');
    });

    test('"you already have an account with 934 56 781": the number as Norwegians write it, in the login link too', async () => {
      const first = english();
      const { page } = await openSignup(first);
      const codePage = await startSignup(first, page, '93456781', randomPassword());
      assert.match(codePage.body, /We sent a 6-digit code by SMS to 934 56 781\./);
      assert.equal((await enterCode(first, codePage, sms.code('+4793456781'))).status, 303);

      const again = english();
      const signup = await openSignup(again);
      const code = await startSignup(again, signup.page, '+47 934 56 781', randomPassword());
      const exists = await enterCode(again, code, sms.code('+4793456781'));
      assert.match(exists.body, /You already have an account with 934 56 781\./);
      const login = /href="([^"]*\/login\?identifier=934%2056%20781)"/.exec(exists.body);
      assert.ok(login, 'the way to log in carries the number as shown');
      const loginPage = await again.request(new URL(login[1]!, running.url).href);
      assert.match(loginPage.body, /<input id="identifier"[^>]*value="934 56 781"/);
    });

    test('a Swedish tenant shows its numbers as 070-123 45 67, and a Norwegian one with +47', async () => {
      for (const [typed, stored, shown] of [
        ['070-123 45 69', '+46701234569', '070-123 45 69'],
        ['+47 934 56 780', '+4793456780', '+47 934 56 780'],
      ] as const) {
        const agent = english();
        const { page } = await openSignup(agent, 'sverige');
        const codePage = await startSignup(agent, page, typed, randomPassword());
        assert.ok(codePage.body.includes(`by SMS to ${shown}.`), `${typed} is shown as ${shown}`);
        assert.ok(sms.last(stored), 'and sent to the number in E.164');
      }
    });

    test('prompt=create opens the sign-up page directly (and is advertised in discovery)', async () => {
      const metadata = config.serverMetadata() as { prompt_values_supported?: string[] };
      assert.ok(metadata.prompt_values_supported?.includes('create'));
      const agent = english();
      const auth = await authorization({ prompt: 'create' });
      const page = await agent.follow(auth.url, running.url);
      assert.equal(page.status, 200);
      assert.match(page.body, /<h1>Create an account<\/h1>/);
      const codePage = await startSignup(agent, page, 'prompt.create@example.com', randomPassword());
      const { userinfo } = await tokensFor(
        await enterCode(agent, codePage, mailbox.code('prompt.create@example.com')),
        auth,
      );
      assert.equal(userinfo.email, 'prompt.create@example.com');
    });

    test('an identifier that already has an account: the same steps, and only after the code does the page say so', async () => {
      const password = randomPassword();
      const existing = await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: ['taken@example.com'],
        password,
        verified: true,
      });
      assert.ok(existing.ok);
      const agent = english();
      const { page } = await openSignup(agent);
      // Same 303 and the same code page as for a new address: nothing tells the two apart.
      const codePage = await startSignup(agent, page, 'taken@example.com', randomPassword());
      const exists = await enterCode(agent, codePage, mailbox.code('taken@example.com'));
      assert.equal(exists.status, 200);
      assert.match(exists.body, /You already have an account with taken@example\.com/);
      assert.match(exists.body, /href="[^"]*\/login\?identifier=taken@example\.com"/);
      // Forgot the password of that account? Recovery in the same interaction, the address filled in.
      const forgot = /href="([^"]*\/forgot\?identifier=taken@example\.com)" id="forgot-password"/.exec(
        exists.body,
      );
      assert.ok(forgot, 'the page offers "Forgot your password?"');
      assert.match(exists.body, />Forgot your password\?</);
      const recovery = await agent.request(new URL(forgot[1]!, running.url).href);
      assert.equal(recovery.status, 200);
      assert.match(recovery.body, /<input id="identifier"[^>]*value="taken@example\.com"/);
      // And the way back to the client is there too.
      assert.match(exists.body, /action="[^"]*\/abort"/);
      // The old password still works; the one typed at sign-up did not replace it.
      assert.equal((await passwordLogin('taken@example.com', password)).status, 303);
      // The code is spent: entering it again says so.
      const again = await enterCode(agent, codePage, mailbox.code('taken@example.com'));
      assert.equal(again.status, 410);
      assert.equal(alertText(again), 'That code has already been used. Ask for a new code if you need one.');
    });

    test('wrong, malformed, last-try and sixth codes each get their own message; a new code works again', async () => {
      const agent = english();
      const { auth, page } = await openSignup(agent);
      const codePage = await startSignup(agent, page, 'tries@example.com', randomPassword());
      const right = mailbox.code('tries@example.com');
      const wrong = right === '000000' ? '111111' : '000000';

      const malformed = await enterCode(agent, codePage, '12ab');
      assert.equal(malformed.status, 400);
      assert.equal(alertText(malformed), 'The code is 6 digits. Check what you typed.');
      // The slip stays in the field to be seen, marked and tied to the message (WCAG 3.3.1).
      const field = /<input id="code"[^>]*>/.exec(malformed.body)?.[0] ?? '';
      assert.match(field, /value="12ab"/);
      assert.match(field, /aria-invalid="true"/);
      assert.match(field, /aria-describedby="code-hint form-error"/);
      for (let attempt = 1; attempt <= 4; attempt++) {
        const response = await enterCode(agent, codePage, wrong);
        assert.equal(response.status, 401);
        assert.equal(
          alertText(response),
          'That code is wrong. Check the latest message from us and try again.',
        );
      }
      const fifth = await enterCode(agent, codePage, wrong);
      assert.equal(fifth.status, 401);
      assert.match(alertText(fifth), /last try/);
      // Five wrong tries spent the code: even the right one fails now (the malformed one cost nothing).
      const sixth = await enterCode(agent, codePage, right);
      assert.equal(sixth.status, 403);
      assert.match(alertText(sixth), /^Too many wrong tries/);

      const resent = await submit(agent, codePage, '/signup/resend', {});
      assert.equal(resent.status, 303);
      const newPage = await agent.request(new URL(resent.headers.get('location')!, running.url).href);
      assert.match(newPage.body, /We sent a new code/);
      const fresh = mailbox.code('tries@example.com');
      await tokensFor(await enterCode(agent, newPage, ` ${fresh.slice(0, 3)} ${fresh.slice(3)} `), auth);
    });

    test('ASVS 6.6.2: a code from another sign-up of the same address does not work here, and says so', async () => {
      const first = english();
      const one = await openSignup(first);
      const firstCodePage = await startSignup(first, one.page, 'two.tabs@example.com', randomPassword());
      const firstCode = mailbox.code('two.tabs@example.com');
      const second = english();
      const two = await openSignup(second);
      const secondCodePage = await startSignup(second, two.page, 'two.tabs@example.com', randomPassword());
      const secondCode = mailbox.code('two.tabs@example.com');
      if (secondCode === firstCode) return; // one in a million: the codes happen to be equal
      const crossed = await enterCode(second, secondCodePage, firstCode);
      assert.equal(crossed.status, 401);
      assert.match(alertText(crossed), /^That code belongs to another attempt/);
      // Each journey still completes with its own code.
      await tokensFor(await enterCode(first, firstCodePage, firstCode), one.auth);
    });

    test('ASVS 6.5.5: a code 10 minutes old is refused, and a new one works', async () => {
      const agent = english();
      const { auth, page } = await openSignup(agent);
      const codePage = await startSignup(agent, page, 'late@example.com', randomPassword());
      const code = mailbox.code('late@example.com');
      // Ten minutes, written out: the limit the checklist sets, whatever the code's constant says.
      clock.advance(10 * 60_000);
      const expired = await enterCode(agent, codePage, code);
      assert.equal(expired.status, 410);
      assert.match(alertText(expired), /^That code has expired/);
      const resent = await submit(agent, codePage, '/signup/resend', {});
      const newPage = await agent.request(new URL(resent.headers.get('location')!, running.url).href);
      await tokensFor(await enterCode(agent, newPage, mailbox.code('late@example.com')), auth);
    });

    test('20 parallel guesses at one code: exactly 5 are checked, the rest are refused unchecked', async () => {
      const agent = english();
      const { page } = await openSignup(agent);
      const codePage = await startSignup(agent, page, 'parallel@example.com', randomPassword());
      const right = mailbox.code('parallel@example.com');
      const guesses = Array.from({ length: 20 }, (_, i) =>
        String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0'),
      );
      const responses = await Promise.all(guesses.map((guess) => enterCode(agent, codePage, guess)));
      const statuses = responses.map((r) => r.status).join(',');
      const checked = responses.filter((r) => r.status === 401).length;
      // Refused unchecked: the code is out of tries (403), or the address, whose guesses in
      // flight all count, must wait (429; ASVS 6.6.3, once earlier tests' guesses add up).
      const refused = responses.filter((r) => r.status === 403 || r.status === 429).length;
      assert.equal(checked, 5, `statuses: ${statuses}`);
      assert.equal(refused, 15, `statuses: ${statuses}`);
    });

    test('bad identifiers and passwords: a clear message each, 400, and nothing sent', async () => {
      const agent = english();
      const { page } = await openSignup(agent);
      const before = mailbox.messages.length + sms.messages.length;
      const cases: [Record<string, string>, RegExp][] = [
        [
          { identifier: '', password: 'long enough password' },
          /^Enter your email address or mobile number\.$/,
        ],
        [{ identifier: 'kari@', password: 'long enough password' }, /^That is not a valid email address/],
        [{ identifier: '12', password: 'long enough password' }, /^That is not a valid mobile number/],
        [{ identifier: '+47 123', password: 'long enough password' }, /^That is not a valid mobile number/],
        // Swedish, typed as in Sweden, in a Norwegian tenant: said how it was read, and what to type.
        [
          { identifier: '070-123 45 67', password: 'long enough password' },
          /^We read 070-123 45 67 as a Norwegian number\. Is it Swedish\? Type \+46 first, for example \+46 70 123 45 67\.$/,
        ],
        // Too long to be an address: said so, not taken for an empty field.
        [
          { identifier: `${'k'.repeat(250)}@example.com`, password: 'long enough password' },
          /^That is not a valid email address/,
        ],
        [
          { identifier: '9'.repeat(300), password: 'long enough password' },
          /^That is not a valid mobile number/,
        ],
        [{ identifier: 'ok@example.com', password: '' }, /^Choose a password\.$/],
        [{ identifier: 'ok@example.com', password: 'short' }, /at least 8 characters/],
        [{ identifier: 'ok@example.com', password: 'x'.repeat(1025) }, /at most 1024 characters/],
      ];
      for (const [form, message] of cases) {
        const response = await submit(agent, page, '/signup', form);
        assert.equal(response.status, 400, JSON.stringify(form));
        assert.match(alertText(response), message);
      }
      assert.equal(mailbox.messages.length + sms.messages.length, before);
    });

    test('a tenant that accepts only email addresses refuses a mobile number with a message', async () => {
      const agent = english();
      const { page } = await openSignup(agent, 'mailonly');
      assert.match(page.body, /type="email"/);
      const response = await submit(agent, page, '/signup', {
        identifier: '912 34 599',
        password: randomPassword(),
      });
      assert.equal(response.status, 400);
      assert.equal(
        alertText(response),
        'Acme does not use mobile numbers for login. Use your email address.',
      );
    });

    test('a refusing SMTP server and an SMS gateway answering 500: "unable to send", 502, no account, no live code', async () => {
      const agent = english();
      const { page } = await openSignup(agent);
      const password = randomPassword();
      mailbox.refusing = true;
      try {
        const response = await submit(agent, page, '/signup', { identifier: 'bounce@example.com', password });
        assert.equal(response.status, 502);
        assert.match(alertText(response), /^We were unable to send you a code at bounce@example\.com/);
        assert.match(response.body, /value="bounce@example\.com"/, 'what was typed is kept');
      } finally {
        mailbox.refusing = false;
      }
      sms.status = 500;
      try {
        const response = await submit(agent, page, '/signup', { identifier: '912 00 111', password });
        assert.equal(response.status, 502);
        assert.match(alertText(response), /^We were unable to send you a code at 912 00 111\./);
      } finally {
        sms.status = 200;
      }
      // No code waits for this journey: the code page sends the person back to the form.
      const base = formAction(page.body, '/signup');
      const codePage = await agent.request(new URL(`${base}/code`, running.url).href);
      assert.equal(codePage.status, 303);
      assert.match(codePage.headers.get('location') ?? '', /\/signup$/);
      assert.equal((await passwordLogin('bounce@example.com', password)).status, 401);
    });

    test('a tenant without sign-up: no link, the sign-up page is refused, prompt=create is not offered', async () => {
      const agent = english();
      const auth = await authorization({}, 'closed');
      const login = await agent.follow(auth.url, running.url);
      assert.equal(login.status, 200);
      assert.doesNotMatch(login.body, /create-account/);
      const uid = /interaction\/([^/"]+)\/login/.exec(login.body)?.[1];
      const refused = await agent.request(`${running.url}/t/closed/interaction/${uid}/signup`);
      assert.equal(refused.status, 403);
      const create = await authorization({ prompt: 'create' }, 'closed');
      const answer = await agent.follow(create.url, running.url);
      assert.ok(
        answer.status === 303 || answer.status === 302 || answer.status === 400,
        String(answer.status),
      );
      if (answer.status !== 400) {
        assert.equal(new URL(answer.headers.get('location')!).searchParams.get('error'), 'invalid_request');
      }
    });

    describe('an imported account proves its email address at the first login', () => {
      async function importAccount(email: string, password: string) {
        const result = await running.vakt.accounts.createAccount({
          tenant: 'acme',
          defaultCountry: 'NO',
          emails: [email],
          phones: [],
          password,
          verified: false,
        });
        assert.ok(result.ok);
      }

      async function loginToVerify(agent: UserAgent, identifier: string, password: string) {
        const auth = await authorization();
        const page = await agent.follow(auth.url, running.url);
        const posted = await submit(agent, page, '/login', { identifier, password });
        assert.equal(posted.status, 303, alertText(posted));
        assert.match(posted.headers.get('location') ?? '', /\/verify$/);
        const verifyPage = await agent.request(new URL(posted.headers.get('location')!, running.url).href);
        assert.equal(verifyPage.status, 200);
        return { auth, verifyPage };
      }

      test('with a code to that address: then it is verified and the login completes', async () => {
        const password = randomPassword();
        await importAccount('imported@example.com', password);
        const agent = english();
        const { auth, verifyPage } = await loginToVerify(agent, 'imported@example.com', password);
        assert.match(verifyPage.body, /Confirm your email address/);
        const code = mailbox.code('imported@example.com');
        const action = new URL(formAction(verifyPage.body, '/verify'), running.url).href;
        const done = await agent.follow(action, running.url, {
          form: { csrf: formField(verifyPage.body, 'csrf'), code },
        });
        const { userinfo } = await tokensFor(done, auth);
        assert.equal(userinfo.email_verified, true);
        // Verified now: the next login goes straight through.
        assert.equal((await passwordLogin('imported@example.com', password)).status, 303);
      });

      test('or by putting another address in its place, proved by its own code', async () => {
        const password = randomPassword();
        await importAccount('old.address@example.com', password);
        const agent = english();
        const { auth, verifyPage } = await loginToVerify(agent, 'old.address@example.com', password);
        const replaced = await submit(agent, verifyPage, '/verify/replace', {
          identifier: 'new.address@example.com',
        });
        assert.equal(replaced.status, 303);
        const newPage = await agent.request(new URL(replaced.headers.get('location')!, running.url).href);
        assert.match(newPage.body, /new\.address@example\.com/);
        const action = new URL(formAction(newPage.body, '/verify'), running.url).href;
        const done = await agent.follow(action, running.url, {
          form: { csrf: formField(newPage.body, 'csrf'), code: mailbox.code('new.address@example.com') },
        });
        const { userinfo } = await tokensFor(done, auth);
        assert.equal(userinfo.email, 'new.address@example.com');
        assert.equal(userinfo.email_verified, true);
        assert.equal((await passwordLogin('old.address@example.com', password)).status, 401);
        assert.equal((await passwordLogin('new.address@example.com', password)).status, 303);
      });

      test('a wrong password for an imported address is the usual 401, and sends nothing', async () => {
        await importAccount('quiet@example.com', randomPassword());
        const response = await passwordLogin('quiet@example.com', 'not-the-password');
        assert.equal(response.status, 401);
        assert.equal(mailbox.last('quiet@example.com'), undefined);
      });
    });

    test('signing up logs in as any login does: the session gives single sign-on to the next request', async () => {
      const agent = english();
      const { auth, page } = await openSignup(agent);
      const codePage = await startSignup(agent, page, 'sso.after.signup@example.com', randomPassword());
      await tokensFor(await enterCode(agent, codePage, mailbox.code('sso.after.signup@example.com')), auth);
      const next = await authorization();
      const response = await agent.follow(next.url, running.url);
      assert.ok(response.status >= 300 && response.status < 400, 'no login page the second time');
      const location = new URL(response.headers.get('location')!);
      assert.equal(location.origin + location.pathname, `${RP}/callback`);
    });
  });
}
