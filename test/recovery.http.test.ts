// "Forgot your password?" and the limits on sending codes, over HTTP against a real vakt with a
// real SMTP server and a real SMS gateway, on SQLite and PostgreSQL; an openid-client relying
// party shows that "log out on all other devices" also kills refresh tokens.
// Cites: ASVS 6.3.7 (notify after a reset), 6.6.1 (codes only to verified destinations),
// 7.4.3 (end other sessions after a password change: their tokens and single sign-on end, and
// back-channel logout tells their clients), 6.2.3 (a failed reset leaves the old password), 2.4.1 and 6.6.3 (limits per identifier,
// IP and destination country, with Retry-After), 6.3.8 / 6.4 (no enumeration through reset,
// not even by the time a code takes to be "sent"),
// NIST 800-63B (out-of-band codes rate-limited).
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { codeLimitsSchema } from '../src/config/schema.js';
import { createManualClock } from '../src/domain/clock.js';
import {
  type BackchannelReceiver,
  startBackchannelReceiver,
  tenantLoggingOutTo,
  verifyLogoutToken,
} from './helpers/backchannel.js';
import { databaseKinds } from './helpers/databases.js';
import { assertCouldNotUpdate, whilePasswordUpdatesRefused } from './helpers/faults.js';
import { alertText, formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { authorizationUrl, expectSilentRedirect, logInThroughPage } from './helpers/login.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { discoverClient } from './helpers/oidc.js';
import { type SmsGateway, startSmsGateway } from './helpers/sms-gateway.js';
import { deliveryEnv, RP, type RunningVakt, randomPassword, startVakt, testTenant } from './helpers/vakt.js';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

for (const kind of databaseKinds) {
  describe(`password recovery and code limits on ${kind.name}`, { skip: kind.skip, timeout: 120_000 }, () => {
    let running: RunningVakt;
    let mailbox: Mailbox;
    let sms: SmsGateway;
    /** The timing tenant's own gateway, as slow as one across the internet. */
    let slowSms: SmsGateway;
    let backchannel: BackchannelReceiver;
    let config: oidc.Configuration;
    const clock = createManualClock();
    const defaults = codeLimitsSchema.parse({});

    before(async () => {
      mailbox = await startMailbox();
      sms = await startSmsGateway();
      slowSms = await startSmsGateway();
      slowSms.delayMs = 60;
      backchannel = await startBackchannelReceiver();
      const acme = tenantLoggingOutTo(backchannel);
      running = await startVakt(kind, {
        clock,
        env: deliveryEnv(mailbox, sms),
        config: {
          tenants: [
            acme,
            testTenant({ slug: 'perip', codeLimits: { ...defaults, perIp: [{ seconds: 600, max: 2 }] } }),
            testTenant({
              slug: 'country',
              codeLimits: {
                ...defaults,
                perIp: [{ seconds: 600, max: 1000 }],
                perCountry: [{ seconds: 3600, max: 1 }],
              },
            }),
            testTenant({
              slug: 'timing',
              delivery: { sms: { webhookUrls: [slowSms.url] } },
              codeLimits: {
                perIdentifier: [{ seconds: 600, max: 100_000 }],
                perIp: [{ seconds: 600, max: 100_000 }],
                perCountry: [{ seconds: 3600, max: 100_000 }],
              },
            }),
          ],
        },
      });
      config = await discoverClient(running.issuer);
    });

    after(async () => {
      await running?.stop();
      await mailbox?.close();
      await sms?.close();
      await slowSms?.close();
      await backchannel?.close();
    });

    const english = () => new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });

    async function authorization(tenant = 'acme', extra: Record<string, string> = {}) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = authorizationUrl(`${running.url}/t/${tenant}`, {
        scope: 'openid email phone offline_access',
        prompt: 'consent',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        state,
        ...extra,
      });
      return { url, verifier, state };
    }

    async function submit(agent: UserAgent, page: Response, contains: string, form: Record<string, string>) {
      const action = new URL(formAction(page.body, contains), running.url).href;
      return agent.request(action, { form: { csrf: formField(page.body, 'csrf'), ...form } });
    }

    /** From the login page's "Forgot your password?" to the page that asks where the code goes. */
    async function forgot(agent: UserAgent, identifier: string, tenant = 'acme') {
      const auth = await authorization(tenant);
      const login = await agent.follow(auth.url, running.url);
      const link = /href="([^"]*\/forgot)" id="forgot-password"/.exec(login.body);
      assert.ok(link, 'the login page links to "Forgot your password?"');
      const start = await agent.request(new URL(link[1]!, running.url).href);
      assert.equal(start.status, 200);
      const choose = await submit(agent, start, '/forgot', { identifier });
      assert.equal(choose.status, 200, alertText(choose));
      return { auth, choose };
    }

    async function choose(agent: UserAgent, page: Response, index: number) {
      return submit(agent, page, '/forgot/send', {
        state: formField(page.body, 'state'),
        choice: String(index),
      });
    }

    async function follow(agent: UserAgent, response: Response) {
      return agent.request(new URL(response.headers.get('location')!, running.url).href);
    }

    const masked = (page: Response) =>
      [...page.body.matchAll(/<label for="choice-\d+">([^<]+)</g)].map((m) => m[1]);

    async function account(emails: string[], phones: string[], password: string, tenant = 'acme') {
      const created = await running.vakt.accounts.createAccount({
        tenant,
        defaultCountry: 'NO',
        emails,
        phones,
        password,
        verified: true,
      });
      assert.ok(created.ok);
    }

    async function passwordLogin(identifier: string, password: string) {
      const agent = english();
      const login = await agent.follow((await authorization()).url, running.url);
      return submit(agent, login, '/login', { identifier, password });
    }

    /** Two browsers logged in to the account, each with the client's tokens; no logout token yet. */
    async function sessionsElsewhere(identifier: string, password: string) {
      const sessions = [];
      for (let i = 0; i < 2; i++) {
        const agent = new UserAgent();
        const auth = await authorization();
        const { callback } = await logInThroughPage(agent, auth.url, { identifier, password });
        const tokens = await oidc.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: auth.verifier,
          expectedState: auth.state,
        });
        assert.ok(tokens.refresh_token);
        sessions.push({ agent, tokens });
      }
      backchannel.tokens.length = 0;
      return sessions;
    }

    /** What prompt=none gets from the session in `agent`. */
    async function silently(agent: UserAgent) {
      const back = await expectSilentRedirect(agent, (await authorization('acme', { prompt: 'none' })).url);
      return back.searchParams.has('code') ? 'logged in' : back.searchParams.get('error');
    }

    test('reset by SMS: masked choices, code, new password, logged in; old password gone; email told; other sessions ended', async () => {
      const old = randomPassword();
      await account(['kari.reset@example.com'], ['+4793456700'], old);
      const elsewhere = await sessionsElsewhere('kari.reset@example.com', old);
      const agent = english();
      const { auth, choose: page } = await forgot(agent, 'kari.reset@example.com');
      // What was typed is shown in full (the person may spot a slip in it); the rest masked.
      assert.deepEqual(masked(page), ['kari.reset@example.com', '+47 ••• •• 700']);
      // Both kinds to choose from: then, and only then, the advice for a lost phone.
      assert.match(page.body, /If your phone is locked or lost, choose an email address\./);
      const phoneIndex = masked(page).indexOf('+47 ••• •• 700');
      const sent = await choose(agent, page, phoneIndex);
      assert.equal(sent.status, 303);
      const codePage = await follow(agent, sent);
      assert.match(codePage.body, /\+47 ••• •• 700/, 'the code page shows where the code went, masked');
      assert.equal(sms.last('+4793456700')?.purpose, 'recovery');

      const passwordPage = await submit(agent, codePage, '/forgot/code', { code: sms.code('+4793456700') });
      assert.equal(passwordPage.status, 200);
      assert.match(passwordPage.body, /autocomplete="new-password"/);
      const weak = await submit(agent, passwordPage, '/forgot/password', {
        proof: formField(passwordPage.body, 'proof'),
        password: 'short',
      });
      assert.equal(weak.status, 400);
      assert.match(alertText(weak), /too short/);

      const fresh = `${randomPassword()} ny`;
      const mailsBefore = mailbox.messages.length;
      const done = await agent.follow(
        new URL(formAction(weak.body, '/forgot/password'), running.url).href,
        running.url,
        {
          form: {
            csrf: formField(weak.body, 'csrf'),
            proof: formField(weak.body, 'proof'),
            password: fresh,
            end_sessions: 'on',
          },
        },
      );
      assert.ok(done.status >= 300 && done.status < 400, `${done.status}: ${alertText(done)}`);
      const back = new URL(done.headers.get('location')!);
      assert.equal(back.origin + back.pathname, `${RP}/callback`);
      const tokens = await oidc.authorizationCodeGrant(config, back, {
        pkceCodeVerifier: auth.verifier,
        expectedState: auth.state,
      });
      assert.deepEqual(tokens.claims()?.amr, ['pwd', 'sms']);

      // The other channel was told (ASVS 6.3.7); the one the code went to was not bothered twice.
      const notice = mailbox.messages.slice(mailsBefore).find((m) => m.to.includes('kari.reset@example.com'));
      assert.ok(notice, 'a notice went to the email address');
      assert.match(notice.subject, /password .* was changed/i);
      assert.doesNotMatch(notice.text, /\b\d{6}\b/, 'a notice carries no code');

      assert.equal((await passwordLogin('kari.reset@example.com', old)).status, 401);
      assert.equal((await passwordLogin('kari.reset@example.com', fresh)).status, 303);
      // ASVS 7.4.3: a reset keeps no session: both sessions elsewhere ended, with their refresh
      // tokens and single sign-on, and their client got a verified logout token for each.
      for (const { agent: browser, tokens: theirs } of elsewhere) {
        await assert.rejects(
          oidc.refreshTokenGrant(config, theirs.refresh_token!),
          (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
        );
        assert.equal(await silently(browser), 'login_required');
      }
      const logouts = await Promise.all(
        backchannel.tokens.map((token) => verifyLogoutToken(token, running.issuer, 'web')),
      );
      assert.deepEqual(logouts.map((l) => l.sid).sort(), elsewhere.map((e) => e.tokens.claims()!.sid).sort());
      // The session this reset logged in to lives on.
      assert.equal(await silently(agent), 'logged in');
    });

    test('ASVS 6.2.3: a reset the database refuses says so (503); the old password still works, nothing is ended or sent', async () => {
      const old = randomPassword();
      await account(['refused.reset@example.com'], ['+4793456711'], old);
      const [elsewhere] = await sessionsElsewhere('refused.reset@example.com', old);
      const agent = english();
      const { choose: page } = await forgot(agent, 'refused.reset@example.com');
      const codePage = await follow(agent, await choose(agent, page, 0));
      const passwordPage = await submit(agent, codePage, '/forgot/code', {
        code: mailbox.code('refused.reset@example.com'),
      });
      assert.equal(passwordPage.status, 200);
      const fresh = randomPassword();
      const sent = mailbox.messages.length + sms.messages.length;
      const refused = await whilePasswordUpdatesRefused(running.vakt, () =>
        submit(agent, passwordPage, '/forgot/password', {
          proof: formField(passwordPage.body, 'proof'),
          password: fresh,
          end_sessions: 'on',
        }),
      );
      assertCouldNotUpdate(refused, /autocomplete="new-password"/);

      assert.equal((await passwordLogin('refused.reset@example.com', old)).status, 303, 'old password works');
      assert.equal((await passwordLogin('refused.reset@example.com', fresh)).status, 401);
      assert.ok(await oidc.refreshTokenGrant(config, elsewhere!.tokens.refresh_token!), 'nothing was ended');
      assert.equal(await silently(elsewhere!.agent), 'logged in');
      assert.equal(backchannel.tokens.length, 0, 'no client was told of a logout');
      assert.equal(mailbox.messages.length + sms.messages.length, sent, 'no "password changed" notice');
    });

    test('ASVS 6.5.1: a reset code proves once: the new-password form sent twice at once and again later sets one password, tells once', async () => {
      const old = randomPassword();
      await account(['once.reset@example.com'], ['+4793456722'], old);
      const agent = english();
      const { choose: page } = await forgot(agent, 'once.reset@example.com');
      const phoneIndex = masked(page).indexOf('+47 ••• •• 722');
      const codePage = await follow(agent, await choose(agent, page, phoneIndex));
      const passwordPage = await submit(agent, codePage, '/forgot/code', { code: sms.code('+4793456722') });
      assert.equal(passwordPage.status, 200);
      const proof = formField(passwordPage.body, 'proof');
      const mailsBefore = mailbox.messages.length;

      const tried = [randomPassword(), randomPassword()];
      const answers = await Promise.all(
        tried.map((password) => submit(agent, passwordPage, '/forgot/password', { proof, password })),
      );
      assert.deepEqual(answers.map((a) => a.status).sort(), [303, 400], 'one form sets the password');
      const refused = answers.find((a) => a.status === 400)!;
      assert.match(alertText(refused), /expired or was already used/);
      const set = tried[answers.findIndex((a) => a.status === 303)]!;
      const other = tried.find((p) => p !== set)!;

      const replay = await submit(agent, passwordPage, '/forgot/password', {
        proof,
        password: randomPassword(),
      });
      assert.equal(replay.status, 400);
      assert.match(alertText(replay), /expired or was already used/);

      assert.equal((await passwordLogin('once.reset@example.com', set)).status, 303);
      assert.equal((await passwordLogin('once.reset@example.com', other)).status, 401);
      assert.equal((await passwordLogin('once.reset@example.com', old)).status, 401);
      const notices = mailbox.messages
        .slice(mailsBefore)
        .filter((m) => m.to.includes('once.reset@example.com'));
      assert.equal(notices.length, 1, 'one "password changed" notice');
    });

    test('an unknown identifier goes through the same screens, and nothing is sent', async () => {
      const agent = english();
      const sentBefore = mailbox.messages.length + sms.messages.length;
      const { choose: page } = await forgot(agent, 'nobody.here@example.com');
      // What was typed, in full, as for a known identifier (ASVS 6.3.8).
      assert.deepEqual(masked(page), ['nobody.here@example.com']);
      const sent = await choose(agent, page, 0);
      assert.equal(sent.status, 303);
      const codePage = await follow(agent, sent);
      assert.equal(codePage.status, 200);
      assert.match(codePage.body, /n•••@example\.com/);
      const tried = await submit(agent, codePage, '/forgot/code', { code: '123456' });
      assert.equal(tried.status, 401);
      assert.equal(alertText(tried), 'That code is wrong. Check the latest message from us and try again.');
      assert.equal(mailbox.messages.length + sms.messages.length, sentBefore, 'nothing left vakt');
    });

    test('the choice page: advice for a lost phone only beside a phone, the typed one in full, a way back to login', async () => {
      await account(['only.mail@example.com', 'second.mail@example.com'], [], randomPassword());
      await account([], ['+4793456733'], randomPassword());
      const cases = [
        // Known, emails only: the typed one in full, the other masked; no word of a phone.
        ['only.mail@example.com', ['s•••@example.com', 'only.mail@example.com'], 'only.mail@example.com'],
        // Known by its number, typed as Norwegians write it, shown so.
        ['93456733', ['934 56 733'], '934%2056%20733'],
        // Unknown: what was typed is the one option, the same screens.
        ['nobody.there@example.com', ['nobody.there@example.com'], 'nobody.there@example.com'],
      ] as const;
      for (const [typed, options, carried] of cases) {
        const agent = english();
        const { choose: page } = await forgot(agent, typed);
        // In the order the store gives, which between two addresses is not fixed.
        assert.deepEqual(masked(page).sort(), [...options].sort(), typed);
        assert.doesNotMatch(page.body, /phone is locked or lost/, typed);
        const back = /href="([^"]*)" id="back-to-login"/.exec(page.body)?.[1];
        assert.ok(back, `${typed}: a way back`);
        assert.ok(back.endsWith(`/login?identifier=${carried}`), back);
        const login = await agent.request(new URL(back, running.url).href);
        assert.equal(login.status, 200);
        assert.match(login.body, /<input id="password"/);
      }
    });

    test('the start page takes the identifier from the login page, and says "Remembered your password? Log in"', async () => {
      const agent = english();
      const login = await agent.follow((await authorization()).url, running.url);
      const wrong = await submit(agent, login, '/login', {
        identifier: 'kari@example.com',
        password: 'wrong-one',
      });
      assert.equal(wrong.status, 401);
      const href = /href="([^"]*\/forgot\?identifier=kari@example\.com)" id="forgot-password"/.exec(
        wrong.body,
      )?.[1];
      assert.ok(href, 'the link carries what was typed');
      const start = await agent.request(new URL(href, running.url).href);
      assert.match(start.body, /<input id="identifier"[^>]*value="kari@example\.com"/);
      assert.match(start.body, /id="back-to-login">Remembered your password\? Log in</);
    });

    test('a tampered or foreign choice is refused with a message, not a 500', async () => {
      const agent = english();
      const { choose: page } = await forgot(agent, 'nobody.either@example.com');
      const tampered = await submit(agent, page, '/forgot/send', { state: 'v1.AAAA.BBBB.CCCC', choice: '0' });
      assert.equal(tampered.status, 400);
      assert.match(alertText(tampered), /expired or was already used/);
      const outOfRange = await submit(agent, page, '/forgot/send', {
        state: formField(page.body, 'state'),
        choice: '7',
      });
      assert.equal(outOfRange.status, 400);
      assert.equal(alertText(outOfRange), 'Choose where we should send the code.');
    });

    test('per identifier: the 4th code in 10 minutes is refused with 429 and Retry-After; later it works again', async () => {
      await account(['limit.me@example.com'], [], randomPassword());
      const agent = english();
      const { choose: page } = await forgot(agent, 'limit.me@example.com');
      for (let i = 1; i <= 3; i++) assert.equal((await choose(agent, page, 0)).status, 303, `code ${i}`);
      const mails = mailbox.messages.length;
      const refused = await choose(agent, page, 0);
      assert.equal(refused.status, 429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After ${retryAfter}`);
      assert.equal(
        alertText(refused),
        `You have requested too many codes in too short a time. Wait ${Math.ceil(retryAfter / 60)} minutes and try again.`,
      );
      assert.equal(mailbox.messages.length, mails, 'a refused request sends nothing');
      // Under 90 seconds before the window moves on, the wait is told in seconds.
      clock.advance((retryAfter - 30) * 1000);
      const soon = await choose(agent, page, 0);
      assert.equal(soon.status, 429);
      assert.equal(soon.headers.get('retry-after'), '30');
      assert.equal(
        alertText(soon),
        'You have requested too many codes in too short a time. Wait 30 seconds and try again.',
      );
      clock.advance(30 * 1000);
      // The choice page itself has expired by now (10 minutes): the person starts again, on a
      // form that does not mark the identifier wrong, since it was not.
      const expired = await choose(agent, page, 0);
      assert.equal(expired.status, 400);
      assert.match(alertText(expired), /./);
      assert.doesNotMatch(expired.body, /aria-invalid/);
      const again = await forgot(agent, 'limit.me@example.com');
      assert.equal((await choose(agent, again.choose, 0)).status, 303, 'the window moved on');
    });

    // Codes in flight count: with the check and the send apart, a burst that arrived together
    // passed a nearly empty window together, and one address got ten codes at once (an SMS
    // bomb, paid by the operator). Ten journeys for one address ask at the same moment.
    test('ASVS 2.4.1: ten requests at once for one address send 3 codes; the other 7 get 429', async () => {
      await account(['burst@example.com'], [], randomPassword());
      const journeys = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const agent = english();
          return { agent, page: (await forgot(agent, 'burst@example.com')).choose };
        }),
      );
      const before = mailbox.messages.filter((m) => m.to.includes('burst@example.com')).length;
      const statuses = await Promise.all(journeys.map(({ agent, page }) => choose(agent, page, 0)));
      const counts = statuses.reduce<Record<number, number>>((acc, r) => {
        acc[r.status] = (acc[r.status] ?? 0) + 1;
        return acc;
      }, {});
      assert.deepEqual(counts, { 303: 3, 429: 7 });
      const sent = mailbox.messages.filter((m) => m.to.includes('burst@example.com')).length - before;
      assert.equal(sent, 3, 'three codes reached the address');
    });

    test('a failed delivery is not charged to the limit; meanwhile an unknown address fails alike (ASVS 6.3.8)', async () => {
      await account(['flaky@example.com'], [], randomPassword());
      const agent = english();
      const { choose: page } = await forgot(agent, 'flaky@example.com');
      const stranger = english();
      const { choose: nobody } = await forgot(stranger, 'nobody.flaky@example.com');
      mailbox.refusing = true;
      try {
        for (let i = 0; i < 4; i++) {
          const failed = await choose(agent, page, 0);
          assert.equal(failed.status, 502);
          assert.match(alertText(failed), /^We were unable to send you a code/);
        }
        const decoy = await choose(stranger, nobody, 0);
        assert.equal(decoy.status, 502, 'an outage does not tell real accounts apart');
        assert.match(alertText(decoy), /^We were unable to send you a code/);
      } finally {
        mailbox.refusing = false;
      }
      assert.equal((await choose(agent, page, 0)).status, 303, 'four failures cost nothing');
      assert.equal((await choose(stranger, nobody, 0)).status, 303, 'and decoys follow the route back');
    });

    test('per IP address: different identifiers from one address are limited too', async () => {
      const agent = english();
      for (const [i, email] of ['ip.one@example.com', 'ip.two@example.com'].entries()) {
        const { choose: page } = await forgot(agent, email, 'perip');
        assert.equal((await choose(agent, page, 0)).status, 303, `code ${i + 1}`);
      }
      const { choose: page } = await forgot(agent, 'ip.three@example.com', 'perip');
      const refused = await choose(agent, page, 0);
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
    });

    test('per destination country: SMS pumping to one country is stopped, other countries still get codes', async () => {
      const agent = english();
      const first = await forgot(agent, '+46 70 111 22 33', 'country');
      assert.equal((await choose(agent, first.choose, 0)).status, 303);
      const second = await forgot(agent, '+46 70 111 22 44', 'country');
      assert.equal(
        (await choose(agent, second.choose, 0)).status,
        429,
        'a second Swedish number within the hour',
      );
      const norwegian = await forgot(agent, '+47 934 11 223', 'country');
      assert.equal((await choose(agent, norwegian.choose, 0)).status, 303, 'Norway has its own count');
    });

    test('ASVS 6.3.8: a reset code for an unknown identifier is "sent" in the same time as a real one (statistically)', async () => {
      const known = [0, 1, 2, 3].map((i) => `+47 910 00 01${i}`);
      const unknown = [0, 1, 2, 3].map((i) => `+47 920 00 01${i}`);
      for (const phone of known) await account([], [phone], randomPassword(), 'timing');
      /** Each identifier's choice page, posted again and again (the tenant's limits allow it). */
      const pages = async (identifiers: string[]) =>
        Promise.all(
          identifiers.map(async (identifier) => {
            const agent = english();
            return { agent, page: (await forgot(agent, identifier, 'timing')).choose };
          }),
        );
      const knownPages = await pages(known);
      const unknownPages = await pages(unknown);
      const times = { known: [] as number[], unknown: [] as number[] };
      const answers = new Set<string>();
      // Alternating, so the two series share the machine's moods; a real send comes first.
      for (let i = 0; i < 32; i++) {
        for (const [series, { agent, page }] of [
          [times.known, knownPages[i % known.length]!],
          [times.unknown, unknownPages[i % unknown.length]!],
        ] as const) {
          const started = performance.now();
          const sent = await choose(agent, page, 0);
          series.push(performance.now() - started);
          answers.add(`${sent.status} ${[...sent.headers.keys()].join(',')} ${sent.body}`);
        }
      }
      assert.equal(answers.size, 1, `one answer for both: ${[...answers].join(' | ')}`);
      assert.equal(slowSms.messages.length, 32, 'only the real codes left vakt');
      // No absolute figure: the decoys' median within half of the real sends' either way.
      const ratio = median(times.unknown) / median(times.known);
      console.log(
        `# median ms: known ${median(times.known).toFixed(1)}, unknown ${median(times.unknown).toFixed(1)}, ratio ${ratio.toFixed(2)}`,
      );
      assert.ok(ratio > 0.67 && ratio < 1.5, `ratio ${ratio.toFixed(2)}`);
    });
  });
}
