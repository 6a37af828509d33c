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
import { renderDemoPage } from './page.js';
import { DEMO_APPS, DEMO_COUNTRY, DEMO_EMAIL, DEMO_PASSWORD, DEMO_TENANT, demoClientSecret } from './seed.js';

interface DemoSession {
  sid?: string;
  state?: string;
  verifier?: string;
  nonce?: string;
  idToken?: string;
  claims?: Record<string, unknown>;
  userinfo?: Record<string, unknown>;
}

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
    if (!id || !sessions.has(id)) {
      id = randomBytes(16).toString('base64url');
      sessions.set(id, {});
      reply.header('set-cookie', `${name}=${id}; Path=/demo/${key}/; HttpOnly; SameSite=Lax`);
    }
    return sessions.get(id)!;
  }

  await app.register(async (demo) => {
    await demo.register(formbody);
    demo.get('/', (_request, reply) => reply.redirect('/demo/a/', 302));
    demo.get('/demo', (_request, reply) => reply.redirect('/demo/a/', 302));
    demo.get('/demo/', (_request, reply) => reply.redirect('/demo/a/', 302));

    for (const { key, name } of DEMO_APPS) {
      const other = DEMO_APPS.find((a) => a.key !== key)!;
      const base = `/demo/${key}/`;

      demo.get(base, async (request, reply) => {
        const s = session(request, reply, key);
        const page = buildPageContext({ url: request.url, headers: request.headers }, undefined);
        return reply
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(
            renderDemoPage({
              page,
              appName: name,
              base,
              otherName: other.name,
              otherUrl: `/demo/${other.key}/`,
              claims: s.claims,
              userinfo: s.userinfo,
              credentials: { email: DEMO_EMAIL, password: DEMO_PASSWORD },
              country: DEMO_COUNTRY,
            }),
          );
      });

      // "Log in" and "Create an account" (prompt=create) start the same code flow.
      const startLogin =
        (extra: Record<string, string>) => async (request: FastifyRequest, reply: FastifyReply) => {
          const s = session(request, reply, key);
          const config = await configFor(key);
          s.verifier = oidc.randomPKCECodeVerifier();
          s.state = oidc.randomState();
          s.nonce = oidc.randomNonce();
          const lang = (request.query as Record<string, string>).lang;
          const url = oidc.buildAuthorizationUrl(config, {
            redirect_uri: `${vakt.publicUrl()}${base}callback`,
            scope: 'openid profile email phone',
            code_challenge: await oidc.calculatePKCECodeChallenge(s.verifier),
            code_challenge_method: 'S256',
            state: s.state,
            nonce: s.nonce,
            ...(lang ? { ui_locales: lang } : {}),
            ...extra,
          });
          return reply.redirect(url.href, 302);
        };
      demo.get(`${base}login`, startLogin({}));
      demo.get(`${base}signup`, startLogin({ prompt: 'create' }));

      demo.get(`${base}callback`, async (request, reply) => {
        const s = session(request, reply, key);
        const config = await configFor(key);
        const current = new URL(request.url, vakt.publicUrl());
        const tokens = await oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: s.verifier,
          expectedState: s.state,
          expectedNonce: s.nonce,
        });
        const claims = tokens.claims()!;
        s.idToken = tokens.id_token;
        s.claims = { ...claims };
        s.sid = typeof claims.sid === 'string' ? claims.sid : undefined;
        s.userinfo = { ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)) };
        delete s.state;
        delete s.verifier;
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
