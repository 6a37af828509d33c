// Garbage at every door: each hosted-page route and each provider endpoint, sent malformed
// bodies (bad percent-encoding, repeated and array fields, NUL bytes, oversized values, JSON,
// text, multipart, an unknown charset) and mangled paths, answers below 500 without a stack
// trace. Pins the project's rule "bad input gets a clear error and a correct status code, never
// a 500" across the surface; test/http.bad-input.test.ts checks the pages' wording and status
// case by case. New routes belong in the lists below; a test fails for a hosted-page route that
// none of them reaches.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from './helpers/databases.js';
import { formField, UserAgent } from './helpers/http-client.js';
import { authorizationUrl } from './helpers/login.js';
import { RP, type RunningVakt, startVakt, testTenant } from './helpers/vakt.js';

/** Under /t/acme/interaction/<uid>; abort last, as it ends the interaction. */
const INTERACTION_ROUTES = [
  '',
  '/login',
  '/consent',
  '/signup',
  '/signup/code',
  '/signup/resend',
  '/verify',
  '/verify/resend',
  '/verify/replace',
  '/forgot',
  '/forgot/send',
  '/forgot/code',
  '/forgot/resend',
  '/forgot/password',
  '/abort',
];

const OTHER_ROUTES = [
  '/t/acme/account/password',
  '/t/acme/account/sessions',
  '/t/acme/help',
  '/t/acme/help/%ff',
  `/t/acme/help/${'y'.repeat(500)}`,
  '/t/acme/auth',
  '/t/acme/auth/%ff',
  '/t/acme/token',
  '/t/acme/me',
  '/t/acme/session/end',
  '/t/acme/session/end/confirm',
  '/t/acme/token/introspection',
  '/t/acme/token/revocation',
  '/t/acme/request',
  '/t/acme/jwks',
  '/t/acme/.well-known/openid-configuration',
  '/t/acme/reg',
  '/t/acme/interaction/%00/login',
  `/t/acme/interaction/${'x'.repeat(300)}/login`,
  '/t/%ff/interaction/x/login',
  '/t/acme',
  '/%ff',
  '/t/acme/auth?client_id=%00&response_type=code&scope=openid&redirect_uri=%00',
  '/t/acme/auth?client_id=web&response_type=code&scope=openid%00&redirect_uri=http%3A%2F%2Frp.vakt.test%2Fcallback&state=%00&nonce=%00&login_hint=%00&ui_locales=%00&code_challenge=%00&code_challenge_method=S256',
  '/t/acme/session/end?id_token_hint=%00&post_logout_redirect_uri=%00&client_id=%00',
  '/t/acme/me?access_token=%00',
];

for (const kind of databaseKinds) {
  describe(`garbage over HTTP on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;

    // No account: none of the garbage names one, and every route must cope without.
    before(async () => {
      running = await startVakt(kind);
    });
    after(() => running?.stop());

    /** One raw request: fetch would refuse or repair some of what is sent here. */
    function send(
      method: string,
      path: string,
      headers: Record<string, string>,
      body?: string,
    ): Promise<{ status: number; body: string }> {
      const { hostname, port } = new URL(running.url);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: hostname,
            port,
            method,
            path,
            headers:
              body === undefined
                ? headers
                : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => {
              text += chunk;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        if (body !== undefined) req.write(body);
        req.end();
      });
    }

    // The lists are written out, so this checks them against what vakt serves: the routes Fastify
    // holds (its printed route tree, one segment per line, four characters of indent per level),
    // each of which under /t/:tenant some listed path must reach, and the provider's endpoints
    // (behind the catch-all `/t/:tenant/*`) as its discovery document names them.
    test('the lists reach every hosted-page route and every endpoint in the discovery document', async () => {
      const routes: string[] = [];
      const stack: string[] = [];
      for (const line of running.vakt.server.printRoutes({ commonPrefix: false }).split('\n')) {
        const match = /^([│ ]*)[├└]── (\S+) \(/.exec(line);
        if (!match) continue;
        const depth = match[1]!.length / 4;
        stack.length = depth;
        stack.push(match[2]!);
        routes.push(stack.join(''));
      }
      assert.ok(
        routes.includes('/t/:tenant/interaction/:uid/login'),
        `the route tree was read: ${routes.join(' ')}`,
      );
      const listed = [
        ...OTHER_ROUTES,
        ...INTERACTION_ROUTES.map((route) => `/t/acme/interaction/some-uid${route}`),
      ].map((path) => path.split('?')[0]!);
      const unreached = routes
        .filter((route) => route.startsWith('/t/:tenant/') && !route.endsWith('/*'))
        .filter((route) => {
          const pattern = new RegExp(`^${route.replace(/:[^/]+/g, '[^/]+')}$`);
          return !listed.some((path) => pattern.test(path));
        });
      assert.deepEqual(unreached, [], 'routes none of the garbage reaches: add them to the lists above');

      const discovery = (await (
        await fetch(`${running.issuer}/.well-known/openid-configuration`)
      ).json()) as Record<string, unknown>;
      const endpoints = Object.entries(discovery)
        .filter(
          ([key, value]) => (key.endsWith('_endpoint') || key === 'jwks_uri') && typeof value === 'string',
        )
        .map(([key, value]) => [key, new URL(value as string).pathname] as const);
      assert.ok(endpoints.length >= 6, `endpoints in the discovery document: ${JSON.stringify(endpoints)}`);
      const missing = endpoints.filter(([, path]) => !listed.includes(path));
      assert.deepEqual(missing, [], 'endpoints none of the garbage reaches: add them to OTHER_ROUTES');
    });

    test('every route answers malformed requests below 500, without a stack trace', async () => {
      // A live interaction, so the pages get past "unknown interaction" to reading the form.
      const agent = new UserAgent();
      const page = await agent.follow(authorizationUrl(running.issuer, { state: 'garbage' }), running.url);
      assert.equal(page.status, 200, page.body.slice(0, 300));
      const uid = /\/interaction\/([^/"?]+)/.exec(page.url)?.[1];
      assert.ok(uid, `the login page is under the interaction: ${page.url}`);
      const csrf = formField(page.body, 'csrf');
      const interaction = `/t/acme/interaction/${uid}`;
      const cookies = agent.cookiesFor(`${running.url}${interaction}/login`);
      assert.match(cookies, /=/, 'the interaction set a cookie');

      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const bodies: [string, Record<string, string>, string | undefined][] = [
        ['no body', {}, undefined],
        ['bad percent-encoding', form, `csrf=${csrf}&identifier=%E0%A4%A&password=%zz&code=%`],
        [
          'repeated fields',
          form,
          `csrf=${csrf}&csrf=x&identifier=a&identifier=b&password=x&password=y&code=1&code=2&choice=a&choice=b&new_password=a&new_password=b&current_password=a&current_password=b&end_sessions=on&end_sessions=x`,
        ],
        [
          'array fields',
          form,
          `csrf=${csrf}&identifier[]=a&identifier[x]=b&password[]=x&code[]=1&choice[]=1`,
        ],
        [
          'NUL bytes',
          form,
          `csrf=${csrf}&identifier=%00ola%00&password=%00&code=%00&new_password=%00&choice=%00`,
        ],
        ['long values', form, `csrf=${csrf}&identifier=${'a'.repeat(9000)}&password=${'b'.repeat(5000)}`],
        [
          'JSON',
          { 'content-type': 'application/json' },
          `{"csrf":"${csrf}","identifier":{"a":1},"password":[1]}`,
        ],
        ['text', { 'content-type': 'text/plain' }, 'hello'],
        [
          'multipart',
          { 'content-type': 'multipart/form-data; boundary=x' },
          '--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nabc\r\n--x--',
        ],
        ['unknown charset', { 'content-type': 'application/x-www-form-urlencoded; charset=ebcdic' }, 'a=b'],
        [
          'client authentication garbage',
          { ...form, authorization: 'Basic %%%' },
          'grant_type=refresh_token&refresh_token=x',
        ],
        [
          "NUL bytes in the provider's fields",
          form,
          'grant_type=refresh_token&refresh_token=%00&client_id=%00&client_secret=%00&code=%00&token=%00&id_token_hint=%00&redirect_uri=%00',
        ],
        [
          // Past client authentication: a pushed authorization request is stored with these.
          'NUL bytes in an authenticated request',
          {
            ...form,
            authorization: `Basic ${Buffer.from(`web:${testTenant().clients[0]!.secret}`).toString('base64')}`,
          },
          `response_type=code&client_id=web&scope=openid&redirect_uri=${encodeURIComponent(`${RP}/callback`)}&state=%00&nonce=%00&login_hint=%00&ui_locales=%00&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&grant_type=authorization_code&code=%00&code_verifier=%00&token=%00`,
        ],
        [
          'NUL bytes with a known client',
          { ...form, authorization: `Basic ${Buffer.from('web:x').toString('base64')}` },
          'grant_type=authorization_code&code=%00&redirect_uri=%00&code_verifier=%00&token=%00',
        ],
      ];
      const paths = [...OTHER_ROUTES, ...INTERACTION_ROUTES.map((route) => `${interaction}${route}`)];
      const failures: string[] = [];
      let sent = 0;
      for (const path of paths) {
        for (const method of ['GET', 'POST']) {
          for (const [label, headers, body] of bodies) {
            if (method === 'GET' && body !== undefined) continue;
            const answer = await send(
              method,
              path,
              { ...headers, cookie: cookies, origin: running.url, 'sec-fetch-site': 'same-origin' },
              body,
            );
            sent++;
            if (answer.status >= 500 || /\n\s+at |node_modules/.test(answer.body)) {
              failures.push(`${answer.status} ${method} ${path.slice(0, 80)} (${label})`);
            }
          }
        }
      }
      assert.deepEqual(failures, [], `${failures.length} of ${sent} requests`);
      assert.ok(sent > 400, `sent ${sent} requests`);
    });
  });
}
