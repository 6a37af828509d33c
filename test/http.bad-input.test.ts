// Bad input at the edges gets a clear, localised page with the right 4xx status: never a 500,
// never a stack trace, never a redirect to an unregistered URI.
// Cites: oidcc-ensure-registered-redirect-uri, RFC 9700 exact redirect matching and 303 after
// credential POSTs, ASVS 6.3.8 (unknown user and wrong password look the same), CSP frame-ancestors.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ENDPOINT_METHODS } from '../src/oidc/provider.js';
import { sv } from '../src/ui/messages/sv.js';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, UserAgent } from './helpers/http-client.js';
import { RP, type RunningVakt, randomPassword, startVakt } from './helpers/vakt.js';

function assertCleanError(response: { status: number; body: string; headers: Headers }, status: number) {
  assert.equal(response.status, status, response.body.slice(0, 300));
  assert.match(response.headers.get('content-type') ?? '', /text\/html/);
  assert.doesNotMatch(response.body, /\n\s+at |node_modules|Error:/, 'no stack trace');
  assert.equal(response.headers.get('location'), null, 'an error page, never a redirect');
}

/** A form POSTed in `chunks` with Transfer-Encoding: chunked, so no Content-Length says its size. */
function postChunked(url: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'sv' },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    sent.on('error', reject);
    for (const chunk of chunks) sent.write(chunk);
    sent.end();
  });
}

for (const kind of databaseKinds) {
  describe(`bad input over HTTP on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    const password = randomPassword();

    before(async () => {
      running = await startVakt(kind);
      const created = await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: ['ola@example.com'],
        password,
        verified: true,
      });
      assert.ok(created.ok);
    });
    after(() => running?.stop());

    function authorizeUrl(params: Record<string, string> = {}) {
      const url = new URL(`${running.issuer}/auth`);
      const defaults = {
        client_id: 'web',
        response_type: 'code',
        scope: 'openid',
        redirect_uri: `${RP}/callback`,
        state: 'state-1',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      };
      for (const [key, value] of Object.entries({ ...defaults, ...params })) url.searchParams.set(key, value);
      return url.href;
    }

    async function openLoginPage(agent: UserAgent, params: Record<string, string> = {}) {
      const page = await agent.follow(authorizeUrl(params), running.url);
      assert.equal(page.status, 200, page.body.slice(0, 300));
      return {
        page,
        action: new URL(formAction(page.body, '/login'), running.url).href,
        csrf: formField(page.body, 'csrf'),
      };
    }

    test('an unknown tenant is a localised 404 page', async () => {
      const agent = new UserAgent();
      const nb = await agent.request(`${running.url}/t/nope/.well-known/openid-configuration`);
      assertCleanError(nb, 404);
      assert.match(nb.body, /innloggingstjenesten finnes ikke/);
      const en = await agent.request(`${running.url}/t/nope/auth`, {
        headers: { 'accept-language': 'en-GB,en;q=0.9' },
      });
      assertCleanError(en, 404);
      assert.match(en.body, /This login service does not exist/);
      assertCleanError(await agent.request(`${running.url}/no/such/page`), 404);
    });

    /** A 405 that names `allow` and says so in Swedish, and the 204 to OPTIONS with the same list. */
    async function assertMethods(agent: UserAgent, url: string, allow: string, refused: string[]) {
      for (const method of refused) {
        const response = await agent.request(url, { method, ...(method === 'POST' ? { form: {} } : {}) });
        if (method === 'HEAD') assert.equal(response.status, 405, `${method} ${url}`);
        else {
          assertCleanError(response, 405);
          assert.equal(alertText(response), sv['request.method_not_allowed']);
        }
        assert.equal(response.headers.get('allow'), allow, `${method} ${url}`);
      }
      // OPTIONS asks which methods there are (RFC 9110 9.3.7); not a CORS preflight, so no
      // Access-Control headers, whatever the endpoint.
      const options = await agent.request(url, { method: 'OPTIONS' });
      assert.equal(options.status, 204, `OPTIONS ${url}`);
      assert.equal(options.headers.get('allow'), allow, `OPTIONS ${url}`);
      assert.equal(options.headers.get('access-control-allow-methods'), null);
    }

    test('under a tenant, an unknown path is a localised 404 page and an endpoint asked with another method a 405 with Allow', async () => {
      const agent = new UserAgent({ 'accept-language': 'sv' });
      const unknown = await agent.request(`${running.issuer}/no/such/endpoint`);
      assertCleanError(unknown, 404);
      assert.equal(alertText(unknown), sv['request.not_found']);
      assert.equal(
        (await agent.request(`${running.issuer}/no/such/endpoint`, { method: 'OPTIONS' })).status,
        404,
      );
      const examples: Record<string, string> = {
        '/auth/': '/auth/some-uid',
        '/.well-known/': '/.well-known/openid-configuration',
      };
      for (const [path, methods] of ENDPOINT_METHODS) {
        const source = path.source.replace(/\\/g, '').replace(/^\^|\$$/g, '');
        const url = `${running.issuer}${examples[source.replace(/\[\^\/\]\+$/, '')] ?? source}`;
        // Each method the list names is one oidc-provider serves there (HEAD with GET): whatever
        // it answers, not the fallback's 405 (the list would be wrong).
        const served = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
        for (const method of served) {
          const response = await agent.request(url, { method, ...(method === 'POST' ? { form: {} } : {}) });
          assert.notEqual(response.status, 405, `${method} ${source} is served`);
        }
        const allow = [
          ...(methods.includes('GET') ? ['GET', 'HEAD'] : []),
          ...(methods.includes('POST') ? ['POST'] : []),
          'OPTIONS',
        ].join(', ');
        const refused = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'].filter((m) => !served.includes(m));
        await assertMethods(agent, url, allow, refused);
      }
    });

    test('a CORS preflight gets CORS headers at the endpoints a browser app calls, and nowhere else', async () => {
      const agent = new UserAgent();
      const preflight = (path: string, method: string) =>
        agent.request(`${running.issuer}${path}`, {
          method: 'OPTIONS',
          headers: { origin: RP, 'access-control-request-method': method },
        });
      const called: [path: string, method: string][] = [
        ['/.well-known/openid-configuration', 'GET'],
        ['/jwks', 'GET'],
        ['/token', 'POST'],
        ['/me', 'GET'],
        ['/token/introspection', 'POST'],
        ['/token/revocation', 'POST'],
        ['/request', 'POST'],
      ];
      for (const [path, method] of called) {
        const response = await preflight(path, method);
        assert.equal(response.status, 204, path);
        assert.match(response.headers.get('access-control-allow-methods') ?? '', new RegExp(method), path);
      }
      for (const [path, method] of [
        ['/auth', 'GET'],
        ['/session/end', 'GET'],
        ['/interaction/some-uid/login', 'POST'],
      ] as const) {
        const response = await preflight(path, method);
        assert.equal(response.status, 204, path);
        assert.equal(response.headers.get('access-control-allow-methods'), null, path);
        assert.equal(response.headers.get('access-control-allow-origin'), null, path);
      }
    });

    test("a hosted page's path asked with another method is a 405 with Allow, OPTIONS a 204 with it", async () => {
      const agent = new UserAgent({ 'accept-language': 'sv' });
      const pages: [path: string, allow: string][] = [
        [`${running.issuer}/interaction/some-uid/login`, 'GET, HEAD, POST, OPTIONS'],
        [`${running.issuer}/interaction/some-uid/consent`, 'POST, OPTIONS'],
        [`${running.issuer}/account/password`, 'GET, HEAD, POST, OPTIONS'],
        [`${running.issuer}/help`, 'GET, HEAD, OPTIONS'],
        [`${running.url}/healthz`, 'GET, HEAD, OPTIONS'],
      ];
      for (const [url, allow] of pages) {
        const refused = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'].filter(
          (m) => !allow.split(', ').includes(m),
        );
        await assertMethods(agent, url, allow, refused);
      }
      // The tenant's bare path is no page of its own, whatever the method.
      for (const method of ['GET', 'POST', 'OPTIONS']) {
        const bare = await agent.request(running.issuer, { method });
        assert.equal(bare.status, 404, `${method} ${running.issuer}`);
        assert.equal(bare.headers.get('allow'), null);
      }
      // An unknown tenant is still that, whatever the method.
      const nowhere = await agent.request(`${running.url}/t/nope/help`, { method: 'PUT' });
      assertCleanError(nowhere, 404);
      assert.equal(nowhere.headers.get('allow'), null);
    });

    test('an unknown client is an error page, not a redirect', async () => {
      const response = await new UserAgent().request(authorizeUrl({ client_id: 'nobody' }));
      assertCleanError(response, 400);
      assert.match(response.body, /invalid_client/);
    });

    test('redirect URIs match exactly (RFC 9700): every near miss is an error page', async () => {
      const near = [
        `${RP}/callback/`,
        `${RP}/Callback`,
        `${RP}/callback?x=1`,
        `${RP}:8080/callback`,
        'http://evil.rp.vakt.test/callback',
        'http://rp.vakt.test.evil.example/callback',
        `${RP}/callback#frag`,
      ];
      for (const redirect_uri of near) {
        const response = await new UserAgent().request(authorizeUrl({ redirect_uri }));
        assertCleanError(response, 400);
        assert.match(response.body, /redirect_uri/, redirect_uri);
      }
    });

    test('a form POST to the authorization or logout endpoint: not a form (415), too large (413), a bad request still an error page', async () => {
      const agent = new UserAgent({ 'accept-language': 'sv' });
      const params = Object.fromEntries(new URL(authorizeUrl()).searchParams);
      for (const path of ['/auth', '/session/end']) {
        const json = await agent.request(`${running.issuer}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(params),
        });
        assertCleanError(json, 415);
        assert.equal(alertText(json), sv['request.invalid']);
        const huge = await agent.request(`${running.issuer}${path}`, {
          form: { ...params, login_hint: 'x'.repeat(9 * 1024) },
        });
        assertCleanError(huge, 413);
        assert.equal(alertText(huge), sv['request.too_large']);
        // The same without a Content-Length (chunked): counted as it arrives.
        const chunked = await postChunked(`${running.issuer}${path}`, [
          new URLSearchParams(params).toString(),
          `&login_hint=${'x'.repeat(9 * 1024)}`,
        ]);
        assert.equal(chunked.status, 413);
        assert.equal(alertText(chunked), sv['request.too_large']);
      }
      // Sent on by GET to vakt itself, never to the unregistered URI.
      const unregistered = await agent.follow(`${running.issuer}/auth`, running.url, {
        form: { ...params, redirect_uri: `${RP}/elsewhere` },
      });
      assertCleanError(unregistered, 400);
      assert.equal(new URL(unregistered.url).origin, running.url);
    });

    test('implicit flow is not offered (RFC 9700)', async () => {
      const response = await new UserAgent().request(authorizeUrl({ response_type: 'token' }));
      // The redirect URI is registered, so the error goes back to it (in the fragment, the
      // response mode response_type=token implies), without any token.
      const location = new URL(response.headers.get('location') ?? 'http://none/');
      const answer = new URLSearchParams(location.hash.slice(1));
      assert.equal(answer.get('error'), 'unsupported_response_type');
      assert.equal(answer.has('access_token'), false);
      assert.equal(location.searchParams.has('access_token'), false);
    });

    test('a wrong password and an unknown identifier give the same page and status (ASVS 6.3.8)', async () => {
      const answers = [];
      for (const identifier of ['ola@example.com', 'nobody-here@example.com']) {
        const agent = new UserAgent();
        const { action, csrf } = await openLoginPage(agent);
        const response = await agent.request(action, {
          form: { csrf, identifier, password: 'not-the-password' },
        });
        assert.equal(response.status, 401);
        assert.match(response.body, /role="alert"[^>]*>Feil e-postadresse, mobilnummer eller passord/);
        // The page echoes what was typed; apart from that and the per-journey URLs it is identical.
        answers.push(
          response.body
            .replaceAll(identifier, 'IDENTIFIER')
            .replace(/interaction\/[^/"]+/g, 'interaction/UID')
            .replace(/name="csrf" value="[^"]+"/g, ''),
        );
      }
      assert.equal(answers[0], answers[1]);
    });

    test('missing fields, a missing or foreign CSRF token, an oversized form', async () => {
      const agent = new UserAgent();
      const { action, csrf } = await openLoginPage(agent);
      const missing = await agent.request(action, { form: { csrf, identifier: 'ola@example.com' } });
      assert.equal(missing.status, 400);
      assert.match(missing.body, /Skriv inn e-postadressen eller mobilnummeret ditt og passordet ditt/);

      assertCleanError(
        await agent.request(action, { form: { identifier: 'ola@example.com', password } }),
        403,
      );
      const other = await openLoginPage(new UserAgent());
      assertCleanError(
        await agent.request(action, { form: { csrf: other.csrf, identifier: 'ola@example.com', password } }),
        403,
      );
      const crossSite = await agent.request(action, {
        form: { csrf, identifier: 'ola@example.com', password },
        headers: { origin: 'https://evil.example' },
      });
      assertCleanError(crossSite, 403);

      const huge = await agent.request(action, { form: { csrf, identifier: 'x'.repeat(40_000), password } });
      assertCleanError(huge, 413);
      assert.match(huge.body, /for stort/);
      const notAForm = await fetch(action, {
        method: 'POST',
        headers: { 'content-type': 'application/xml' },
        body: '<a/>',
      });
      assert.ok(notAForm.status >= 400 && notAForm.status < 500, String(notAForm.status));

      // After all that the same journey still logs in, answered with 303 (never 307).
      const ok = await agent.request(action, { form: { csrf, identifier: 'ola@example.com', password } });
      assert.equal(ok.status, 303);
    });

    test('an expired or unknown interaction is a localised page', async () => {
      const agent = new UserAgent();
      const response = await agent.request(`${running.issuer}/interaction/not-a-real-uid`);
      assertCleanError(response, 400);
      assert.match(response.body, /utløpt/);
      const post = await agent.request(`${running.issuer}/interaction/not-a-real-uid/login`, {
        form: { csrf: 'x', identifier: 'a', password: 'b' },
      });
      assertCleanError(post, 400);
    });

    test('pages cannot be framed and leak no referrer; the provider answers carry the same headers', async () => {
      const agent = new UserAgent();
      const { page } = await openLoginPage(agent);
      const discovery = await agent.request(`${running.issuer}/.well-known/openid-configuration`);
      for (const response of [page, discovery]) {
        assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
        assert.equal(response.headers.get('x-frame-options'), 'DENY');
        assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
      }
      assert.equal(page.headers.get('cache-control'), 'no-store');
      assert.doesNotMatch(
        page.body,
        /https?:\/\/(?!127\.0\.0\.1)[^"']*\.(css|js)/,
        'no third-party resources',
      );
    });

    test('the login page follows ui_locales and the language switch, with labels and autocomplete', async () => {
      const sv = await openLoginPage(new UserAgent(), { ui_locales: 'sv-SE en' });
      assert.match(sv.page.body, /<html lang="sv">/);
      assert.match(sv.page.body, /<label for="identifier">E-postadress eller mobilnummer<\/label>/);
      assert.match(sv.page.body, /autocomplete="username"/);
      assert.match(sv.page.body, /autocomplete="current-password"/);
      const agent = new UserAgent();
      const nb = await openLoginPage(agent);
      assert.match(nb.page.body, /<html lang="nb">/);
      const switchLink = /href="([^"]*lang=en)"/.exec(nb.page.body)?.[1]?.replace(/&amp;/g, '&');
      assert.ok(switchLink);
      const en = await agent.request(new URL(switchLink, running.url).href);
      assert.match(en.body, /<html lang="en">/);
      assert.match(en.body, /<h1>Log in<\/h1>/);
    });
  });
}
