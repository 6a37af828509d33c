// Accounts: creating them with their identifiers and password, and checking a password login.
import { randomUUID } from 'node:crypto';
import type { Repositories } from '../store/index.js';
import type { AccountTable, IdentifierTable } from '../store/schema.js';
import type { Clock } from './clock.js';
import { BusyError, fail, ok, type Result } from './errors.js';
import {
  type NormalisedIdentifier,
  normaliseEmail,
  normaliseIdentifier,
  normalisePhone,
} from './identifiers.js';
import type { PasswordHasher } from './passwords.js';
import { ACCOUNT_FAILURE_LIMIT, type ThrottleService } from './throttle.js';

export interface AccountProfile {
  id: string;
  tenant: string;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  locale: string | null;
  updatedAt: number;
  emails: { value: string; verified: boolean }[];
  phones: { value: string; verified: boolean }[];
}

export interface CreateAccountInput {
  tenant: string;
  defaultCountry: string;
  emails?: string[];
  phones?: string[];
  password?: string;
  /** A password already hashed (argon2id, or a legacy form from an import, upgraded at login). */
  passwordHash?: string;
  name?: string;
  locale?: string;
  /** Identifiers proved by the caller (an operator's CLI, a verified code): all, or some kinds. */
  verified: boolean | readonly ('email' | 'phone')[];
}

export type LoginFailure = 'login.invalid_credentials' | 'login.locked' | 'login.disabled';

/** An identifier the person must prove before the login completes (imported accounts). */
export interface IdentifierToVerify {
  identifierId: string;
  kind: 'email' | 'phone';
  value: string;
}

export interface PasswordLogin {
  accountId: string;
  toVerify?: IdentifierToVerify;
}

export interface AccountService {
  createAccount(
    input: CreateAccountInput,
  ): Promise<
    Result<
      { id: string },
      'identifier.email_invalid' | 'identifier.phone_invalid' | 'identifier.taken' | 'request.invalid'
    >
  >;
  findAccountProfile(tenant: string, id: string): Promise<AccountProfile | undefined>;
  /**
   * A wrong password and an unknown identifier give the same answer in the same time (ASVS 6.3.8).
   * Rejects with a BusyError when too many password hashes wait, and with an AbandonedError when
   * `signal` (the request's) aborts while the check waits its turn; neither has written anything.
   */
  verifyPasswordLogin(
    tenant: string,
    defaultCountry: string,
    identifier: string,
    password: string,
    signal?: AbortSignal,
  ): Promise<Result<PasswordLogin, LoginFailure>>;
  markIdentifierVerified(tenant: string, accountId: string, identifierId: string): Promise<void>;
  /**
   * Where a reset code may go for what a person typed: the account's verified identifiers
   * (ASVS 6.6.1: codes only to proved destinations), or undefined for an unknown identifier.
   */
  recoveryTargets(
    tenant: string,
    kind: 'email' | 'phone',
    value: string,
  ): Promise<{ accountId: string; targets: IdentifierToVerify[] } | undefined>;
  /**
   * Sets a new password (already checked against the policy), auditing it; BusyError and
   * AbandonedError as above, before anything is written. `spendCode`: the one-time code whose
   * proof allows a reset, spent with it; false, with nothing written, when it already was.
   */
  setPassword(
    tenant: string,
    accountId: string,
    password: string,
    reason: 'reset' | 'change',
    options?: { signal?: AbortSignal | undefined; spendCode?: string | undefined },
  ): Promise<boolean>;
  listVerifiedIdentifiers(accountId: string): Promise<IdentifierToVerify[]>;
  /**
   * Whether this is the account's password (re-authentication before a change); BusyError and
   * AbandonedError as above.
   */
  verifyPassword(tenant: string, accountId: string, password: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * An operator's look-up (`vakt users`): the account with this id, or the one this email
   * address or phone number belongs to, whatever its status; undefined when there is none.
   */
  findAccountForOperator(
    tenant: string,
    defaultCountry: string,
    who: string,
  ): Promise<Result<AccountTable | undefined, 'identifier.email_invalid' | 'identifier.phone_invalid'>>;
  /**
   * Disables an account (no login, no tokens, no claims; its login page says so only to whoever
   * gives its password) or enables it again, auditing it. False when there is no such account.
   * Its sessions are the caller's to end.
   */
  setAccountStatus(tenant: string, accountId: string, status: 'active' | 'disabled'): Promise<boolean>;
  /** Deletes an account and all that is its own, auditing it; false when there is none. */
  deleteAccount(tenant: string, accountId: string): Promise<boolean>;
  /** Replaces an unproved identifier by one just proved with a code. */
  replaceIdentifier(
    tenant: string,
    accountId: string,
    oldIdentifierId: string,
    replacement: { kind: 'email' | 'phone'; value: string },
  ): Promise<Result<void, 'identifier.taken'>>;
}

const ACCOUNT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createAccountService(deps: {
  repos: Repositories;
  clock: Clock;
  hasher: PasswordHasher;
  throttle: ThrottleService;
}): AccountService {
  const { repos, clock, hasher, throttle } = deps;

  /**
   * After the password: the identifier typed, if it is unproved, else the account's first
   * unproved email address (an operator's import) must be proved before the login completes.
   */
  function identifierToVerify(
    used: IdentifierTable,
    identifiers: IdentifierTable[],
  ): IdentifierToVerify | undefined {
    const pick =
      used.verified_at === null
        ? used
        : identifiers.find((i) => i.kind === 'email' && i.verified_at === null);
    return pick ? { identifierId: pick.id, kind: pick.kind, value: pick.value } : undefined;
  }

  return {
    async createAccount(input) {
      const identifiers: NormalisedIdentifier[] = [];
      for (const email of input.emails ?? []) {
        const result = normaliseEmail(email);
        if (!result.ok) return result;
        identifiers.push({ kind: 'email', value: result.value });
      }
      for (const phone of input.phones ?? []) {
        const result = normalisePhone(phone, input.defaultCountry);
        if (!result.ok) return result;
        identifiers.push({ kind: 'phone', value: result.value });
      }
      if (identifiers.length === 0) return fail('request.invalid');
      const now = clock.now();
      const id = randomUUID();
      const account: AccountTable = {
        id,
        tenant_slug: input.tenant,
        status: 'active',
        name: input.name ?? null,
        given_name: null,
        family_name: null,
        locale: input.locale ?? null,
        created_at: now,
        updated_at: now,
      };
      const rows: IdentifierTable[] = identifiers.map((identifier) => ({
        id: randomUUID(),
        tenant_slug: input.tenant,
        account_id: id,
        kind: identifier.kind,
        value: identifier.value,
        verified_at:
          input.verified === true ||
          (Array.isArray(input.verified) && input.verified.includes(identifier.kind))
            ? now
            : null,
        created_at: now,
      }));
      const secretHash =
        input.passwordHash ?? (input.password ? await hasher.hash(input.password) : undefined);
      const password = secretHash
        ? {
            id: randomUUID(),
            account_id: id,
            kind: 'password' as const,
            secret_hash: secretHash,
            created_at: now,
            updated_at: now,
          }
        : undefined;
      const outcome = await repos.accounts.insertAccount({
        account,
        identifiers: rows,
        ...(password ? { password } : {}),
      });
      if (outcome === 'identifier_taken') return fail('identifier.taken');
      await repos.audit.recordEvent({
        tenant: input.tenant,
        accountId: id,
        type: 'account.created',
        at: now,
      });
      return ok({ id });
    },

    async findAccountProfile(tenant, id) {
      const found = await repos.accounts.findAccountWithIdentifiers(tenant, id);
      if (found?.account.status !== 'active') return undefined;
      const { account, identifiers } = found;
      const pick = (kind: 'email' | 'phone') =>
        identifiers
          .filter((i) => i.kind === kind)
          // Verified identifiers first: the claim shows the one the person has proved.
          .sort((a, b) => Number(b.verified_at !== null) - Number(a.verified_at !== null))
          .map((i) => ({ value: i.value, verified: i.verified_at !== null }));
      return {
        id,
        tenant,
        name: account.name,
        givenName: account.given_name,
        familyName: account.family_name,
        locale: account.locale,
        updatedAt: account.updated_at,
        emails: pick('email'),
        phones: pick('phone'),
      };
    },

    async verifyPasswordLogin(tenant, defaultCountry, identifierInput, password, signal) {
      const identifier = normaliseIdentifier(identifierInput, defaultCountry);
      // Unverified identifiers count too: an imported account proves its address at first login.
      const found = identifier.ok
        ? await repos.accounts.findPasswordLogin(tenant, identifier.value.kind, identifier.value.value)
        : undefined;
      const accountId = found?.identifier.account_id;
      const stored = found?.passwordHash;
      /** Every refused login is audited (ASVS 16.3.1), with why. */
      const failed = async (
        error: LoginFailure,
        reason: 'locked' | 'unknown_identifier' | 'wrong_password' | 'disabled',
      ) => {
        await repos.audit.recordEvent({
          tenant,
          ...(reason === 'unknown_identifier' ? {} : { accountId }),
          type: 'login.failed',
          at: clock.now(),
          detail: { reason },
        });
        return fail(error);
      };
      const failures = accountId && stored ? await throttle.accountFailures(tenant, accountId) : 0;
      if (accountId && failures >= ACCOUNT_FAILURE_LIMIT) {
        // NIST 800-63B: after 100 consecutive failures the password stops working until reset.
        await hasher.verifyDummy(password, signal);
        return failed('login.locked', 'locked');
      }
      if (!found || !accountId || !stored) {
        await hasher.verifyDummy(password, signal);
        await throttle.accountFailed(tenant, undefined);
        return failed('login.invalid_credentials', 'unknown_identifier');
      }
      const passwordOk = await hasher.verify(stored, password, signal);
      const active = found.status === 'active';
      if (passwordOk && active && hasher.needsRehash(stored)) {
        // A legacy or weaker hash (an import) becomes argon2id at the current parameters. When
        // too many hashes wait, the upgrade waits for a later login, not this one.
        const upgraded = await hasher.hash(password).catch((error: unknown) => {
          if (error instanceof BusyError) return undefined;
          throw error;
        });
        if (upgraded) await repos.accounts.updatePasswordHash(accountId, upgraded, clock.now());
      }
      if (!passwordOk) {
        await throttle.accountFailed(tenant, accountId);
        return failed('login.invalid_credentials', 'wrong_password');
      }
      if (!active) {
        // Said only to whoever knows the password: to anyone else a disabled account's
        // identifier looks like one that is unknown (ASVS 6.3.8), and a wrong password counts.
        return failed('login.disabled', 'disabled');
      }
      // Only an account with failures has a row to forget: no write on the usual login.
      if (failures > 0) await throttle.accountSucceeded(tenant, accountId);
      const toVerify = identifierToVerify(found.identifier, found.identifiers);
      await repos.audit.recordEvent({
        tenant,
        accountId,
        type: toVerify ? 'login.password_ok_unverified' : 'login.succeeded',
        at: clock.now(),
        detail: { method: 'password' },
      });
      return ok(toVerify ? { accountId, toVerify } : { accountId });
    },

    async recoveryTargets(tenant, kind, value) {
      const row = await repos.accounts.findIdentifier(tenant, kind, value);
      if (!row) return undefined;
      const targets = await this.listVerifiedIdentifiers(row.account_id);
      return targets.length > 0 ? { accountId: row.account_id, targets } : undefined;
    },

    async listVerifiedIdentifiers(accountId) {
      // Email addresses first, then numbers, each in the order they were added.
      return (await repos.accounts.listIdentifiers(accountId))
        .filter((i) => i.verified_at !== null)
        .sort((a, b) => Number(a.kind === 'phone') - Number(b.kind === 'phone'))
        .map((i) => ({ identifierId: i.id, kind: i.kind, value: i.value }));
    },

    async verifyPassword(tenant, accountId, password, signal) {
      const stored = await repos.accounts.findPasswordHash(accountId);
      let right = false;
      if (stored) right = await hasher.verify(stored, password, signal);
      else await hasher.verifyDummy(password, signal);
      if (!right) {
        await repos.audit.recordEvent({ tenant, accountId, type: 'password.reauth_failed', at: clock.now() });
      }
      return right;
    },

    async setPassword(tenant, accountId, password, reason, options = {}) {
      // One transaction with the lift of the failure lock, the audit event and the spent code:
      // if it fails, the old password still works and nothing else changed.
      const hash = await hasher.hash(password, options.signal);
      return repos.accounts.setPasswordHash(accountId, hash, clock.now(), {
        tenant,
        auditType: `password.${reason}`,
        spendCode: options.spendCode,
      });
    },

    async markIdentifierVerified(tenant, accountId, identifierId) {
      await repos.accounts.markIdentifierVerified(identifierId, clock.now());
      await repos.audit.recordEvent({
        tenant,
        accountId,
        type: 'identifier.verified',
        at: clock.now(),
      });
    },

    async findAccountForOperator(tenant, defaultCountry, who) {
      if (ACCOUNT_ID.test(who)) return ok(await repos.accounts.findAccountById(tenant, who.toLowerCase()));
      const identifier = normaliseIdentifier(who, defaultCountry);
      if (!identifier.ok) return identifier;
      const { kind, value } = identifier.value;
      return ok(await repos.accounts.findAccountByIdentifier(tenant, kind, value));
    },

    async setAccountStatus(tenant, accountId, status) {
      const type = status === 'active' ? 'account.enabled' : 'account.disabled';
      return repos.accounts.setAccountStatus(tenant, accountId, status, clock.now(), type);
    },

    deleteAccount: (tenant, accountId) => repos.accounts.deleteAccount(tenant, accountId, clock.now()),

    async replaceIdentifier(tenant, accountId, oldIdentifierId, replacement) {
      const now = clock.now();
      const outcome = await repos.accounts.replaceIdentifier(oldIdentifierId, {
        id: randomUUID(),
        tenant_slug: tenant,
        account_id: accountId,
        kind: replacement.kind,
        value: replacement.value,
        verified_at: now,
        created_at: now,
      });
      if (outcome === 'identifier_taken') return fail('identifier.taken');
      await repos.audit.recordEvent({ tenant, accountId, type: 'identifier.replaced', at: now });
      return ok(undefined);
    },
  };
}
