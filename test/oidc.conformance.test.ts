// The OpenID Foundation's Basic OP test plan, the parts that oidc.code-flow.test.ts does not
// walk, played by a certified relying party (openid-client) and a cookie-keeping user agent
// against a real vakt: authentication request parameters (prompt, max_age, id_token_hint,
// login_hint, locales, display, acr_values, unknown ones, no nonce), the claims asked for by
// scope and by the claims parameter, UserInfo by POST, request objects refused as unsupported,
// the client's secret in the request body, the ID token's algorithms, logout with a bad hint,
// the token endpoint's refusals, and the session cookie a login sets.
// Cites: oidcc-ensure-request-without-nonce-succeeds-for-code-flow, oidcc-prompt-login,
// oidcc-prompt-none-logged-in, oidcc-prompt-none-not-logged-in, oidcc-max-age-1,
// oidcc-max-age-10000, oidcc-id-token-hint, oidcc-login-hint, oidcc-ui-locales,
// oidcc-claims-locales, oidcc-display-page, oidcc-display-popup,
// oidcc-ensure-request-with-unknown-parameter-succeeds, oidcc-ensure-request-with-acr-values-succeeds,
// oidcc-ensure-request-with-valid-pkce-succeeds, oidcc-response-type-missing, oidcc-codereuse-30seconds,
// oidcc-scope-profile, oidcc-scope-email, oidcc-scope-address, oidcc-scope-phone, oidcc-scope-all,
// oidcc-claims-essential, oidcc-userinfo-post-header, oidcc-userinfo-post-body,
// oidcc-server-client-secret-post, oidcc-idtoken-unsigned, request / request_uri (rejected as
// unsupported), oidcc-ensure-post-request-succeeds (and logout by POST), oidcc-refresh-token (no-store, another
// client's token refused), RFC 9700 (no password grant, PKCE S256 only), ASVS 7.2.3 and 7.2.4
// (session ids); RFC 9126 (pushed authorization requests) and RFC 9449 (DPoP), which discovery
// offers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  generateKeyPair,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import * as oidc from 'openid-client';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, UserAgent } from './helpers/http-client.js';
import { submitForm } from './helpers/journeys.js';
import {
  type AuthorizationRequest,
  authorizationRequest,
  discoverClient,
  redeemCode,
} from './helpers/oidc.js';
import {
  CLIENT_SECRETS,
  RP,
  type RunningVakt,
  randomPassword,
  startVakt,
  testTenant,
} from './helpers/vakt.js';

const EMAIL = 'kari.nordmann@example.com';

for (const kind of databaseKinds) {
  describe(`OpenID Connect Basic OP checks on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    let config: oidc.Configuration;
    const password = randomPassword();

    before(async () => {
      const tenant = testTenant();
      // The same client, but with ES256 ID tokens.
      tenant.clients.push({
        ...tenant.clients[0]!,
        id: 'ec',
        secret: CLIENT_SECRETS.web!,
        idTokenSigningAlg: 'ES256',
      });
      running = await startVakt(kind, { config: { tenants: [tenant] } });
      const created = await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: [EMAIL],
        phones: ['912 34 567'],
        password,
        name: 'Kari Nordmann',
        verified: true,
      });
      assert.ok(created.ok);
      config = await discoverClient(running.issuer);
    });

    after(async () => {
      await running?.stop();
    });

    const request = (params: Record<string, string> = {}, options: { nonce?: boolean } = {}) =>
      authorizationRequest(config, params, options);

    /** Where the request ends in `agent`: the login page (200), or the redirect back to the client. */
    async function open(agent: UserAgent, sent: AuthorizationRequest) {
      const answer = await agent.follow(sent.url.href, running.url);
      if (answer.status === 200) return { page: answer };
      assert.equal(answer.status, 303, `expected the login page or a redirect, got ${answer.status}`);
      return { callback: new URL(answer.headers.get('location')!) };
    }

    /** Logs in on the page the request showed; answers the redirect back to the client. */
    async function logIn(agent: UserAgent, sent: AuthorizationRequest): Promise<URL> {
      const { page } = await open(agent, sent);
      assert.ok(page, 'the login page was shown');
      const submitted = await submitForm(agent, page, '/login', { identifier: EMAIL, password });
      assert.equal(submitted.status, 303, alertText(submitted));
      const back = await agent.follow(
        new URL(submitted.headers.get('location')!, running.url).href,
        running.url,
      );
      assert.equal(back.status, 303);
      return new URL(back.headers.get('location')!);
    }

    const redeem = (callback: URL, sent: AuthorizationRequest, extra: { maxAge?: number } = {}) =>
      redeemCode(config, callback, sent, extra);

    /** A person logged in through `agent`, and the ID token's claims from that login. */
    async function loggedIn(params: Record<string, string> = {}) {
      const agent = new UserAgent();
      const sent = await request(params);
      const tokens = await redeem(await logIn(agent, sent), sent);
      const claims = tokens.claims()!;
      // Asked for or not, so that prompt=none and max_age can be checked against it.
      assert.equal(typeof claims.auth_time, 'number', 'every ID token says when the person logged in');
      return { agent, tokens, claims };
    }

    test('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', async () => {
      const agent = new UserAgent();
      const sent = await request({}, { nonce: false });
      const tokens = await redeem(await logIn(agent, sent), sent);
      assert.equal(tokens.claims()!.nonce, undefined);
    });

    test('response_mode=fragment, as discovery lists: code, state and iss after the #, none in the query', async () => {
      const agent = new UserAgent();
      const sent = await request({ response_mode: 'fragment' });
      const callback = await logIn(agent, sent);
      assert.equal(callback.search, '');
      const answer = new URLSearchParams(callback.hash.slice(1));
      assert.equal(answer.get('iss'), running.issuer);
      assert.equal(answer.get('state'), sent.state);
      const asQuery = new URL(`${callback.origin}${callback.pathname}?${answer}`);
      assert.ok((await redeem(asQuery, sent)).claims()!.sub);
    });

    test('oidcc-prompt-none-logged-in and oidcc-id-token-hint: silent, the same sub and auth_time', async () => {
      const { agent, tokens, claims } = await loggedIn();
      const hinted: Record<string, string>[] = [
        { prompt: 'none' },
        { prompt: 'none', id_token_hint: tokens.id_token! },
      ];
      for (const params of hinted) {
        const sent = await request(params);
        const { callback } = await open(agent, sent);
        assert.ok(callback, `no page for ${Object.keys(params).join(', ')}`);
        const again = (await redeem(callback, sent)).claims()!;
        assert.equal(again.sub, claims.sub);
        assert.equal(again.auth_time, claims.auth_time);
      }
    });

    test('oidcc-prompt-none-not-logged-in: an error back to the client, with state and iss', async () => {
      const sent = await request({ prompt: 'none' });
      const { callback } = await open(new UserAgent(), sent);
      assert.ok(callback);
      assert.equal(callback.origin + callback.pathname, `${RP}/callback`);
      assert.equal(callback.searchParams.get('error'), 'login_required');
      assert.equal(callback.searchParams.get('state'), sent.state);
      assert.equal(callback.searchParams.get('iss'), running.issuer);
    });

    test('oidcc-prompt-login: the login page again, and a new auth_time', async () => {
      const { agent, claims } = await loggedIn();
      await sleep(1100);
      const sent = await request({ prompt: 'login' });
      const again = (await redeem(await logIn(agent, sent), sent)).claims()!;
      assert.equal(again.sub, claims.sub);
      assert.ok(
        again.auth_time! > claims.auth_time!,
        `auth_time ${again.auth_time} after ${claims.auth_time}`,
      );
    });

    test('oidcc-max-age-1 asks again after a second; oidcc-max-age-10000 does not', async () => {
      const { agent, claims } = await loggedIn();
      const long = await request({ max_age: '10000' });
      const { callback } = await open(agent, long);
      assert.ok(callback, 'a login within max_age needs no page');
      const kept = (await redeem(callback, long, { maxAge: 10000 })).claims()!;
      assert.equal(kept.auth_time, claims.auth_time, 'auth_time is in the ID token when max_age was asked');

      await sleep(2100);
      const short = await request({ max_age: '1' });
      const fresh = (await redeem(await logIn(agent, short), short, { maxAge: 1 })).claims()!;
      assert.ok(fresh.auth_time! > claims.auth_time!);
    });

    test('oidcc-login-hint: the identifier field holds the hint', async () => {
      const { page } = await open(new UserAgent(), await request({ login_hint: EMAIL }));
      assert.ok(page);
      assert.equal(formField(page.body, 'identifier'), EMAIL);
    });

    test('oidcc-ui-locales: the page in the asked language; claims_locales, display, acr_values and unknown parameters do not stop a login', async () => {
      const { page } = await open(
        new UserAgent({ 'accept-language': 'en' }),
        await request({ ui_locales: 'sv' }),
      );
      assert.ok(page);
      assert.match(page.body, /<html lang="sv"/);
      const others: Record<string, string>[] = [
        { claims_locales: 'nb sv' },
        { display: 'page' },
        { display: 'popup' },
        { acr_values: '1 2' },
        { unknown_parameter: 'ignored', extra: 'x' },
      ];
      for (const params of others) {
        const agent = new UserAgent();
        const sent = await request(params);
        const tokens = await redeem(await logIn(agent, sent), sent);
        assert.ok(tokens.claims()!.sub, Object.keys(params).join(', '));
      }
    });

    test('oidcc-scope-profile, -email, -phone, -address, -all: UserInfo answers the claims of the scopes asked', async () => {
      const profile = ['name'];
      const email = ['email', 'email_verified'];
      const phone = ['phone_number', 'phone_number_verified'];
      const cases: Array<[string, string[]]> = [
        ['openid profile', profile],
        ['openid email', email],
        ['openid phone', phone],
        // No address is kept, and the scope is not offered: it is ignored, not an error.
        ['openid address', []],
        ['openid profile email phone address', [...profile, ...email, ...phone]],
      ];
      for (const [scope, expected] of cases) {
        const { tokens, claims } = await loggedIn({ scope });
        const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        const got = Object.keys(userinfo)
          .filter((k) => [...profile, ...email, ...phone].includes(k))
          .sort();
        assert.deepEqual(got, [...expected].sort(), scope);
      }
    });

    test('oidcc-claims-essential: a claim asked for by the claims parameter is in UserInfo, or in the ID token', async () => {
      const { tokens, claims } = await loggedIn({
        claims: JSON.stringify({ userinfo: { name: { essential: true } }, id_token: { email: null } }),
      });
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal(userinfo.name, 'Kari Nordmann');
      assert.equal(userinfo.email, undefined, 'only what was asked');
      assert.equal(claims.email, EMAIL, 'the ID token carries what was asked of it');
      assert.equal(claims.name, undefined);
    });

    test('oidcc-userinfo-post-header and -post-body', async () => {
      const { tokens, claims } = await loggedIn({ scope: 'openid email' });
      const userinfo = `${running.issuer}/me`;
      const byHeader = await fetch(userinfo, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(byHeader.status, 200);
      assert.deepEqual(
        { sub: claims.sub, email: EMAIL },
        (({ sub, email }) => ({ sub, email }))(await byHeader.json()),
      );
      const byBody = await fetch(userinfo, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ access_token: tokens.access_token }),
      });
      assert.equal(byBody.status, 200);
      assert.equal(((await byBody.json()) as { sub: string }).sub, claims.sub);
    });

    test('RFC 9700: PKCE with the plain method is refused, back at the client', async () => {
      const sent = await request({
        code_challenge_method: 'plain',
        code_challenge: oidc.randomPKCECodeVerifier(),
      });
      const { callback } = await open(new UserAgent(), sent);
      assert.ok(callback);
      assert.equal(callback.origin + callback.pathname, `${RP}/callback`);
      assert.equal(callback.searchParams.get('error'), 'invalid_request');
      assert.deepEqual(config.serverMetadata().code_challenge_methods_supported, ['S256']);
    });

    test('oidcc-ensure-request-with-valid-pkce-succeeds: the S256 verifier redeems the code; a wrong or missing one does not', async () => {
      const sent = await request();
      const callback = await logIn(new UserAgent(), sent);
      for (const pkceCodeVerifier of [oidc.randomPKCECodeVerifier(), undefined]) {
        await assert.rejects(
          oidc.authorizationCodeGrant(config, callback, {
            ...(pkceCodeVerifier ? { pkceCodeVerifier } : {}),
            expectedState: sent.state,
            expectedNonce: sent.nonce!,
          }),
          (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
          pkceCodeVerifier ? 'a wrong verifier' : 'no verifier',
        );
      }
      const tokens = await redeem(callback, sent);
      assert.ok(tokens.access_token);
    });

    test('oidcc-response-type-missing: an error back at the client, with state and iss, and no code', async () => {
      const sent = await request();
      sent.url.searchParams.delete('response_type');
      const { callback } = await open(new UserAgent(), sent);
      assert.ok(callback, 'an error redirect, not a login page');
      assert.equal(callback.origin + callback.pathname, `${RP}/callback`);
      assert.equal(callback.searchParams.get('error'), 'invalid_request');
      assert.match(callback.searchParams.get('error_description') ?? '', /response_type/);
      assert.equal(callback.searchParams.get('state'), sent.state);
      assert.equal(callback.searchParams.get('iss'), running.issuer);
      assert.equal(callback.searchParams.get('code'), null);
    });

    test('oidcc-codereuse-30seconds: a code used again 30 s later fails, and the tokens of its first use are revoked', async (t) => {
      const sent = await request();
      const callback = await logIn(new UserAgent(), sent);
      const first = await redeem(callback, sent);
      assert.ok(first.access_token);
      // The whole process's clock, oidc-provider's included, 30 seconds on; timers stay real.
      t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
      t.mock.timers.tick(30_000);
      await assert.rejects(
        redeem(callback, sent),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
      );
      await assert.rejects(
        oidc.fetchUserInfo(config, first.access_token, first.claims()!.sub),
        (error: oidc.WWWAuthenticateChallengeError) => error.status === 401,
        'the access token of the first use is revoked',
      );
    });

    test('request and request_uri are refused as unsupported, back at the client', async () => {
      const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({ client_id: 'web', scope: 'openid', redirect_uri: `${RP}/callback` }),
      ).toString('base64url')}.`;
      for (const [params, error] of [
        [{ request: unsigned }, 'request_not_supported'],
        [{ request_uri: 'https://rp.example/request.jwt' }, 'request_uri_not_supported'],
      ] as const) {
        const sent = await request(params);
        const { callback } = await open(new UserAgent(), sent);
        assert.ok(callback, Object.keys(params)[0]);
        assert.equal(callback.origin + callback.pathname, `${RP}/callback`);
        assert.equal(callback.searchParams.get('error'), error);
        assert.equal(callback.searchParams.get('state'), sent.state);
      }
    });

    test('oidcc-server-client-secret-post: a confidential client may send its secret in the body instead of the header', async () => {
      // oidc-provider takes a client's secret either way, whichever of the two it is registered for.
      const post = await discoverClient(running.issuer, 'web', { auth: 'post' });
      // Only the methods a client can be configured for (a secret, or none for a public client).
      assert.deepEqual(post.serverMetadata().token_endpoint_auth_methods_supported?.slice().sort(), [
        'client_secret_basic',
        'client_secret_post',
        'none',
      ]);
      const sent = await request();
      const tokens = await redeemCode(post, await logIn(new UserAgent(), sent), sent);
      assert.equal(tokens.claims()!.aud, 'web');
      const wrong = await discoverClient(running.issuer, 'web', {
        auth: 'post',
        secret: 'not-the-secret-0123456789-0123456789',
      });
      const again = await request();
      await assert.rejects(
        redeemCode(wrong, await logIn(new UserAgent(), again), again),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_client',
        'a wrong secret in the body is refused',
      );
    });

    test('pushed authorization requests (RFC 9126): the parameters go to the server first, the browser carries a reference', async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = await oidc.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: `${RP}/callback`,
        scope: 'openid email',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      assert.match(url.searchParams.get('request_uri') ?? '', /^urn:ietf:params:oauth:request_uri:/);
      assert.equal(url.searchParams.get('state'), null, 'the browser sees no parameter but the reference');
      const sent = { url, verifier, state, nonce: undefined };
      const tokens = await redeem(await logIn(new UserAgent(), sent), sent);
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
      assert.equal(userinfo.email, EMAIL);
      // A reference is good once.
      const reused = await open(new UserAgent(), sent);
      assert.equal(reused.callback?.searchParams.get('error') ?? 'a page', 'invalid_request_uri');
    });

    test('DPoP (RFC 9449): tokens bound to the client key; the access token is useless without a proof', async () => {
      const dpop = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair());
      const sent = await request({ scope: 'openid email' });
      const tokens = await oidc.authorizationCodeGrant(
        config,
        await logIn(new UserAgent(), sent),
        { pkceCodeVerifier: sent.verifier, expectedState: sent.state, expectedNonce: sent.nonce! },
        undefined,
        { DPoP: dpop },
      );
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
      const sub = tokens.claims()!.sub;
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, sub, { DPoP: dpop });
      assert.equal(userinfo.email, EMAIL);
      const asBearer = await fetch(`${running.issuer}/me`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      assert.equal(asBearer.status, 401, 'a DPoP-bound token sent as a bearer token is refused');
    });

    test('oidcc-idtoken-signature: a client configured for ES256 gets ES256 ID tokens, verified against the JWKS', async () => {
      const ec = await discoverClient(running.issuer, 'ec', {
        secret: CLIENT_SECRETS.web!,
        metadata: { id_token_signed_response_alg: 'ES256' },
      });
      const sent = await authorizationRequest(ec);
      const tokens = await redeemCode(ec, await logIn(new UserAgent(), sent), sent);
      const header = decodeProtectedHeader(tokens.id_token!);
      assert.equal(header.alg, 'ES256');
      const jwks = createRemoteJWKSet(new URL(`${running.issuer}/jwks`));
      const { payload } = await jwtVerify(tokens.id_token!, jwks, { issuer: running.issuer, audience: 'ec' });
      assert.equal(payload.sub, tokens.claims()!.sub);
    });

    test('RP-initiated logout: a bad, altered or foreign id_token_hint, or a URI not registered, never redirects', async () => {
      const { agent, tokens } = await loggedIn();
      const [header, payload, signature] = tokens.id_token!.split('.') as [string, string, string];
      const altered = `${header}.${Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'someone-else' }),
      ).toString('base64url')}.${signature}`;
      const { privateKey } = await generateKeyPair('RS256');
      const foreign = await new SignJWT(tokens.claims()! as unknown as JWTPayload)
        .setProtectedHeader({ alg: 'RS256', kid: decodeProtectedHeader(tokens.id_token!).kid! })
        .sign(privateKey);
      const cases: Array<[string, Record<string, string>]> = [
        ['an altered one', { id_token_hint: altered, post_logout_redirect_uri: `${RP}/logged-out` }],
        ['a foreign-signed one', { id_token_hint: foreign, post_logout_redirect_uri: `${RP}/logged-out` }],
        ['not an ID token', { id_token_hint: 'garbage', post_logout_redirect_uri: `${RP}/logged-out` }],
        [
          'a URI not registered',
          { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${RP}/logged-out/elsewhere` },
        ],
      ];
      for (const [what, params] of cases) {
        const url = new URL(`${running.issuer}/session/end`);
        url.search = new URLSearchParams({ ...params, state: 'bye' }).toString();
        // As a browser asks: without text/html, oidc-provider answers errors in JSON.
        const answer = await agent.request(url.href, { headers: { accept: 'text/html,*/*;q=0.8' } });
        assert.equal(answer.status, 400, `${what}: ${answer.status} ${answer.headers.get('location') ?? ''}`);
        assert.equal(answer.headers.get('location'), null, `${what} never redirects`);
        assert.ok(alertText(answer), `${what}: an error page with a message`);
      }
      // None of them ended the session.
      const still = await open(agent, await request({ prompt: 'none' }));
      assert.ok(still.callback?.searchParams.get('code'), 'still logged in');

      // Without a hint, the client is not known, so its URI is not used: the person is asked, is
      // logged out, and stays at vakt.
      const url = new URL(`${running.issuer}/session/end`);
      url.search = new URLSearchParams({
        post_logout_redirect_uri: `${RP}/logged-out`,
        state: 'bye',
      }).toString();
      const confirm = await agent.request(url.href);
      assert.equal(confirm.status, 200);
      const action =
        /<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"|<form[^>]*action="([^"]+)"[^>]*id="op.logoutForm"/.exec(
          confirm.body,
        );
      assert.ok(action, 'the confirmation form');
      const done = await agent.follow(new URL((action[1] ?? action[2])!, running.url).href, running.url, {
        form: { xsrf: formField(confirm.body, 'xsrf'), logout: 'yes' },
      });
      assert.equal(done.status, 200, `logged out at vakt, not sent on (${done.headers.get('location')})`);
      assert.equal(new URL(done.url).origin, running.url);
      const after = await open(agent, await request({ prompt: 'none' }));
      assert.equal(after.callback?.searchParams.get('error'), 'login_required', 'and logged out');
    });

    /** The parameters of a query or form, in order, for comparing two of them. */
    const paramsOf = (search: string) =>
      [...new URLSearchParams(search)].sort(([a], [b]) => a.localeCompare(b));

    test('oidcc-ensure-post-request-succeeds: the authentication request as a form POST is sent on by GET (303), and the flow completes', async () => {
      const sent = await request();
      const endpoint = `${sent.url.origin}${sent.url.pathname}`;
      const form = Object.fromEntries(sent.url.searchParams);
      const answer = await new UserAgent({ accept: 'text/html' }).request(endpoint, { form });
      assert.equal(answer.status, 303);
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      const location = new URL(answer.headers.get('location')!);
      assert.equal(`${location.origin}${location.pathname}`, `${running.issuer}/auth`);
      assert.deepEqual(paramsOf(location.search), paramsOf(sent.url.search), 'the same parameters');

      // Not logged in: the login page, and the login completes the request that was posted.
      const agent = new UserAgent();
      const shown = await agent.follow(endpoint, running.url, { form });
      assert.equal(shown.status, 200, 'the login page');
      const submitted = await submitForm(agent, shown, '/login', { identifier: EMAIL, password });
      assert.equal(submitted.status, 303, alertText(submitted));
      const back = await agent.follow(
        new URL(submitted.headers.get('location')!, running.url).href,
        running.url,
      );
      const tokens = await redeem(new URL(back.headers.get('location')!), sent);

      // Logged in: a second posted request is answered without a login, for the same person.
      const again = await request();
      const silent = await agent.follow(`${again.url.origin}${again.url.pathname}`, running.url, {
        form: Object.fromEntries(again.url.searchParams),
      });
      assert.equal(silent.status, 303, 'no login page');
      const second = await redeem(new URL(silent.headers.get('location')!), again);
      assert.equal(second.claims()!.sub, tokens.claims()!.sub);
    });

    test('RP-initiated logout as a form POST: sent on by GET (303), confirmed, and back to the registered URI with state', async () => {
      const { agent, tokens } = await loggedIn();
      const form = {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: `${RP}/logged-out`,
        state: 'bye',
      };
      const answer = await agent.request(`${running.issuer}/session/end`, { form });
      assert.equal(answer.status, 303);
      const location = new URL(answer.headers.get('location')!);
      assert.equal(`${location.origin}${location.pathname}`, `${running.issuer}/session/end`);
      assert.deepEqual(paramsOf(location.search), paramsOf(new URLSearchParams(form).toString()));

      // A hint altered on its way is refused there as it is by GET: no redirect.
      const altered = { ...form, id_token_hint: `${tokens.id_token!.slice(0, -4)}AAAA` };
      const refused = await agent.follow(`${running.issuer}/session/end`, running.url, {
        form: altered,
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.headers.get('location'), null, 'never redirects');

      const confirm = await agent.follow(`${running.issuer}/session/end`, running.url, { form });
      assert.equal(confirm.status, 200, 'the confirmation page');
      const action = formAction(confirm.body, '/session/end/confirm');
      const done = await agent.follow(new URL(action, running.url).href, running.url, {
        form: { xsrf: formField(confirm.body, 'xsrf'), logout: 'yes' },
      });
      assert.equal(done.status, 303);
      const back = new URL(done.headers.get('location')!);
      assert.equal(`${back.origin}${back.pathname}`, `${RP}/logged-out`);
      assert.equal(back.searchParams.get('state'), 'bye');
      const after = await open(agent, await request({ prompt: 'none' }));
      assert.equal(after.callback?.searchParams.get('error'), 'login_required', 'logged out');
    });

    test('ASVS 7.2.3, 7.2.4: a login sets a new session cookie, of at least 128 bits', async () => {
      const agent = new UserAgent();
      const sessionCookie = () =>
        agent
          .cookiesFor(`${running.issuer}/auth`)
          .split('; ')
          .find((c) => c.startsWith('vakt_acme_session='));
      // A session from an earlier login in this browser, then a login as someone (here: the same
      // person) again: each login gets its own session id.
      const first = await request();
      await redeem(await logIn(agent, first), first);
      const before = sessionCookie();
      assert.ok(before);
      const again = await request({ prompt: 'login' });
      await redeem(await logIn(agent, again), again);
      const after = sessionCookie();
      assert.ok(after, 'a session cookie after the login');
      assert.notEqual(after, before, 'not the one from before the login');
      const id = after.slice('vakt_acme_session='.length);
      assert.ok(Buffer.from(id, 'base64url').length >= 16, `session id ${id.length} characters`);
    });

    test('oidcc-refresh-token: the answer is not cached; another client cannot use the token; no password grant', async () => {
      // OpenID Connect Core 11: offline_access counts only with prompt=consent.
      const without = await loggedIn({ scope: 'openid offline_access' });
      assert.equal(without.tokens.refresh_token, undefined, 'no refresh token without prompt=consent');
      const { tokens } = await loggedIn({ scope: 'openid offline_access', prompt: 'consent' });
      assert.ok(tokens.refresh_token);
      const token = (auth: string, form: Record<string, string>) =>
        fetch(`${running.issuer}/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams(form),
        });
      const partner = await token(`partner:${CLIENT_SECRETS.partner}`, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token!,
      });
      assert.equal(partner.status, 400);
      assert.equal(((await partner.json()) as { error: string }).error, 'invalid_grant');
      const own = await token(`web:${CLIENT_SECRETS.web}`, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token!,
      });
      assert.equal(own.status, 200, 'the refusal above did not spend the token');
      assert.equal(own.headers.get('cache-control'), 'no-store');
      const passwordGrant = await token(`web:${CLIENT_SECRETS.web}`, {
        grant_type: 'password',
        username: EMAIL,
        password,
      });
      assert.equal(passwordGrant.status, 400);
      assert.equal(((await passwordGrant.json()) as { error: string }).error, 'unsupported_grant_type');
    });

    test('oidcc-idtoken-unsigned: discovery offers no unsigned ID tokens', () => {
      const metadata = config.serverMetadata();
      assert.ok(metadata.id_token_signing_alg_values_supported?.includes('RS256'));
      assert.ok(!metadata.id_token_signing_alg_values_supported?.includes('none'));
      assert.equal(metadata.request_parameter_supported ?? false, false);
      assert.equal(metadata.request_uri_parameter_supported, false);
    });
  });
}
