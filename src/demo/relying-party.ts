// Two demo relying parties, written the way a partner site would write one: openid-client,
// code flow with PKCE, UserInfo, RP-initiated logout, and back-channel logout that ends the
// app's own session when the person logs out anywhere.
import { randomBytes } from 'node:crypto';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import type { Vakt } from '../composition.js';
import { buildPageContext, readCookies } from '../server/http-context.js';
import type { PageContext } from '../ui/layout.js';
import { type CallbackProblem, renderDemoPage } from './page.js';
import { DEMO_APPS, DEMO_COUNTRY, DEMO_EMAIL, DEMO_PASSWORD, DEMO_TENANT, demoClientSecret } from './seed.js';

/** A login this browser started and vakt has not answered yet: what its answer must match. */
interface PendingLogin {
  state: string;
  verifier: string;
  nonce: string;
}

/** The demo apps' sessions kept in memory, at most: the least recently used go first. */
const DEMO_SESSIONS_MAX = 10_000;

interface DemoSession {
  sid?: string;
  pending?: PendingLogin;
  /** The language the last login was started in, so the answer's page speaks it too. */
  lang?: string;
  idToken?: string;
  claims?: Record<string, unknown>;
  userinfo?: Record<string, unknown>;
}

/** One check of vakt's answer against the login started here; a problem makes it unusable. */
type CallbackRule = (
  answer: URLSearchParams,
  pending: PendingLogin,
  issuer: string,
) => CallbackProblem | undefined;

/** Two `state`s or two `code`s are no answer to pick one from. */
const checkEachParameterOnce: CallbackRule = (answer) =>
  ['state', 'iss', 'code', 'error'].some((name) => answer.getAll(name).length > 1) ? 'malformed' : undefined;

/** It carries the state of the login started in this browser, so no one else's (RFC 6749 10.12). */
const checkState: CallbackRule = (answer, pending) =>
  answer.get('state') === pending.state ? undefined : 'wrong_state';

/** It names vakt's issuer (RFC 9207), so an answer from another server is not taken for vakt's. */
const checkIssuer: CallbackRule = (answer, _pending, issuer) =>
  answer.get('iss') === issuer ? undefined : 'malformed';

/** It carries a code or an error, not both and not neither. */
const checkCodeOrError: CallbackRule = (answer) =>
  Boolean(answer.get('code')) !== Boolean(answer.get('error')) ? undefined : 'malformed';

// openid-client makes these checks too, and still does; the demo makes them first so that each
// gets its own page instead of one exception. Where the two ever disagree, openid-client's error
// reaches the server's error handler: a bug, not a person's doing.
const CALLBACK_RULES: readonly CallbackRule[] = [
  checkEachParameterOnce,
  checkState,
  checkIssuer,
  checkCodeOrError,
];

/** The status of each page: a cancelled login is a normal outcome; the others a bad request. */
const CALLBACK_STATUS: Record<CallbackProblem, 200 | 400> = {
  // 200, not 400: the callback was well formed and did its job, to take vakt's answer, and
  // "Avbryt" is a choice the login page offers, not a mistake in a request. The page the person
  // sees is the app's ordinary page, saying the login was cancelled.
  cancelled: 200,
  no_login: 400,
  wrong_state: 400,
  malformed: 400,
};

export async function demoRelyingParties(app: FastifyInstance, vakt: Vakt): Promise<void> {
  const sessions = new Map<string, DemoSession>();
  const configs = new Map<string, Promise<oidc.Configuration>>();
  const issuer = () => `${vakt.publicUrl()}/t/${DEMO_TENANT}`;

  function configFor(key: string) {
    let config = configs.get(key);
    if (!config) {
      config = oidc.discovery(new URL(issuer()), `demo-app-${key}`, demoClientSecret(vakt, key), undefined, {
        execute: [oidc.allowInsecureRequests],
      });
      config.catch(() => configs.delete(key));
      configs.set(key, config);
    }
    return config;
  }

  function session(request: FastifyRequest, reply: FastifyReply, key: string): DemoSession {
    const name = `demo_${key}`;
    let id = readCookies(request.headers.cookie).get(name);
    const found = id === undefined ? undefined : sessions.get(id);
    if (id !== undefined && found) {
      // The most recently used go last, so that the oldest are the first forgotten.
      sessions.delete(id);
      sessions.set(id, found);
      return found;
    }
    id = randomBytes(16).toString('base64url');
    const fresh: DemoSession = {};
    sessions.set(id, fresh);
    // Every request without the cookie makes one: the map is held to a size, oldest out first.
    if (sessions.size > DEMO_SESSIONS_MAX) sessions.delete(sessions.keys().next().value!);
    reply.header('set-cookie', `${name}=${id}; Path=/demo/${key}/; HttpOnly; SameSite=Lax`);
    return fresh;
  }

  await app.register(async (demo) => {
    await demo.register(formbody);
    demo.get('/', (_request, reply) => reply.redirect('/demo/a/', 302));
    demo.get('/demo', (_request, reply) => reply.redirect('/demo/a/', 302));
    demo.get('/demo/', (_request, reply) => reply.redirect('/demo/a/', 302));

    for (const { key, name } of DEMO_APPS) {
      const other = DEMO_APPS.find((a) => a.key !== key)!;
      const base = `/demo/${key}/`;

      function renderPage(s: DemoSession, page: PageContext, problem?: CallbackProblem): string {
        return renderDemoPage({
          page,
          appName: name,
          base,
          otherName: other.name,
          otherUrl: `/demo/${other.key}/`,
          claims: s.claims,
          userinfo: s.userinfo,
          credentials: { email: DEMO_EMAIL, password: DEMO_PASSWORD },
          country: DEMO_COUNTRY,
          ...(problem ? { problem } : {}),
        });
      }

      demo.get(base, async (request, reply) => {
        const s = session(request, reply, key);
        const page = buildPageContext({ url: request.url, headers: request.headers }, undefined);
        return reply
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(renderPage(s, page));
      });

      // "Log in" and "Create an account" (prompt=create) start the same code flow.
      const startLogin =
        (extra: Record<string, string>) => async (request: FastifyRequest, reply: FastifyReply) => {
          const s = session(request, reply, key);
          const config = await configFor(key);
          const pending: PendingLogin = {
            verifier: oidc.randomPKCECodeVerifier(),
            state: oidc.randomState(),
            nonce: oidc.randomNonce(),
          };
          s.pending = pending;
          const lang = (request.query as Record<string, string>).lang;
          if (typeof lang === 'string') s.lang = lang;
          const url = oidc.buildAuthorizationUrl(config, {
            redirect_uri: `${vakt.publicUrl()}${base}callback`,
            scope: 'openid profile email phone',
            code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
            code_challenge_method: 'S256',
            state: pending.state,
            nonce: pending.nonce,
            ...(lang ? { ui_locales: lang } : {}),
            ...extra,
          });
          return reply.redirect(url.href, 302);
        };
      demo.get(`${base}login`, startLogin({}));
      demo.get(`${base}signup`, startLogin({ prompt: 'create' }));

      /** The app's page, saying why the answer from vakt logged no one in. */
      function sendCallbackProblem(
        request: FastifyRequest,
        reply: FastifyReply,
        s: DemoSession,
        problem: CallbackProblem,
      ) {
        // Expected: a person's choice or reload, or an answer someone altered. Not the server's
        // fault, so not an error in the log; an altered answer is worth a warning.
        const answer = new URL(request.url, 'http://x').searchParams;
        const fields = { app: key, problem, error: answer.get('error') ?? undefined };
        if (problem === 'cancelled' || problem === 'no_login')
          request.log.info(fields, 'demo login not completed');
        else request.log.warn(fields, 'demo login answer refused');
        // The language switch leads to the app's page: the answer cannot be taken twice.
        const page = buildPageContext({ url: base, headers: request.headers }, undefined, s.lang);
        return reply
          .code(CALLBACK_STATUS[problem])
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(renderPage(s, page, problem));
      }

      demo.get(`${base}callback`, async (request, reply) => {
        const s = session(request, reply, key);
        const config = await configFor(key);
        const current = new URL(request.url, vakt.publicUrl());
        const pending = s.pending;
        // No login started here: the answer was used already (the page reloaded after logging
        // in or cancelling), or it belongs to another browser.
        if (!pending) return sendCallbackProblem(request, reply, s, 'no_login');
        const issuer = config.serverMetadata().issuer;
        for (const rule of CALLBACK_RULES) {
          // A refused answer leaves the pending login be: an answer someone forged must not end
          // the login the person is in the middle of.
          const problem = rule(current.searchParams, pending, issuer);
          if (problem) return sendCallbackProblem(request, reply, s, problem);
        }
        // This is the answer to the pending login: it is used once, whatever it says.
        delete s.pending;
        let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
        try {
          tokens = await oidc.authorizationCodeGrant(config, current, {
            pkceCodeVerifier: pending.verifier,
            expectedState: pending.state,
            expectedNonce: pending.nonce,
          });
        } catch (error) {
          // "Avbryt" on vakt's login page answers access_denied (RFC 6749 4.1.2.1). Any other
          // error, from vakt or on the way to its token endpoint, is not expected: the server's
          // error handler logs it and shows its page.
          if (error instanceof oidc.AuthorizationResponseError && error.error === 'access_denied')
            return sendCallbackProblem(request, reply, s, 'cancelled');
          throw error;
        }
        const claims = tokens.claims()!;
        s.idToken = tokens.id_token;
        s.claims = { ...claims };
        s.sid = typeof claims.sid === 'string' ? claims.sid : undefined;
        s.userinfo = { ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)) };
        return reply.redirect(base, 303);
      });

      demo.post(`${base}logout`, async (request, reply) => {
        const s = session(request, reply, key);
        const config = await configFor(key);
        const url = oidc.buildEndSessionUrl(config, {
          post_logout_redirect_uri: `${vakt.publicUrl()}${base}`,
          ...(s.idToken ? { id_token_hint: s.idToken } : {}),
        });
        delete s.claims;
        delete s.userinfo;
        delete s.idToken;
        return reply.redirect(url.href, 303);
      });

      // vakt calls this when the session ends anywhere; the app forgets that session.
      demo.post(`${base}backchannel-logout`, async (request, reply) => {
        const token = (request.body as Record<string, unknown> | undefined)?.logout_token;
        if (typeof token !== 'string') return reply.code(400).send({ error: 'invalid_request' });
        try {
          const config = await configFor(key);
          const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
          const { payload } = await jwtVerify(token, jwks, {
            issuer: issuer(),
            audience: `demo-app-${key}`,
            typ: 'logout+jwt',
          });
          const events = payload.events as Record<string, unknown> | undefined;
          if (!events?.['http://schemas.openid.net/event/backchannel-logout'] || 'nonce' in payload)
            throw new Error('not a logout token');
          for (const s of sessions.values()) {
            if (s.sid && s.sid === payload.sid) {
              delete s.claims;
              delete s.userinfo;
              delete s.idToken;
              delete s.sid;
            }
          }
          return reply.code(200).header('cache-control', 'no-store').send();
        } catch {
          return reply.code(400).send({ error: 'invalid_request' });
        }
      });
    }
  });
}
