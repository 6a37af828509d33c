// An argon2id hash that is deliberately slow to verify, for an account imported with it: a login
// for that account holds a place in the password-hash gate long enough for a test to act while
// it runs (refuse others, stop the server). 128 MiB per pass; 40 passes take about 2.4 s on a
// slow 2-core machine (25 ms per OWASP-parameter verify) and over half a second on a fast one.
import { hash } from '@node-rs/argon2';
import { tenantDefaults } from '../../src/config/schema.js';
import type { DatabaseKind } from './databases.js';
import type { Mailbox } from './mailbox.js';
import { createEmailAccounts, deliveryEnv, type RunningVakt, startVakt, testTenant } from './vakt.js';

/**
 * Twice the default: 4-5 s on the slow machine, over a second on a fast one. For a test that must
 * do several things while the hash holds its place.
 */
export const LONGER_PASSES = 80;

export function slowArgon2idHash(password: string, passes = 40): Promise<string> {
  // Algorithm 2 is Argon2id (an ambient const enum in @node-rs/argon2).
  return hash(password, { algorithm: 2, memoryCost: 128 * 1024, timeCost: passes, parallelism: 1 });
}

/**
 * A vakt on `kind` that makes one password hash at a time, with `waiting` more allowed to wait,
 * and sends codes to `mailbox` (one code per address, so that a place not given back shows).
 * The account `slow@example.com` has a hash of LONGER_PASSES: a login for it, with any password,
 * holds the one place while a test acts. The `accounts` are made with their passwords.
 */
export async function startOneHashAtATime(
  kind: DatabaseKind,
  { waiting, mailbox, accounts }: { waiting: number; mailbox?: Mailbox; accounts: Array<[string, string]> },
): Promise<RunningVakt> {
  const running = await startVakt(kind, {
    env: {
      ...(mailbox ? deliveryEnv(mailbox) : {}),
      VAKT_HASH_CONCURRENCY: '1',
      VAKT_HASH_QUEUE: String(waiting),
    },
    config: {
      tenants: [
        testTenant({
          identifierKinds: ['email'],
          codeLimits: {
            ...tenantDefaults().codeLimits,
            perIdentifier: [{ seconds: 600, max: 1 }],
            perIp: [{ seconds: 600, max: 100_000 }],
          },
        }),
      ],
    },
  });
  await createEmailAccounts(running, [
    ['slow@example.com', { passwordHash: await slowArgon2idHash('the slow one', LONGER_PASSES) }],
    ...accounts.map(([email, password]) => [email, { password }] as const),
  ]);
  return running;
}
