// Password hashing: argon2id at OWASP's parameters (m=19 MiB, t=2, p=1), run off the event loop
// by @node-rs/argon2. A login for an unknown identifier verifies against a dummy hash so it costs
// the same as a wrong password (ASVS 6.3.8).
import { type Algorithm, hash, verify } from '@node-rs/argon2';

// Algorithm is an ambient const enum; 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

export interface Argon2Parameters {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const OWASP_ARGON2: Argon2Parameters = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the time of one verification without an account to verify against. */
  verifyDummy(password: string): Promise<void>;
  parameters: Argon2Parameters;
}

export function createPasswordHasher(parameters: Argon2Parameters = OWASP_ARGON2): PasswordHasher {
  const options = { algorithm: ARGON2ID, ...parameters };
  let dummy: Promise<string> | undefined;
  return {
    parameters,
    hash: (password) => hash(password.normalize('NFC'), options),
    async verify(stored, password) {
      try {
        return await verify(stored, password.normalize('NFC'));
      } catch {
        return false;
      }
    },
    async verifyDummy(password) {
      dummy ??= hash('vakt-dummy-password', options);
      await verify(await dummy, password.normalize('NFC')).catch(() => false);
    },
  };
}
