// Password hashing: argon2id at OWASP's parameters (m=19 MiB, t=2, p=1), run off the event loop
// by @node-rs/argon2. A login for an unknown identifier verifies against a dummy hash so it costs
// the same as a wrong password (ASVS 6.3.8).
// At most `concurrency` hashes run at once (default: the machine's cores); the others wait their
// turn. libuv's pool has 4 threads, and 4 verifications at once on 2 cores cost each about a
// quarter more CPU than 2 at once (docs/performance.md), and leave no thread for the token
// endpoint's signatures. At most `maxWaiting` wait (default: 64 per place); beyond that a hash or
// verification is refused at once with a BusyError (503), before anything was written.
// Imported accounts may bring a legacy hash, which verify() also accepts until the person's next
// successful login replaces it with argon2id (needsRehash): bcrypt ($2a$/$2b$/$2y$, bcryptjs, in
// slices off the event loop) and PBKDF2 in passlib's ($pbkdf2-sha256$rounds$salt$hash, ab64) and
// Django's (pbkdf2_sha256$rounds$salt$hash, base64) forms (node:crypto, on libuv's thread pool).
// A legacy hash with absurd parameters (too few or too many rounds, a hash of the wrong length)
// never verifies, and isSupportedPasswordHash() refuses it at import.
import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { type Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { createGate, GateFullError } from './concurrency.js';
import { AbandonedError, BusyError } from './errors.js';

// Algorithm is an ambient const enum; 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

export interface Argon2Parameters {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const OWASP_ARGON2: Argon2Parameters = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

// Each of hash, verify and verifyDummy rejects with a BusyError, at once and having done nothing,
// when `maxWaiting` already wait for a place. Each takes the request's signal: aborted while it
// waits (the client went away), it rejects with an AbandonedError, having done nothing.
export interface PasswordHasher {
  hash(password: string, signal?: AbortSignal): Promise<string>;
  /** argon2 (any variant), or a legacy bcrypt or PBKDF2 hash from an import; false for a hash it cannot read. */
  verify(hash: string, password: string, signal?: AbortSignal): Promise<boolean>;
  /** True when a stored hash is not argon2id at the current parameters (upgrade it at login). */
  needsRehash(hash: string): boolean;
  /** Spends the time of one verification without an account to verify against. */
  verifyDummy(password: string, signal?: AbortSignal): Promise<void>;
  parameters: Argon2Parameters;
  /** How many hashes or verifications may run at once. */
  concurrency: number;
  /** How many may wait for a place; more are refused with a BusyError. */
  maxWaiting: number;
}

export interface PasswordHasherOptions {
  /** Hashes or verifications at once; default: the machine's cores (os.availableParallelism()). */
  concurrency?: number;
  /** Hashes or verifications that may wait for a place; default: WAITING_PER_PLACE × concurrency. */
  maxWaiting?: number;
  /** Called on each refusal (a full line), for the operator's log. */
  onBusy?: (error: BusyError) => void;
}

/**
 * The default line per place. A verify costs 5-25 ms of CPU on the 2-core machines measured, so
 * 128 waiting on 2 cores clear in 0.4-2 s (1.8-1.9 s measured at 25 ms, docs/performance.md, "A
 * bounded line"): a burst waits, a flood is refused before it makes every login slow.
 */
export const WAITING_PER_PLACE = 64;

const pbkdf2Async = promisify(pbkdf2);

// What a hash may ask for before it counts as absurd: an import is trusted, but not to make one
// login cost minutes of CPU or gigabytes of memory.
const PBKDF2_ROUNDS = { min: 1000, max: 10_000_000 };
const BCRYPT_COST = { min: 4, max: 16 };
const ARGON2_LIMITS = { memoryKiB: 1024 * 1024, timeCost: 100, parallelism: 64 };
const MAX_SALT_BYTES = 1024;

type Digest = 'sha1' | 'sha256' | 'sha512';
const DIGEST_BYTES: Record<Digest, number> = { sha1: 20, sha256: 32, sha512: 64 };

interface Pbkdf2Hash {
  digest: Digest;
  rounds: number;
  salt: Buffer;
  hash: Buffer;
}

const ROUNDS = /^[1-9]\d{0,8}$/;
const AB64 = /^[A-Za-z0-9./]+$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function pbkdf2Parameters(
  digest: Digest,
  rounds: string,
  salt: Buffer,
  hash: Buffer,
): Pbkdf2Hash | undefined {
  if (!ROUNDS.test(rounds)) return undefined;
  const n = Number(rounds);
  if (n < PBKDF2_ROUNDS.min || n > PBKDF2_ROUNDS.max) return undefined;
  if (salt.length === 0 || salt.length > MAX_SALT_BYTES) return undefined;
  if (hash.length !== DIGEST_BYTES[digest]) return undefined;
  return { digest, rounds: n, salt, hash };
}

/** passlib: `$pbkdf2-sha256$29000$<salt ab64>$<hash ab64>` (`$pbkdf2$` is passlib's SHA-1 form). */
function parsePasslibPbkdf2(stored: string): Pbkdf2Hash | undefined {
  const match = /^\$pbkdf2(?:-(sha1|sha256|sha512))?\$([^$]+)\$([^$]+)\$([^$]+)$/.exec(stored);
  if (!match) return undefined;
  const [, digest = 'sha1', rounds = '', salt = '', checksum = ''] = match;
  if (!AB64.test(salt) || !AB64.test(checksum)) return undefined;
  // ab64 is base64 with "." for "+" and without padding.
  const decode = (text: string) => Buffer.from(text.replaceAll('.', '+'), 'base64');
  return pbkdf2Parameters(digest as Digest, rounds, decode(salt), decode(checksum));
}

/** Django: `pbkdf2_sha256$870000$<salt, used as UTF-8 text>$<hash base64>`. */
function parseDjangoPbkdf2(stored: string): Pbkdf2Hash | undefined {
  const match = /^pbkdf2_(sha1|sha256|sha512)\$([^$]+)\$([^$]+)\$([^$]+)$/.exec(stored);
  if (!match) return undefined;
  const [, digest = '', rounds = '', salt = '', checksum = ''] = match;
  if (!B64.test(checksum)) return undefined;
  return pbkdf2Parameters(
    digest as Digest,
    rounds,
    Buffer.from(salt, 'utf8'),
    Buffer.from(checksum, 'base64'),
  );
}

function parsePbkdf2(stored: string): Pbkdf2Hash | undefined {
  return parsePasslibPbkdf2(stored) ?? parseDjangoPbkdf2(stored);
}

/** `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 22 characters of salt and 31 of hash. */
function isBcrypt(stored: string): boolean {
  const match = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(stored);
  if (!match) return false;
  const cost = Number(match[1]);
  return cost >= BCRYPT_COST.min && cost <= BCRYPT_COST.max;
}

function isArgon2(stored: string): boolean {
  const match =
    /^\$argon2(?:id|i|d)\$(?:v=(?:16|19)\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(
      stored,
    );
  if (!match) return false;
  const [m, t, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return (
    m >= 1 &&
    m <= ARGON2_LIMITS.memoryKiB &&
    t >= 1 &&
    t <= ARGON2_LIMITS.timeCost &&
    p >= 1 &&
    p <= ARGON2_LIMITS.parallelism
  );
}

/** True for a hash verify() can check: argon2, bcrypt or PBKDF2 (passlib or Django), sane parameters. */
export function isSupportedPasswordHash(stored: string): boolean {
  return isArgon2(stored) || isBcrypt(stored) || parsePbkdf2(stored) !== undefined;
}

async function verifyPbkdf2(parsed: Pbkdf2Hash, password: string): Promise<boolean> {
  const derived = await pbkdf2Async(
    Buffer.from(password, 'utf8'),
    parsed.salt,
    parsed.rounds,
    parsed.hash.length,
    parsed.digest,
  );
  return timingSafeEqual(derived, parsed.hash);
}

/** A legacy hash was made from whatever bytes the old system got: try them as typed, then as NFC. */
async function verifyLegacy(check: (password: string) => Promise<boolean>, password: string) {
  if (await check(password)) return true;
  const nfc = password.normalize('NFC');
  return nfc !== password && (await check(nfc));
}

export function createPasswordHasher(
  parameters: Argon2Parameters = OWASP_ARGON2,
  {
    concurrency = availableParallelism(),
    maxWaiting = WAITING_PER_PLACE * concurrency,
    onBusy,
  }: PasswordHasherOptions = {},
): PasswordHasher {
  const options = { algorithm: ARGON2ID, ...parameters };
  const gate = createGate(concurrency, { maxWaiting });
  /**
   * Runs `task` in its turn; a full line becomes a BusyError, a signal aborted in the line an
   * AbandonedError, and the task never runs.
   */
  async function inTurn<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await gate.run(task, signal);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw new AbandonedError();
      if (!(error instanceof GateFullError)) throw error;
      const busy = new BusyError(Math.max(1, Math.ceil(error.clearsInMs / 1000)));
      onBusy?.(busy);
      throw busy;
    }
  }
  let dummy: Promise<string> | undefined;
  return {
    parameters,
    concurrency,
    maxWaiting,
    hash: (password, signal) => inTurn(() => hash(password.normalize('NFC'), options), signal),
    async verify(stored, password, signal) {
      try {
        if (stored.startsWith('$argon2'))
          return await inTurn(() => verify(stored, password.normalize('NFC')), signal);
        if (stored.startsWith('$2'))
          return (
            isBcrypt(stored) &&
            (await inTurn(() => verifyLegacy((p) => bcrypt.compare(p, stored), password), signal))
          );
        const pbkdf2Hash = parsePbkdf2(stored);
        if (pbkdf2Hash)
          return await inTurn(() => verifyLegacy((p) => verifyPbkdf2(pbkdf2Hash, p), password), signal);
        return false;
      } catch (error) {
        // A hash that cannot be read never verifies; a refusal is not an answer about the password.
        if (error instanceof BusyError || error instanceof AbandonedError) throw error;
        return false;
      }
    },
    needsRehash: (stored) =>
      !stored.startsWith(
        `$argon2id$v=19$m=${parameters.memoryCost},t=${parameters.timeCost},p=${parameters.parallelism}$`,
      ),
    async verifyDummy(password, signal) {
      // A refused first try must not leave the refusal in place of the dummy for good.
      dummy ??= inTurn(() => hash('vakt-dummy-password', options)).catch((error: unknown) => {
        dummy = undefined;
        throw error;
      });
      const stored = await dummy;
      await inTurn(() => verify(stored, password.normalize('NFC')), signal).catch((error: unknown) => {
        if (error instanceof BusyError || error instanceof AbandonedError) throw error;
      });
    },
  };
}
