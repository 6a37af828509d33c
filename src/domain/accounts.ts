// Accounts: creating them with their identifiers and password, and checking a password login.
import { randomUUID } from 'node:crypto';
import type { Repositories } from '../store/index.js';
import type { AccountTable, IdentifierTable } from '../store/schema.js';
import type { Clock } from './clock.js';
import { fail, ok, type Result } from './errors.js';
import {
  type NormalisedIdentifier,
  normaliseEmail,
  normaliseIdentifier,
  normalisePhone,
} from './identifiers.js';
import type { PasswordHasher } from './passwords.js';

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
  name?: string;
  /** Identifiers proved by the caller (an operator's CLI, a verified code). */
  verified: boolean;
}

export type LoginFailure = 'login.invalid_credentials';

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
  /** A wrong password and an unknown identifier give the same answer in the same time (ASVS 6.3.8). */
  verifyPasswordLogin(
    tenant: string,
    defaultCountry: string,
    identifier: string,
    password: string,
  ): Promise<Result<{ accountId: string }, LoginFailure>>;
}

export function createAccountService(deps: {
  repos: Repositories;
  clock: Clock;
  hasher: PasswordHasher;
}): AccountService {
  const { repos, clock, hasher } = deps;

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
        locale: null,
        created_at: now,
        updated_at: now,
      };
      const rows: IdentifierTable[] = identifiers.map((identifier) => ({
        id: randomUUID(),
        tenant_slug: input.tenant,
        account_id: id,
        kind: identifier.kind,
        value: identifier.value,
        verified_at: input.verified ? now : null,
        created_at: now,
      }));
      const password = input.password
        ? {
            id: randomUUID(),
            account_id: id,
            kind: 'password' as const,
            secret_hash: await hasher.hash(input.password),
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
      const account = await repos.accounts.findAccountById(tenant, id);
      if (account?.status !== 'active') return undefined;
      const identifiers = await repos.accounts.listIdentifiers(id);
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

    async verifyPasswordLogin(tenant, defaultCountry, identifierInput, password) {
      const identifier = normaliseIdentifier(identifierInput, defaultCountry);
      const accountId = identifier.ok
        ? await repos.accounts.findAccountIdByVerifiedIdentifier(
            tenant,
            identifier.value.kind,
            identifier.value.value,
          )
        : undefined;
      const stored = accountId ? await repos.accounts.findPasswordHash(accountId) : undefined;
      if (!accountId || !stored) {
        await hasher.verifyDummy(password);
        await repos.audit.recordEvent({
          tenant,
          type: 'login.failed',
          at: clock.now(),
          detail: { reason: 'unknown_identifier' },
        });
        return fail('login.invalid_credentials');
      }
      if (!(await hasher.verify(stored, password))) {
        await repos.audit.recordEvent({
          tenant,
          accountId,
          type: 'login.failed',
          at: clock.now(),
          detail: { reason: 'wrong_password' },
        });
        return fail('login.invalid_credentials');
      }
      await repos.audit.recordEvent({
        tenant,
        accountId,
        type: 'login.succeeded',
        at: clock.now(),
        detail: { method: 'password' },
      });
      return ok({ accountId });
    },
  };
}
