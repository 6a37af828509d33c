// Walks the hosted login page the way a person without JavaScript would.
import assert from 'node:assert/strict';
import { formAction, formField, type Response, type UserAgent } from './http-client.js';
import { RP } from './vakt.js';

export interface LoginOutcome {
  /** The redirect back to the relying party (with code, state and iss). */
  callback: URL;
  loginPage: Response;
  /** The answer that sends the browser back to the relying party; it sets the session cookie. */
  redirect: Response;
}

/** Opens `authorizeUrl`, expects the login page, submits it, and returns the redirect to the RP. */
export async function logInThroughPage(
  agent: UserAgent,
  authorizeUrl: string,
  credentials: { identifier: string; password: string; remember?: boolean },
): Promise<LoginOutcome> {
  const origin = new URL(authorizeUrl).origin;
  const loginPage = await agent.follow(authorizeUrl, origin);
  assert.equal(
    loginPage.status,
    200,
    `expected the login page, got ${loginPage.status}: ${loginPage.body.slice(0, 300)}`,
  );
  const action = formAction(loginPage.body, '/login');
  const submitted = await agent.follow(new URL(action, origin).href, origin, {
    form: {
      csrf: formField(loginPage.body, 'csrf'),
      identifier: credentials.identifier,
      password: credentials.password,
      ...(credentials.remember ? { remember: 'on' } : {}),
    },
  });
  assert.ok(
    submitted.status >= 300 && submitted.status < 400,
    `expected a redirect to the client, got ${submitted.status}: ${submitted.body.slice(0, 400)}`,
  );
  return { callback: new URL(submitted.headers.get('location')!, origin), loginPage, redirect: submitted };
}

/** Opens `authorizeUrl` with an existing session and expects to go straight back to the RP. */
export async function expectSilentRedirect(agent: UserAgent, authorizeUrl: string): Promise<URL> {
  const origin = new URL(authorizeUrl).origin;
  const response = await agent.follow(authorizeUrl, origin);
  assert.ok(
    response.status >= 300 && response.status < 400,
    `expected a redirect, got ${response.status}: ${response.body.slice(0, 300)}`,
  );
  return new URL(response.headers.get('location')!, origin);
}

/**
 * An authorization request of the test client `web`, for tests that stop at vakt's pages: the
 * PKCE challenge is fixed because its code is never redeemed.
 */
export function authorizationUrl(issuer: string, params: Record<string, string> = {}): string {
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: 'web',
    response_type: 'code',
    redirect_uri: `${RP}/callback`,
    scope: 'openid',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    ...params,
  }).toString();
  return url.href;
}
