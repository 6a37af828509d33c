// One-time codes that prove a person holds an email address or a phone number (NIST 800-63B
// 3.1.3, ASVS 6.6): 6 digits from a CSPRNG, stored only as a keyed hash, valid 10 minutes, used
// once, bound to the journey that asked for it, and at most 5 tries, counted in the database
// before each comparison so that concurrent guesses cannot get more.
import { randomInt, randomUUID } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { type CodeLimits, LONGEST_LIMIT_WINDOW_SECONDS } from '../config/schema.js';
import type { Repositories } from '../store/index.js';
import type { CodeCounter, LimitStore } from '../store/limit-store.js';
import type { OneTimeCodeRow } from '../store/one-time-code-repository.js';
import type { Clock } from './clock.js';
import { fail, ok, type Result } from './errors.js';
import type { IdentifierKind } from './identifiers.js';
import type { SecretBox } from './secrets.js';

export const CODE_LIFETIME_MS = 10 * 60 * 1000;
export const CODE_MAX_ATTEMPTS = 5;
/**
 * How long a code row is kept after it was made (for "used"/"other journey" answers), and a
 * code's places in the limits (code_places, on the database backend): the longest window.
 */
export const CODE_RETENTION_MS = LONGEST_LIMIT_WINDOW_SECONDS * 1000;
/**
 * What a code's journey carries (a sign-up's password hash and identifiers, a reset's account) is
 * needed only while the journey can finish: an interaction lasts 30 minutes. Kept an hour, then
 * wiped by the sweep, while the row itself stays for the limits.
 */
export const CODE_PAYLOAD_KEPT_MS = 60 * 60 * 1000;

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
  place: SendPlace;
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

/** A place in the limits, held for one code (its id and time) until it is sent or discarded. */
export interface SendPlace {
  id: string;
  at: number;
  counters: CodeCounter[];
}

export interface CodeService {
  /**
   * Whether one more code may be sent to this destination from this IP (ASVS 2.4.1, 6.6.3),
   * and if so a place for it. Only sent codes count, so a failed delivery costs nothing
   * (`discard` gives the place back); a refusal is no more than the store's reads, no hashing.
   */
  checkLimits(
    limits: CodeLimits,
    request: Pick<CodeRequest, 'tenant' | 'kind' | 'destination' | 'ip'>,
  ): Promise<{ refused: LimitRefusal } | { place: SendPlace }>;
  /** Gives back a place no code was written for (what the code was to carry could not be made). */
  releasePlace(tenant: string, place: SendPlace): Promise<void>;
  /** Writes a code that is not live until `markSent`; a failed delivery calls `discard`. */
  create(request: CodeRequest, place: SendPlace): Promise<PendingCode>;
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
  /** Wipes payloads past CODE_PAYLOAD_KEPT_MS, deletes rows past CODE_RETENTION_MS (how many). */
  deleteOld(): Promise<number>;
}

/** What a person typed, as digits: spaces, dashes and full-width digits are forgiven. */
export function readCode(typed: string): string | undefined {
  const digits = typed.normalize('NFKC').replace(/[\s-]/g, '');
  return /^\d{6}$/.test(digits) ? digits : undefined;
}

export function createCodeService(deps: {
  repos: Repositories;
  limits: LimitStore;
  clock: Clock;
  secrets: SecretBox;
}): CodeService {
  const { repos, limits: store, clock, secrets } = deps;
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
      const counted: [CodeCounter['by'], string | null | undefined, CodeLimits['perIp']][] = [
        ['destination', request.destination, limits.perIdentifier],
        ['ip', request.ip, limits.perIp],
        ['destination_country', countryOf(request), limits.perCountry],
      ];
      const counters = counted.flatMap(([by, value, windows]) => (value ? [{ by, value, windows }] : []));
      const id = randomUUID();
      const wait = await store.takeCodePlace(request.tenant, counters, id, now);
      if (wait !== undefined) return { refused: { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) } };
      return { place: { id, at: now, counters } };
    },

    async create(request, place) {
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      // The row is counted from the moment its place was taken, as the limit store counts it.
      const { id, at: now } = place;
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
        spent_at: null,
      });
      return { id, code, request, place };
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

    async releasePlace(tenant, place) {
      await store.returnCodePlace(tenant, place.counters, place.id);
    },

    async discard(pending) {
      await repos.codes.deleteCode(pending.id);
      await store.returnCodePlace(pending.request.tenant, pending.place.counters, pending.id);
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

    async deleteOld() {
      await repos.codes.forgetPayloadsBefore(clock.now() - CODE_PAYLOAD_KEPT_MS);
      return repos.codes.deleteOlderThan(clock.now() - CODE_RETENTION_MS);
    },
  };
}

/** The country of a phone destination; email has none. */
function countryOf(request: Pick<CodeRequest, 'kind' | 'destination'>): string | null {
  if (request.kind !== 'phone') return null;
  return parsePhoneNumberFromString(request.destination)?.country ?? null;
}
