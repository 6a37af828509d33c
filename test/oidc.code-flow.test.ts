// A certified relying party (openid-client) runs the whole life of a login against vakt:
// code flow with PKCE, ID token, UserInfo, refresh-token rotation with replay detection,
// revocation, introspection, RP-initiated logout and back-channel logout.
// Cites: oidcc-server, oidcc-userinfo-get, oidcc-refresh-token, oidcc-codereuse,
// RFC 9700 (PKCE S256, rotation, iss in response), back-channel logout token shape.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import {
  type BackchannelReceiver,
  startBackchannelReceiver,
  tenantLoggingOutTo,
} from './helpers/backchannel.js';
import { databaseKinds } from './helpers/databases.js';
import { UserAgent } from './helpers/http-client.js';
import { logInThroughPage } from './helpers/login.js';
import { discoverClient } from './helpers/oidc.js';
import { RP, type RunningVakt, randomPassword, startVakt } from './helpers/vakt.js';

for (const kind of databaseKinds) {
  describe(`OpenID Connect code flow on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    let backchannel: BackchannelReceiver;
    const password = randomPassword();
    const email = 'Kari.Nordmann@Example.com';

    before(async () => {
      backchannel = await startBackchannelReceiver();
      const tenant = tenantLoggingOutTo(backchannel);
      running = await startVakt(kind, { config: { tenants: [tenant] } });
      const created = await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: [email],
        phones: ['912 34 567'],
        password,
        name: 'Kari Nordmann',
        verified: true,
      });
      assert.ok(created.ok);
    });

    after(async () => {
      await running?.stop();
      await backchannel?.close();
    });

    const discover = (clientId: string) => discoverClient(running.issuer, clientId);

    async function logIn(
      config: oidc.Configuration,
      agent: UserAgent,
      redirectUri: string,
      extra: Record<string, string> = {},
    ) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid profile email phone offline_access',
        prompt: 'consent',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...extra,
      });
      const { callback } = await logInThroughPage(agent, url.href, {
        identifier: 'kari.nordmann@example.com ',
        password,
      });
      return { callback, verifier, state, nonce };
    }

    test('confidential client: code + PKCE, claims, UserInfo, refresh rotation, replay revokes the grant', async () => {
      const config = await discover('web');
      const agent = new UserAgent();
      const { callback, verifier, state, nonce } = await logIn(config, agent, `${RP}/callback`);
      // RFC 9207: the issuer is in the authorization response.
      assert.equal(callback.searchParams.get('iss'), running.issuer);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      // oidcc-idtoken-signature: RS256 by default with a kid.
      const header = decodeProtectedHeader(tokens.id_token!);
      assert.equal(header.alg, 'RS256');
      assert.ok(header.kid);
      const claims = tokens.claims()!;
      assert.equal(claims.iss, running.issuer);
      assert.equal(claims.aud, 'web');

      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal(userinfo.email, 'kari.nordmann@example.com');
      assert.equal(userinfo.email_verified, true);
      assert.equal(userinfo.phone_number, '+4791234567');
      assert.equal(userinfo.phone_number_verified, true);
      assert.equal(userinfo.name, 'Kari Nordmann');

      // Refresh: a new refresh token each time; the old one, replayed, revokes the whole grant.
      const first = tokens.refresh_token!;
      assert.ok(first.length >= 22, 'refresh token carries at least 128 bits');
      const refreshed = await oidc.refreshTokenGrant(config, first);
      assert.ok(refreshed.refresh_token && refreshed.refresh_token !== first);
      await assert.rejects(
        oidc.refreshTokenGrant(config, first),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
      );
      await assert.rejects(
        oidc.refreshTokenGrant(config, refreshed.refresh_token!),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
        'the rotated token died with its grant',
      );
      const introspected = await oidc.tokenIntrospection(config, refreshed.access_token);
      assert.equal(introspected.active, false, 'access tokens of a revoked grant are dead too');
    });

    test('oidcc-codereuse: a second redemption of a code fails and revokes the first tokens', async () => {
      const config = await discover('web');
      const agent = new UserAgent();
      const { callback, verifier, state, nonce } = await logIn(config, agent, `${RP}/callback`);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      await assert.rejects(
        oidc.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: nonce,
        }),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
      );
      const introspected = await oidc.tokenIntrospection(config, tokens.access_token);
      assert.equal(introspected.active, false);
    });

    test("RFC 7662 / 7009: a client reads and revokes only its own tokens; another client's are inactive to it and not its to revoke", async () => {
      const config = await discover('web');
      const partner = await discover('partner');
      const agent = new UserAgent();
      const { callback, verifier, state, nonce } = await logIn(config, agent, `${RP}/callback`);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      for (const token of [tokens.access_token, tokens.refresh_token!]) {
        assert.deepEqual(await oidc.tokenIntrospection(partner, token), { active: false });
        await assert.rejects(
          oidc.tokenRevocation(partner, token),
          (error: oidc.ResponseBodyError) => error.error === 'invalid_request',
        );
        const own = await oidc.tokenIntrospection(config, token);
        assert.equal(own.active, true, 'the client it was issued to still sees it, unrevoked');
        assert.equal(own.client_id, 'web');
      }
    });

    test('public client: PKCE is required; revocation ends a refresh token', async () => {
      const config = await discover('spa');
      const agent = new UserAgent();
      // Without a code_challenge the public client is refused before any login page.
      const noPkce = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${RP}/spa/callback`,
        scope: 'openid',
        state: 's',
      });
      const refused = await agent.request(noPkce.href);
      assert.equal(refused.status, 303);
      const location = new URL(refused.headers.get('location')!);
      assert.equal(location.origin + location.pathname, `${RP}/spa/callback`);
      assert.equal(location.searchParams.get('error'), 'invalid_request');

      const { callback, verifier, state, nonce } = await logIn(config, agent, `${RP}/spa/callback`);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      assert.ok(tokens.refresh_token);
      await oidc.tokenRevocation(config, tokens.refresh_token!);
      await assert.rejects(
        oidc.refreshTokenGrant(config, tokens.refresh_token!),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
      );
    });

    test('RP-initiated logout ends the session, notifies the client back-channel, and prompt=none then fails, even with the old cookies (ASVS 7.4.1)', async () => {
      const config = await discover('web');
      const agent = new UserAgent();
      const { callback, verifier, state, nonce } = await logIn(config, agent, `${RP}/callback`);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      const sid = tokens.claims()!.sid;
      backchannel.tokens.length = 0;
      // ASVS 7.4.1: the cookies as they are now, alone in another agent, carry the session...
      const kept = agent.cookiesFor(`${running.issuer}/auth`);
      /** Where a prompt=none request in `browser` comes back to the client: with a code or an error. */
      const silently = async (browser: UserAgent) => {
        const url = oidc.buildAuthorizationUrl(config, {
          redirect_uri: `${RP}/callback`,
          scope: 'openid',
          prompt: 'none',
          state: 'x',
          code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
        });
        const answer = await browser.follow(url.href, running.url);
        return new URL(answer.headers.get('location')!).searchParams;
      };
      const withKept = () => new UserAgent({ cookie: kept });
      assert.ok(
        (await silently(withKept())).get('code'),
        'the kept cookies log in silently before the logout',
      );

      const endSession = oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: `${RP}/logged-out`,
        state: 'bye',
      });
      const confirm = await agent.follow(endSession.href, running.url);
      assert.equal(confirm.status, 200);
      assert.match(confirm.body, /Logge ut\?|Log out\?|Logga ut\?/);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
      const action = /id="op.logoutForm"[^>]*action="([^"]+)"|action="([^"]+)"[^>]*id="op.logoutForm"/.exec(
        confirm.body,
      );
      assert.ok(xsrf && action);
      const done = await agent.follow(new URL((action[1] ?? action[2])!, running.url).href, running.url, {
        form: { xsrf, logout: 'yes' },
      });
      assert.equal(done.status, 303);
      const back = new URL(done.headers.get('location')!);
      assert.equal(back.origin + back.pathname, `${RP}/logged-out`);
      assert.equal(back.searchParams.get('state'), 'bye');

      // The back-channel logout token: signed, aud = client, jti, iat, sid, the event, no nonce.
      assert.equal(backchannel.tokens.length, 1);
      const logoutToken = decodeJwt(backchannel.tokens[0]!);
      assert.equal(logoutToken.aud, 'web');
      assert.equal(logoutToken.iss, running.issuer);
      assert.equal(logoutToken.sid, sid);
      assert.ok(logoutToken.jti && logoutToken.iat);
      assert.deepEqual(logoutToken.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
      assert.equal('nonce' in logoutToken, false);

      // oidcc-prompt-none-not-logged-in after logout.
      assert.equal((await silently(agent)).get('error'), 'login_required');
      // ...and after the logout the same cookies, sent again, are refused (ASVS 7.4.1).
      assert.equal(
        (await silently(withKept())).get('error'),
        'login_required',
        'the kept cookies no longer log in',
      );
    });
  });
}
