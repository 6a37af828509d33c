// Signing keys: generated on first start, stored encrypted, shared by every process. Rotation
// adds a key that signs from now on and keeps the old one published until every token it
// signed has expired.
import { generateKeyPairSync, type JsonWebKey, randomBytes } from 'node:crypto';
import type { Repositories } from '../store/index.js';
import type { Clock } from './clock.js';
import type { SecretBox } from './secrets.js';

export const SIGNING_ALGORITHMS = ['RS256', 'ES256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface PrivateJwk extends Record<string, unknown> {
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
}

export interface SigningKeyService {
  /** The keys to give oidc-provider: newest first per algorithm, retired ones still published. */
  loadJwks(tenant: string): Promise<PrivateJwk[]>;
  /** Creates the first keys of a tenant when it has none. Safe to call from many processes. */
  ensureSigningKeys(tenant: string): Promise<boolean>;
  rotateSigningKeys(tenant: string): Promise<string[]>;
}

/**
 * generateKeyPairSync with JWK output, which Node has had since 16 and @types/node does not
 * declare.
 */
const generateJwkPair = generateKeyPairSync as unknown as (
  type: 'rsa' | 'ec',
  options: {
    modulusLength?: number;
    namedCurve?: string;
    publicKeyEncoding: { format: 'jwk' };
    privateKeyEncoding: { format: 'jwk' };
  },
) => { publicKey: JsonWebKey; privateKey: JsonWebKey };

/**
 * A new private signing key as a JWK. The key is encoded inside the generation call and never
 * exported from a KeyObject afterwards: on Node 20, `KeyObject#export({ format: 'jwk' })` of a
 * just-generated key holds the key's lock while it allocates, and a garbage collection there
 * runs the destructor of the finished generation job, which waits for the same lock. The
 * process then hangs for good (seen at a bench server's first start; gdb shows
 * `~KeyGenJob` waiting in `uv_mutex_lock` under `ExportJWKRsaKey`).
 */
export function generateSigningJwk(alg: SigningAlgorithm): PrivateJwk {
  const asJwk = { format: 'jwk' } as const;
  const { privateKey } =
    alg === 'RS256'
      ? generateJwkPair('rsa', { modulusLength: 2048, publicKeyEncoding: asJwk, privateKeyEncoding: asJwk })
      : generateJwkPair('ec', { namedCurve: 'P-256', publicKeyEncoding: asJwk, privateKeyEncoding: asJwk });
  return { ...privateKey, kid: randomBytes(12).toString('base64url'), alg, use: 'sig' };
}

export function createSigningKeyService(deps: {
  repos: Repositories;
  clock: Clock;
  secrets: SecretBox;
  /**
   * How long a retired key stays published: the longest lifetime of anything it signed (ID
   * tokens; access and refresh tokens are opaque), so every token it signed still verifies.
   */
  retiredKeyLifetimeMs: (tenant: string) => Promise<number>;
}): SigningKeyService {
  const { repos, clock, secrets } = deps;

  /** Adds the next generation of `alg`; false when another process added it first. */
  async function insertNextKey(
    tenant: string,
    alg: SigningAlgorithm,
    generation: number,
  ): Promise<string | undefined> {
    const jwk = generateSigningJwk(alg);
    const inserted = await repos.signingKeys.insertKey({
      kid: jwk.kid,
      tenant_slug: tenant,
      alg,
      generation,
      private_jwk_encrypted: secrets.encrypt(JSON.stringify(jwk)),
      created_at: clock.now(),
      retired_at: null,
      unpublish_at: null,
    });
    return inserted ? jwk.kid : undefined;
  }

  return {
    async loadJwks(tenant) {
      const rows = await repos.signingKeys.listPublishedKeys(tenant, clock.now());
      // RS256 first (the default for clients that ask for nothing else), and within an algorithm
      // the newest generation first: oidc-provider signs with the first key it finds.
      const order = (alg: string) => SIGNING_ALGORITHMS.indexOf(alg as SigningAlgorithm);
      rows.sort((a, b) => order(a.alg) - order(b.alg) || b.generation - a.generation);
      return rows.map((row) => JSON.parse(secrets.decrypt(row.private_jwk_encrypted)) as PrivateJwk);
    },
    async ensureSigningKeys(tenant) {
      let created = false;
      for (const alg of SIGNING_ALGORITHMS) {
        // The newest generation is never retired, so any key at all means an active one. Only
        // generation 1 is created here: processes racing at first start cannot create two.
        if ((await repos.signingKeys.findLatestGeneration(tenant, alg)) > 0) continue;
        created = Boolean(await insertNextKey(tenant, alg, 1)) || created;
      }
      return created;
    },
    async rotateSigningKeys(tenant) {
      const kids: string[] = [];
      const keepPublishedMs = await deps.retiredKeyLifetimeMs(tenant);
      for (const alg of SIGNING_ALGORITHMS) {
        const generation = (await repos.signingKeys.findLatestGeneration(tenant, alg)) + 1;
        const now = clock.now();
        // The new key is written first, so there is never a moment without an active key.
        const kid = await insertNextKey(tenant, alg, generation);
        if (!kid)
          throw new Error(
            `another process rotated the ${alg} key of ${tenant} at the same time; run it again`,
          );
        await repos.signingKeys.retireOlderKeys(tenant, alg, generation, now, now + keepPublishedMs);
        kids.push(kid);
      }
      return kids;
    },
  };
}
