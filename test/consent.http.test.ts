// A third-party client (not firstParty) asks the person before it gets anything, over HTTP
// against a real vakt, on SQLite and PostgreSQL: the consent page names the client and what it
// asks for, in the person's language; "Deny" sends access_denied back to the client; "Allow"
// sends a code, and is remembered, so the next login for the same scopes asks nothing; more
// scopes, or prompt=consent, ask again. The consent form is CSRF-protected like every other.
// Cites: OpenID Connect Core 3.1.2.4 (authorization consent), 3.1.2.6 (access_denied),
// RFC 9207 (iss in the error response too), ASVS 3.5.1 (CSRF).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { en } from '../src/ui/messages/en.js';
import { sv } from '../src/ui/messages/sv.js';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { submitForm } from './helpers/journeys.js';
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
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');

for (const kind of databaseKinds) {
  describe(`consent for a third-party client on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    let partner: oidc.Configuration;
    const password = randomPassword();

    before(async () => {
      running = await startVakt(kind, { config: { tenants: [testTenant({ identifierKinds: ['email'] })] } });
      await createEmailAccounts(running, [[EMAIL, { password }]]);
      partner = await discoverClient(running.issuer, 'partner');
    });

    after(async () => {
      await running?.stop();
    });

    const request = (params: Record<string, string> = {}) =>
      authorizationRequest(
        partner,
        { redirect_uri: `${RP}/partner/callback`, scope: 'openid email', ...params },
        { nonce: false },
      );

    /** Follows redirects at vakt; answers the page shown, or the redirect back to the client. */
    async function follow(agent: UserAgent, url: string): Promise<{ page?: Response; callback?: URL }> {
      const answer = await agent.follow(url, running.url);
      if (answer.status === 200) return { page: answer };
      assert.equal(
        answer.status,
        303,
        `expected a page or a redirect, got ${answer.status}: ${alertText(answer)}`,
      );
      return { callback: new URL(answer.headers.get('location')!) };
    }

    /** Sends the consent page's form `which` (allow or deny); answers where it ends. */
    async function choose(agent: UserAgent, page: Response, which: 'consent' | 'abort') {
      const answer = await agent.request(new URL(formAction(page.body, `/${which}`), running.url).href, {
        form: { csrf: formField(page.body, 'csrf') },
      });
      assert.equal(answer.status, 303, alertText(answer));
      return follow(agent, new URL(answer.headers.get('location')!, running.url).href);
    }

    function assertConsentPage(
      page: Response | undefined,
      scopes: string[],
      messages: Record<string, string> = en,
    ) {
      assert.ok(page, 'the consent page is shown');
      const shown = text(page.body);
      assert.ok(shown.includes(messages['consent.title']!), shown.slice(0, 300));
      assert.ok(shown.includes(messages['consent.lead']!.replace('{client}', 'Partner Site')));
      for (const scope of scopes) {
        const line = messages[`scope.${scope}`]!.replace('{tenant}', 'Acme');
        assert.ok(shown.includes(line), `the page lists ${scope}`);
      }
    }

    test('asked once, remembered, asked again for more; deny sends access_denied', async () => {
      const agent = new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });
      // The login first; the consent page follows it.
      const first = await request();
      const { page: login } = await follow(agent, first.url.href);
      assert.ok(login);
      const loggedIn = await submitForm(agent, login, '/login', { identifier: EMAIL, password });
      assert.equal(loggedIn.status, 303, alertText(loggedIn));
      const { page: consent } = await follow(
        agent,
        new URL(loggedIn.headers.get('location')!, running.url).href,
      );
      assertConsentPage(consent, ['openid', 'email']);

      // Deny: the client hears access_denied, with its state and the issuer.
      const denied = await choose(agent, consent!, 'abort');
      assert.ok(denied.callback);
      assert.equal(denied.callback.origin + denied.callback.pathname, `${RP}/partner/callback`);
      assert.equal(denied.callback.searchParams.get('error'), 'access_denied');
      assert.equal(denied.callback.searchParams.get('state'), first.state);
      assert.equal(denied.callback.searchParams.get('iss'), running.issuer);

      // Logged in still, so the next request goes straight to consent; allow.
      const second = await request();
      const { page: again } = await follow(agent, second.url.href);
      assertConsentPage(again, ['openid', 'email']);
      const allowed = await choose(agent, again!, 'consent');
      assert.ok(allowed.callback?.searchParams.get('code'));
      const tokens = await redeemCode(partner, allowed.callback!, second);
      const userinfo = await oidc.fetchUserInfo(partner, tokens.access_token, tokens.claims()!.sub);
      assert.equal(userinfo.email, EMAIL);

      // Remembered: the same scopes ask nothing.
      const third = await request();
      const silent = await follow(agent, third.url.href);
      assert.ok(silent.callback?.searchParams.get('code'), 'no page for what was allowed already');

      // More than was allowed: asked again, for the new scope.
      const more = await follow(agent, (await request({ scope: 'openid email phone' })).url.href);
      assertConsentPage(more.page, ['phone']);
      // prompt=consent: asked again, even for what was allowed.
      const asked = await follow(agent, (await request({ prompt: 'consent' })).url.href);
      assertConsentPage(asked.page, ['email']);
    });

    test('in the language the person reads; a consent without its CSRF token is refused', async () => {
      const agent = new UserAgent({ 'accept-language': 'sv', 'sec-fetch-site': 'same-origin' });
      const { page: login } = await follow(agent, (await request()).url.href);
      assert.ok(login);
      const loggedIn = await submitForm(agent, login, '/login', { identifier: EMAIL, password });
      const { page: consent } = await follow(
        agent,
        new URL(loggedIn.headers.get('location')!, running.url).href,
      );
      assertConsentPage(consent, ['email'], sv);

      const forged = await agent.request(new URL(formAction(consent!.body, '/consent'), running.url).href, {
        form: { csrf: 'not-the-token' },
      });
      assert.equal(forged.status, 403);
      // The page is still there to answer.
      const allowed = await choose(agent, consent!, 'consent');
      assert.ok(allowed.callback?.searchParams.get('code'));
    });
  });
}
