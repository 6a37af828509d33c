// Signing keys: generated on first start and shared by every process; `vakt keys rotate`
// (another process) adds keys that a running server signs with after its reload check, while
// the old keys stay published so tokens they signed still verify.
// Cites: oidcc-idtoken-signature (RS256 default, kid present), Config OP (ES256 offered).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { databaseKinds } from './helpers/databases.js';
import { UserAgent } from './helpers/http-client.js';
import { logInThroughPage } from './helpers/login.js';
import { discoverClient } from './helpers/oidc.js';
import { RP, type RunningVakt, randomPassword, startVakt, TEST_SECRET } from './helpers/vakt.js';

for (const kind of databaseKinds) {
  describe(`signing key rotation on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    const password = randomPassword();

    before(async () => {
      running = await startVakt(kind);
      await running.vakt.accounts.createAccount({
        tenant: 'acme',
        defaultCountry: 'NO',
        emails: ['eva@example.com'],
        password,
        verified: true,
      });
    });
    after(() => running?.stop());

    async function idTokenKid(): Promise<string> {
      const config = await discoverClient(running.issuer);
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${RP}/callback`,
        scope: 'openid',
        state: 's',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const { callback } = await logInThroughPage(new UserAgent(), url.href, {
        identifier: 'eva@example.com',
        password,
      });
      // openid-client verifies the signature against the published JWKS.
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: 's',
      });
      return decodeProtectedHeader(tokens.id_token!).kid!;
    }

    async function publishedKids(): Promise<{ kid: string; alg: string }[]> {
      const response = await fetch(`${running.issuer}/jwks`);
      const body = (await response.json()) as { keys: { kid: string; alg: string; d?: string }[] };
      assert.ok(
        body.keys.every((k) => k.d === undefined),
        'no private key material is published',
      );
      return body.keys.map(({ kid, alg }) => ({ kid, alg }));
    }

    test('RS256 by default, ES256 offered, and a rotation by another process is picked up', async () => {
      const discovery = (await (
        await fetch(`${running.issuer}/.well-known/openid-configuration`)
      ).json()) as Record<string, string[]>;
      assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256', 'ES256']);
      const before = await publishedKids();
      assert.deepEqual(before.map((k) => k.alg).sort(), ['ES256', 'RS256']);

      const oldKid = await idTokenKid();
      assert.equal(before.find((k) => k.kid === oldKid)?.alg, 'RS256');

      const out = execFileSync(process.execPath, ['bin/vakt.js', 'keys', 'rotate', '--tenant', 'acme'], {
        env: {
          ...process.env,
          NODE_NO_WARNINGS: '1',
          DATABASE_URL: running.database.url,
          VAKT_SECRET: TEST_SECRET,
        },
        encoding: 'utf8',
      });
      assert.match(out, /new signing keys for acme/);
      assert.equal(await running.vakt.registry.refresh(), true, 'the running server notices the change');

      const after = await publishedKids();
      assert.equal(after.length, 4, 'old keys stay published beside the new ones');
      assert.ok(after.some((k) => k.kid === oldKid));
      const newKid = await idTokenKid();
      assert.notEqual(newKid, oldKid);
      assert.ok(after.some((k) => k.kid === newKid && k.alg === 'RS256'));
    });
  });
}
