// Requests that go wrong before any route reads them: a path the router cannot decode or match,
// a hosted form sent as something other than a form, a body over the limit at the provider's
// endpoints. Each gets vakt's answer, not Fastify's or oidc-provider's raw one: the tenant's
// localised page with the security headers and the right status (or, at the endpoints a relying
// party's code calls, an OAuth JSON error). Pins the project's rule "bad input gets a clear,
// localised error and a correct status code"; cites RFC 9700 (error pages cannot be framed,
// Referrer-Policy set) and RFC 9110 15.5.6 (a 405 only for a method that Allow leaves out).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { sv } from '../src/ui/messages/sv.js';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, UserAgent } from './helpers/http-client.js';
import { authorizationUrl } from './helpers/login.js';
import {
  CLIENT_SECRETS,
  createEmailAccounts,
  type RunningVakt,
  randomPassword,
  startVakt,
} from './helpers/vakt.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The tenant's page, in Swedish, with the headers every page carries and no trace of Fastify. */
function assertPage(answer: Answer, status: number, error: keyof typeof sv, tenant = 'Acme') {
  const where = `${status} ${error}: ${answer.body.slice(0, 200)}`;
  assert.equal(answer.status, status, where);
  assert.match(String(answer.headers['content-type']), /^text\/html/, where);
  assert.match(String(answer.headers['content-security-policy']), /frame-ancestors 'none'/, where);
  assert.equal(answer.headers['x-frame-options'], 'DENY', where);
  assert.equal(answer.headers['referrer-policy'], 'no-referrer', where);
  assert.equal(answer.headers['x-content-type-options'], 'nosniff', where);
  assert.equal(alertText(answer), sv[error], where);
  assert.match(answer.body, new RegExp(`<title>[^<]* – ${tenant}</title>`), where);
  assert.doesNotMatch(answer.body, /FST_ERR|\n\s+at |node_modules/, where);
}

for (const kind of databaseKinds) {
  describe(`malformed requests over HTTP on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    const password = randomPassword();

    before(async () => {
      running = await startVakt(kind);
      await createEmailAccounts(running, [['ola@example.com', { password }]]);
    });
    after(() => running?.stop());

    /**
     * One request as it is written (fetch would repair some of these paths), in Swedish. A body
     * given as a list of chunks is sent chunked, with no Content-Length to say its size.
     */
    function send(
      method: string,
      path: string,
      headers: Record<string, string> = {},
      body?: string | string[],
    ): Promise<Answer> {
      const { hostname, port } = new URL(running.url);
      const length = typeof body === 'string' ? { 'content-length': String(Buffer.byteLength(body)) } : {};
      return new Promise((resolve, reject) => {
        const sent = request(
          { host: hostname, port, method, path, headers: { 'accept-language': 'sv', ...headers, ...length } },
          (response) => {
            let text = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              text += chunk;
            });
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }),
            );
          },
        );
        // A refusal that leaves the body unread may close the connection before all of it is sent.
        sent.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
        });
        for (const chunk of [body ?? []].flat()) sent.write(chunk);
        sent.end();
      });
    }

    /** A live interaction's login form: its path, CSRF token, and the cookies that go with it. */
    async function openLogin() {
      const agent = new UserAgent();
      const page = await agent.follow(authorizationUrl(running.issuer, { state: 'state-1' }), running.url);
      assert.equal(page.status, 200, page.body.slice(0, 300));
      const action = new URL(formAction(page.body, '/login'), running.url);
      const interaction = action.pathname.replace(/\/login$/, '');
      return {
        agent,
        interaction,
        csrf: formField(page.body, 'csrf'),
        headers: { cookie: agent.cookiesFor(action.href), 'sec-fetch-site': 'same-origin' },
      };
    }

    test('a path with a bad percent-encoding is the localised 400 page, with the security headers', async () => {
      const pages: [path: string, tenant: string][] = [
        ['/t/acme/interaction/%ZZ/login', 'Acme'],
        ['/t/acme/help/%FF', 'Acme'],
        ['/t/acme/auth/%C3%28', 'Acme'],
        ['/t/%C3%28/auth', 'vakt'],
        ['/%ZZ', 'vakt'],
        ['/demo/a/%ZZ', 'vakt'],
      ];
      for (const [path, tenant] of pages) {
        for (const method of ['GET', 'POST']) {
          assertPage(
            await send(method, path, { 'content-type': 'application/x-www-form-urlencoded' }, 'a=b'),
            400,
            'request.invalid',
            tenant,
          );
        }
      }
    });

    test('a path segment longer than any route takes is a 404 page, never a 405 for a method Allow names', async () => {
      const long = 'x'.repeat(201);
      // No tenant's slug is that long (and none has a catch-all behind it to fall back to).
      assertPage(await send('GET', `/t/${'x'.repeat(300)}/jwks`), 404, 'tenant.not_found', 'vakt');
      assertPage(await send('GET', `/t/${'x'.repeat(300)}`), 404, 'tenant.not_found', 'vakt');
      for (const path of [
        `/t/acme/help/${long}`,
        `/t/acme/interaction/${long}/signup`,
        `/t/acme/interaction/${long}/login`,
      ]) {
        for (const method of ['GET', 'POST', 'PUT']) {
          const answer = await send(method, path);
          assertPage(answer, 404, 'request.not_found');
          assert.equal(answer.headers.allow, undefined, `${method} ${path}`);
        }
        assert.equal((await send('OPTIONS', path)).status, 404, `OPTIONS ${path}`);
      }
      // Up to the limit, counted decoded as the router counts it, the path is the route's own.
      for (const segment of ['y'.repeat(200), '%C3%A6'.repeat(200)]) {
        const path = `/t/acme/help/${segment}`;
        assert.notEqual((await send('GET', path)).status, 405, `GET ${path}`);
        const put = await send('PUT', path);
        assertPage(put, 405, 'request.method_not_allowed');
        assert.equal(put.headers.allow, 'GET, HEAD, OPTIONS');
      }
    });

    test('a hosted form takes only a URL-encoded form: anything else is 415 with the tenant page, and nothing is done', async () => {
      const { interaction, csrf, headers } = await openLogin();
      const fields = { csrf, identifier: 'ola@example.com', password };
      const others: [label: string, headers: Record<string, string>, body?: string][] = [
        ['JSON', { 'content-type': 'application/json' }, JSON.stringify(fields)],
        ['text', { 'content-type': 'text/plain' }, new URLSearchParams(fields).toString()],
        ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--\r\n'],
        ['no type', {}, new URLSearchParams(fields).toString()],
        ['no type and no body', {}],
      ];
      const paths = [
        ...['/login', '/signup', '/forgot', '/forgot/send', '/verify', '/abort'].map(
          (p) => `${interaction}${p}`,
        ),
        '/t/acme/account/password',
        '/t/acme/account/sessions',
      ];
      for (const path of paths) {
        for (const [label, type, body] of others) {
          const answer = await send('POST', path, { ...headers, ...type }, body);
          assert.equal(answer.status, 415, `${label} to ${path}: ${answer.status}`);
          assertPage(answer, 415, 'request.invalid');
        }
      }
      // None of that logged in or ended the interaction: the form does, answered with 303.
      const form = await send(
        'POST',
        `${interaction}/login`,
        { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        new URLSearchParams(fields).toString(),
      );
      assert.equal(form.status, 303, form.body.slice(0, 300));
    });

    test("the hosted pages' body errors are the tenant's page, with its support contacts", async () => {
      const { interaction, csrf, headers } = await openLogin();
      const huge = await send(
        'POST',
        `${interaction}/login`,
        { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        `csrf=${csrf}&identifier=${'x'.repeat(20_000)}&password=x`,
      );
      assertPage(huge, 413, 'request.too_large');
      assert.match(huge.body, /help@acme\.example/);
      const json = await send(
        'POST',
        `${interaction}/login`,
        { ...headers, 'content-type': 'application/json' },
        '{}',
      );
      assertPage(json, 415, 'request.invalid');
      assert.match(json.body, /help@acme\.example/);
    });

    test("a body over the limit at the provider's endpoints is 413, counted also when it comes chunked", async () => {
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const client = {
        authorization: `Basic ${Buffer.from(`web:${CLIENT_SECRETS.web}`).toString('base64')}`,
      };
      const big = `x=${'a'.repeat(200_000)}`;
      const chunks = Array.from(
        { length: 8 },
        (_, i) => `${i === 0 ? '' : '&'}x${i}=${'a'.repeat(8 * 1024)}`,
      );
      // The endpoints a relying party's code calls answer in JSON, as oidc-provider's own errors.
      for (const endpoint of ['/token', '/token/introspection', '/token/revocation', '/request', '/me']) {
        for (const [label, body] of [
          ['Content-Length', big],
          ['chunked', chunks],
        ] as const) {
          const answer = await send('POST', `/t/acme${endpoint}`, { ...form, ...client }, body);
          const where = `${label} to ${endpoint}: ${answer.status} ${answer.body.slice(0, 200)}`;
          assert.equal(answer.status, 413, where);
          assert.match(String(answer.headers['content-type']), /^application\/json/, where);
          assert.deepEqual(
            JSON.parse(answer.body),
            { error: 'invalid_request', error_description: 'request body too large' },
            where,
          );
          assert.equal(answer.headers['cache-control'], 'no-store', where);
        }
      }
      // The ones a browser is sent to answer with the page, as a form POST too large at /auth does.
      for (const endpoint of ['/session/end/confirm', '/auth', '/session/end']) {
        for (const body of [big, chunks]) {
          assertPage(await send('POST', `/t/acme${endpoint}`, form, body), 413, 'request.too_large');
        }
      }
      // Under the limit the body reaches the provider whole, chunked or not: the grant is read
      // (and refused for its made-up token), not "failed to parse the request body".
      const grant = 'grant_type=refresh_token&refresh_token=made-up';
      for (const body of [
        `${grant}&pad=${'a'.repeat(40 * 1024)}`,
        [grant, `&pad=${'a'.repeat(30 * 1024)}`],
      ]) {
        const answer = await send('POST', '/t/acme/token', { ...form, ...client }, body);
        assert.equal(answer.status, 400, answer.body);
        assert.equal((JSON.parse(answer.body) as { error: string }).error, 'invalid_grant', answer.body);
      }
    });
  });
}
