// An argon2id hash that is deliberately slow to verify, for an account imported with it: a login
// for that account holds a place in the password-hash gate long enough for a test to act while
// it runs (refuse others, stop the server). 128 MiB per pass; 40 passes take about 2.4 s on a
// slow 2-core machine (25 ms per OWASP-parameter verify) and over half a second on a fast one.
import { hash } from '@node-rs/argon2';

/**
 * Twice the default: 4-5 s on the slow machine, over a second on a fast one. For a test that must
 * do several things while the hash holds its place.
 */
export const LONGER_PASSES = 80;

export function slowArgon2idHash(password: string, passes = 40): Promise<string> {
  // Algorithm 2 is Argon2id (an ambient const enum in @node-rs/argon2).
  return hash(password, { algorithm: 2, memoryCost: 128 * 1024, timeCost: passes, parallelism: 1 });
}
