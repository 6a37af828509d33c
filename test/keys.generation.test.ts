// Generating signing keys never hangs the process, and every key it makes signs and verifies.
// On Node 20, exporting a just-generated KeyObject as a JWK can deadlock for good when a garbage
// collection runs inside the export (see generateSigningJwk). This child process makes V8 collect
// all the time (a 1 MiB young generation): generating keys the old way, with the export, hung in it
// after 1,200 to 5,500 P-256 keys (3 runs), and a bare loop of generate-then-export hung between
// 200 and 300 P-256 keys (5 runs) or at 144 RSA keys (1 run). Hence 20,000 keys: a first version
// of this test, with 1,000, passed on the old code.
// Cites: oidcc-idtoken-signature (the keys that sign ID tokens).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CompactSign, compactVerify, importJWK } from 'jose';
import type { PrivateJwk } from '../src/domain/signing-keys.js';
import { runNode } from './helpers/process.js';

const signingKeys = fileURLToPath(new URL('../src/domain/signing-keys.ts', import.meta.url));
const HUNG_AFTER_MS = 60_000;

/**
 * Runs the generator in a child that collects garbage constantly. Returns how many keys it made,
 * how many distinct kids they had, and a sample: the first and last P-256 key and every RSA key.
 */
async function generateUnderPressure(
  es256: number,
  rs256: number,
): Promise<{ made: number; kids: number; sample: PrivateJwk[] }> {
  const script = `
    const { generateSigningJwk } = await import(${JSON.stringify(signingKeys)});
    const kids = new Set();
    const sample = [];
    let made = 0;
    for (let i = 0; i < ${es256}; i++) {
      const key = generateSigningJwk('ES256');
      made++;
      kids.add(key.kid);
      if (i === 0 || i === ${es256} - 1) sample.push(key);
    }
    for (let i = 0; i < ${rs256}; i++) {
      const key = generateSigningJwk('RS256');
      made++;
      kids.add(key.kid);
      sample.push(key);
    }
    process.stdout.write(JSON.stringify({ made, kids: kids.size, sample }));
  `;
  const run = await runNode(
    ['--max-semi-space-size=1', '--import', 'tsx', '--input-type=module', '--eval', script],
    { timeoutMs: HUNG_AFTER_MS },
  );
  assert.ok(!run.timedOut, `key generation still running after ${HUNG_AFTER_MS / 1000} s: it hung`);
  assert.equal(run.code, 0, `the generator failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

test('20,000 P-256 and 3 RSA signing keys under constant garbage collection: no hang, each key signs and verifies', async () => {
  const { made, kids, sample } = await generateUnderPressure(20_000, 3);
  assert.equal(made, 20_003);
  assert.equal(kids, made, 'every kid is new');
  assert.equal(sample.length, 5);
  for (const jwk of sample) {
    const { kid, alg, use, ...material } = jwk;
    assert.equal(use, 'sig');
    if (alg === 'ES256') {
      assert.deepEqual(Object.keys(material).sort(), ['crv', 'd', 'kty', 'x', 'y']);
      assert.equal(material.crv, 'P-256');
    } else {
      assert.equal(alg, 'RS256');
      assert.deepEqual(Object.keys(material).sort(), ['d', 'dp', 'dq', 'e', 'kty', 'n', 'p', 'q', 'qi']);
      assert.equal(Buffer.from(String(material.n), 'base64url').length * 8, 2048);
    }
    // Signed with the private JWK, verified with its public part alone.
    const privateKey = await importJWK(jwk, alg);
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
    const publicKey = await importJWK(publicJwk, alg);
    const jws = await new CompactSign(new TextEncoder().encode(kid))
      .setProtectedHeader({ alg, kid })
      .sign(privateKey);
    const { payload } = await compactVerify(jws, publicKey);
    assert.equal(new TextDecoder().decode(payload), kid);
  }
});
