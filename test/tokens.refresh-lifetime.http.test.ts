// How long a refresh token lives: each use returns a new one, which may go unused for the
// client's `refreshToken` time; all of them together end the client's `refreshTokenAbsolute`
// time after the authorization, however often they are used, and then the person signs in
// again. A real relying party (openid-client) against a real vakt, on SQLite and PostgreSQL,
// with time moved instead of waited for: node:test's mock timers move Date, the clock of
// oidc-provider, of openid-client and of vakt's system clock alike.
// Cites: ASVS 10.4.8 (refresh tokens have an absolute expiration, also with sliding renewal),
// RFC 9700 4.14.2 (refresh token expiry).
import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import * as oidc from 'openid-client';
import { databaseKinds } from './helpers/databases.js';
import { UserAgent } from './helpers/http-client.js';
import { logInThroughPage } from './helpers/login.js';
import { authorizationRequest, discoverClient, redeemCode } from './helpers/oidc.js';
import {
  createEmailAccounts,
  type RunningVakt,
  randomPassword,
  startVakt,
  testTenant,
} from './helpers/vakt.js';

const HOUR = 3600_000;
const IDLE_SECONDS = 24 * 3600;
const ABSOLUTE_SECONDS = 3 * 24 * 3600;

for (const kind of databaseKinds) {
  describe(`refresh token lifetimes on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    let config: oidc.Configuration;
    const password = randomPassword();
    const email = 'offline@example.com';
    const advance = (ms: number) => mock.timers.tick(ms);

    before(async () => {
      mock.timers.enable({ apis: ['Date'], now: Date.now() });
      const tenant = testTenant();
      tenant.clients[0]!.tokenLifetimes = {
        ...tenant.clients[0]!.tokenLifetimes,
        refreshToken: IDLE_SECONDS,
        refreshTokenAbsolute: ABSOLUTE_SECONDS,
      };
      running = await startVakt(kind, { config: { tenants: [tenant] } });
      await createEmailAccounts(running, [[email, { password }]]);
      config = await discoverClient(running.issuer, 'web');
    });
    after(async () => {
      await running?.stop();
      mock.timers.reset();
    });

    /** Signs in afresh (a new browser) and answers the first refresh token of that authorization. */
    async function signIn(): Promise<string> {
      const sent = await authorizationRequest(config, {
        scope: 'openid offline_access',
        prompt: 'consent',
      });
      const { callback } = await logInThroughPage(new UserAgent(), sent.url.href, {
        identifier: email,
        password,
      });
      const tokens = await redeemCode(config, callback, sent);
      assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
      return tokens.refresh_token;
    }

    async function refresh(token: string): Promise<string> {
      const tokens = await oidc.refreshTokenGrant(config, token);
      assert.ok(tokens.refresh_token && tokens.refresh_token !== token, 'a new refresh token each use');
      return tokens.refresh_token;
    }

    const refused = (token: string, message: string) =>
      assert.rejects(
        oidc.refreshTokenGrant(config, token),
        (error: oidc.ResponseBodyError) => error.error === 'invalid_grant',
        message,
      );

    test('a refresh token unused for the idle time ends; each use gives a new one the idle time again', async () => {
      let token = await signIn();
      advance(23 * HOUR);
      token = await refresh(token);
      advance(23 * HOUR);
      token = await refresh(token);
      advance(25 * HOUR);
      await refused(token, '25 hours after the last use');
    });

    test('ASVS 10.4.8: used every 20 hours, the refresh tokens end 3 days after the sign-in; signing in again starts 3 days anew', async () => {
      const start = Math.floor(Date.now() / 1000);
      let token = await signIn();
      for (let used = 1; used <= 3; used++) {
        advance(20 * HOUR);
        token = await refresh(token);
      }
      // 60 hours in: the new token may live 12 hours more, not a whole idle day.
      const seen = await oidc.tokenIntrospection(config, token);
      assert.equal(seen.active, true);
      assert.ok(
        Math.abs(seen.exp! - (start + ABSOLUTE_SECONDS)) <= 5,
        `expires 3 days after the sign-in (${seen.exp! - start} s after it)`,
      );
      advance(11 * HOUR);
      token = await refresh(token);
      advance(2 * HOUR);
      await refused(token, '73 hours after the sign-in, 2 hours after the last use');

      let again = await signIn();
      for (let used = 1; used <= 3; used++) {
        advance(20 * HOUR);
        again = await refresh(again);
      }
    });
  });
}
