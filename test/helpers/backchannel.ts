// A relying party's back-channel logout endpoint for tests: it keeps every logout token POSTed
// to it (OpenID Connect Back-Channel Logout 1.0) and answers 200, and checks one the way a
// relying party must.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { testTenant } from './vakt.js';

export interface BackchannelReceiver {
  url: string;
  /** The logout tokens received, oldest first. */
  tokens: string[];
  /** While true, every token is received but answered with 503, as by a relying party that is down. */
  refusing: boolean;
  close(): Promise<void>;
}

export async function startBackchannelReceiver(): Promise<BackchannelReceiver> {
  const tokens: string[] = [];
  let receiver: BackchannelReceiver;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(receiver.refusing ? 503 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel`,
    tokens,
    refusing: false,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return receiver;
}

/**
 * Verifies a logout token against the issuer's published keys and checks the claims the
 * specification demands (checklist: back-channel logout): iss, aud, iat, jti, exactly the
 * logout event, sub or sid, and no nonce. Returns its claims.
 */
export async function verifyLogoutToken(
  token: string,
  issuer: string,
  clientId: string,
): Promise<JWTPayload> {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
  };
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer,
    audience: clientId,
    typ: 'logout+jwt',
  });
  assert.ok(payload.jti && payload.iat, 'jti and iat');
  assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
  assert.ok(payload.sub || payload.sid, 'sub or sid');
  assert.equal('nonce' in payload, false, 'no nonce');
  return payload;
}

/** The test tenant (`testTenant`), its client `web` sending back-channel logout to `receiver`. */
export function tenantLoggingOutTo(receiver: BackchannelReceiver): ReturnType<typeof testTenant> {
  const tenant = testTenant();
  tenant.clients[0]!.backchannelLogoutUri = receiver.url;
  return tenant;
}
