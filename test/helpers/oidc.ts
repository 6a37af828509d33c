// openid-client, a certified relying party, set up against a test vakt: discovery over plain
// http, the test tenant's clients and their secrets, and authorization requests with PKCE.
import * as oidc from 'openid-client';
import { CLIENT_SECRETS, RP } from './vakt.js';

/**
 * The relying party for `clientId` of the tenant at `issuer`. A client of the test tenant sends
 * its own secret (in the Authorization header unless `auth` says the body), a public client none.
 */
export function discoverClient(
  issuer: string,
  clientId = 'web',
  options: { auth?: 'basic' | 'post'; secret?: string; metadata?: Partial<oidc.ClientMetadata> } = {},
): Promise<oidc.Configuration> {
  const secret = options.secret ?? CLIENT_SECRETS[clientId];
  const auth =
    secret === undefined
      ? oidc.None()
      : options.auth === 'post'
        ? oidc.ClientSecretPost(secret)
        : oidc.ClientSecretBasic(secret);
  return oidc.discovery(new URL(issuer), clientId, { client_secret: secret, ...options.metadata }, auth, {
    execute: [oidc.allowInsecureRequests],
  });
}

export interface AuthorizationRequest {
  url: URL;
  verifier: string;
  state: string;
  nonce: string | undefined;
}

/**
 * An authorization request of `config`'s client to `${RP}/callback`, scope openid, with PKCE
 * (S256), a state and, unless told otherwise, a nonce; `params` add to or replace these.
 */
export async function authorizationRequest(
  config: oidc.Configuration,
  params: Record<string, string> = {},
  { nonce = true } = {},
): Promise<AuthorizationRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const sent = nonce ? oidc.randomNonce() : undefined;
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${RP}/callback`,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...(sent ? { nonce: sent } : {}),
    ...params,
  });
  return { url, verifier, state, nonce: sent };
}

/** Redeems the code in `callback` for the request `sent`, checking its state and nonce. */
export function redeemCode(
  config: oidc.Configuration,
  callback: URL | Request,
  sent: AuthorizationRequest,
  extra: { maxAge?: number } = {},
) {
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: sent.verifier,
    expectedState: sent.state,
    ...(sent.nonce ? { expectedNonce: sent.nonce } : {}),
    ...extra,
  });
}
