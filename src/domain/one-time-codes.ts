// One-time codes that prove a person holds an email address or a phone number (NIST 800-63B
// 3.1.3, ASVS 6.6): 6 digits from a CSPRNG, stored only as a keyed hash, valid 10 minutes, used
// once, bound to the journey that asked for it, and at most 5 tries, counted in the database
// before each comparison so that concurrent guesses cannot get more.
import { randomInt, randomUUID } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { CodeLimits } from '../config/schema.js';
import type { Repositories } from '../store/index.js';
import type { OneTimeCodeRow } from '../store/one-time-code-repository.js';
import type { Clock } from './clock.js';
import { fail, ok, type Result } from './errors.js';
import type { IdentifierKind } from './identifiers.js';
import type { SecretBox } from './secrets.js';

export const CODE_LIFETIME_MS = 10 * 60 * 1000;
export const CODE_MAX_ATTEMPTS = 5;
/** How long a code row is kept after it was made (for "used"/"other journey" answers and limits). */
export const CODE_RETENTION_MS = 24 * 60 * 60 * 1000;

export type CodePurpose = OneTimeCodeRow['purpose'];

export type CodeCheckFailure =
  | 'code.malformed'
  | 'code.missing'
  | 'code.invalid'
  | 'code.invalid_last'
  | 'code.expired'
  | 'code.used'
  | 'code.other_journey'
  | 'code.too_many_attempts';

export interface CodeRequest {
  tenant: string;
  /** What the code is for; a code works only in the journey that asked for it. */
  journey: string;
  purpose: CodePurpose;
  kind: IdentifierKind;
  /** The normalised identifier. */
  destination: string;
  /** Kept encrypted with the code and handed back when it is right. */
  payload?: Record<string, unknown>;
  ip?: string | undefined;
}

export interface PendingCode {
  id: string;
  /** The digits, to send; never stored. */
  code: string;
  request: CodeRequest;
}

export interface LiveCode {
  id: string;
  kind: IdentifierKind;
  destination: string;
  payload: Record<string, unknown>;
  expiresAt: number;
}

/** A refused request to send a code: how long until one more fits in the limits. */
export interface LimitRefusal {
  retryAfterSeconds: number;
}

export interface CodeService {
  /**
   * Whether one more code may be sent to this destination from this IP (ASVS 2.4.1, 6.6.3).
   * Only sent codes count, so a failed delivery costs nothing; it is all reads, no hashing.
   */
  checkLimits(
    limits: CodeLimits,
    request: Pick<CodeRequest, 'tenant' | 'kind' | 'destination' | 'ip'>,
  ): Promise<LimitRefusal | undefined>;
  /** Writes a code that is not live until `markSent`; a failed delivery calls `discard`. */
  create(request: CodeRequest): Promise<PendingCode>;
  markSent(pending: PendingCode): Promise<void>;
  discard(pending: PendingCode): Promise<void>;
  /** The journey's newest sent code, to show where it went and to send a new one. */
  latest(tenant: string, journey: string, purpose: CodePurpose): Promise<LiveCode | undefined>;
  check(
    tenant: string,
    journey: string,
    purpose: CodePurpose,
    typed: string,
  ): Promise<Result<LiveCode, CodeCheckFailure>>;
  deleteOld(): Promise<number>;
}

/** What a person typed, as digits: spaces, dashes and full-width digits are forgiven. */
export function readCode(typed: string): string | undefined {
  const digits = typed.normalize('NFKC').replace(/[\s-]/g, '');
  return /^\d{6}$/.test(digits) ? digits : undefined;
}

export function createCodeService(deps: {
  repos: Repositories;
  clock: Clock;
  secrets: SecretBox;
}): CodeService {
  const { repos, clock, secrets } = deps;
  const hashOf = (tenant: string, destination: string, code: string) =>
    secrets.mac('codes', `${tenant}\n${destination}\n${code}`);

  const toLive = (row: OneTimeCodeRow): LiveCode => ({
    id: row.id,
    kind: row.kind,
    destination: row.destination,
    payload: row.payload_encrypted ? JSON.parse(secrets.decrypt(row.payload_encrypted)) : {},
    expiresAt: row.expires_at,
  });

  return {
    async checkLimits(limits, request) {
      const now = clock.now();
      const country = countryOf(request);
      const checks: [
        'destination' | 'ip' | 'destination_country',
        string | null | undefined,
        CodeLimits['perIp'],
      ][] = [
        ['destination', request.destination, limits.perIdentifier],
        ['ip', request.ip, limits.perIp],
        ['destination_country', country, limits.perCountry],
      ];
      let wait = 0;
      for (const [by, value, windows] of checks) {
        if (!value) continue;
        for (const window of windows) {
          // With `max` codes in the window, a place frees when the max-th newest leaves it.
          const filling = await repos.codes.nthNewestSentSince(
            request.tenant,
            by,
            value,
            now - window.seconds * 1000,
            window.max,
          );
          if (filling !== undefined) wait = Math.max(wait, filling + window.seconds * 1000 - now);
        }
      }
      return wait > 0 ? { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) } : undefined;
    },

    async create(request) {
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const now = clock.now();
      const id = randomUUID();
      await repos.codes.insertCode({
        id,
        tenant_slug: request.tenant,
        journey: request.journey,
        purpose: request.purpose,
        kind: request.kind,
        destination: request.destination,
        destination_country: countryOf(request),
        code_hash: hashOf(request.tenant, request.destination, code),
        attempts: 0,
        max_attempts: CODE_MAX_ATTEMPTS,
        payload_encrypted: request.payload ? secrets.encrypt(JSON.stringify(request.payload)) : null,
        ip: request.ip ?? null,
        created_at: now,
        sent_at: null,
        expires_at: now + CODE_LIFETIME_MS,
        consumed_at: null,
        superseded_at: null,
      });
      return { id, code, request };
    },

    async markSent(pending) {
      await repos.codes.markSent(
        {
          id: pending.id,
          tenant_slug: pending.request.tenant,
          journey: pending.request.journey,
          purpose: pending.request.purpose,
        },
        clock.now(),
      );
    },

    async discard(pending) {
      await repos.codes.deleteCode(pending.id);
    },

    async latest(tenant, journey, purpose) {
      const row = await repos.codes.findLatestSent(tenant, journey, purpose);
      return row ? toLive(row) : undefined;
    },

    async check(tenant, journey, purpose, typed) {
      const code = readCode(typed);
      // A typing slip is not a guess: it costs no attempt.
      if (!code) return fail('code.malformed');
      const row = await repos.codes.findLatestSent(tenant, journey, purpose);
      if (!row) return fail('code.missing');
      const now = clock.now();
      if (row.consumed_at !== null) return fail('code.used');
      if (row.expires_at <= now) return fail('code.expired');
      const attempt = await repos.codes.takeAttempt(row.id, now);
      if (attempt === undefined) {
        // Lost a race: see what the other request did to the code.
        const current = await repos.codes.findById(row.id);
        if (current?.consumed_at != null) return fail('code.used');
        if (current && current.expires_at <= now) return fail('code.expired');
        return fail('code.too_many_attempts');
      }
      const hash = hashOf(tenant, row.destination, code);
      if (secrets.macEquals('codes', `${tenant}\n${row.destination}\n${code}`, row.code_hash)) {
        if (!(await repos.codes.consume(row.id, now))) return fail('code.used');
        return ok(toLive(row));
      }
      if (
        await repos.codes.existsForOtherJourney(
          tenant,
          row.destination,
          hash,
          journey,
          now - CODE_LIFETIME_MS,
        )
      ) {
        return fail('code.other_journey');
      }
      return fail(attempt >= row.max_attempts ? 'code.invalid_last' : 'code.invalid');
    },

    deleteOld: () => repos.codes.deleteOlderThan(clock.now() - CODE_RETENTION_MS),
  };
}

/** The country of a phone destination; email has none. */
function countryOf(request: Pick<CodeRequest, 'kind' | 'destination'>): string | null {
  if (request.kind !== 'phone') return null;
  return parsePhoneNumberFromString(request.destination)?.country ?? null;
}
