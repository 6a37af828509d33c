// Accounts, their identifiers and their password credential.
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { precompile } from './precompiled.js';
import type { AccountTable, CredentialTable, Database, IdentifierTable } from './schema.js';

export interface NewAccount {
  account: AccountTable;
  identifiers: IdentifierTable[];
  password?: CredentialTable;
}

export interface AccountRepository {
  /** Writes the account, its identifiers and credential in one transaction, or nothing. */
  insertAccount(input: NewAccount): Promise<'created' | 'identifier_taken'>;
  findAccountById(tenant: string, id: string): Promise<AccountTable | undefined>;
  findAccountIdByVerifiedIdentifier(tenant: string, kind: string, value: string): Promise<string | undefined>;
  /** The identifier row in an active account, verified or not. */
  findIdentifier(tenant: string, kind: string, value: string): Promise<IdentifierTable | undefined>;
  listIdentifiers(accountId: string): Promise<IdentifierTable[]>;
  markIdentifierVerified(identifierId: string, now: number): Promise<void>;
  /** Swaps one identifier of an account for a new, verified one, in one transaction. */
  replaceIdentifier(
    oldIdentifierId: string,
    replacement: IdentifierTable,
  ): Promise<'replaced' | 'identifier_taken'>;
  findPasswordHash(accountId: string): Promise<string | undefined>;
  updatePasswordHash(accountId: string, hash: string, now: number): Promise<void>;
  /**
   * Sets the password (creating the credential for an account that had none), lifts the
   * account's failure lock and records the audit event, in one transaction: all or nothing.
   */
  setPasswordHash(
    accountId: string,
    hash: string,
    now: number,
    record: { tenant: string; auditType: string },
  ): Promise<void>;
  countAccounts(tenant: string): Promise<number>;
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    /UNIQUE constraint failed/.test(e?.message ?? '')
  );
}

export function createAccountRepository(db: Kysely<Database>): AccountRepository {
  // The lookups every login, token and UserInfo request makes, compiled once (precompiled.ts).
  const accountById = precompile<{ tenant: string; id: string }>(db, ['tenant', 'id'], (a) =>
    db.selectFrom('accounts').selectAll().where('tenant_slug', '=', a.tenant).where('id', '=', a.id),
  );
  type IdentifierKey = { tenant: string; kind: 'email' | 'phone'; value: string };
  const identifierInActiveAccount = precompile<IdentifierKey>(db, ['tenant', 'kind', 'value'], (a) =>
    db
      .selectFrom('identifiers')
      .innerJoin('accounts', 'accounts.id', 'identifiers.account_id')
      .selectAll('identifiers')
      .where('identifiers.tenant_slug', '=', a.tenant)
      .where('identifiers.kind', '=', a.kind)
      .where('identifiers.value', '=', a.value)
      .where('accounts.status', '=', sql.lit('active')),
  );
  const identifiersOf = precompile<{ accountId: string }>(db, ['accountId'], (a) =>
    db
      .selectFrom('identifiers')
      .selectAll()
      .where('account_id', '=', a.accountId)
      .orderBy('created_at')
      .orderBy('id'),
  );
  const passwordOf = precompile<{ accountId: string }>(db, ['accountId'], (a) =>
    db
      .selectFrom('credentials')
      .select('secret_hash')
      .where('account_id', '=', a.accountId)
      .where('kind', '=', sql.lit('password')),
  );
  const findIdentifier = async (tenant: string, kind: string, value: string) =>
    (await identifierInActiveAccount({ tenant, kind: kind as IdentifierKey['kind'], value })).rows[0] as
      | IdentifierTable
      | undefined;
  return {
    async insertAccount({ account, identifiers, password }) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('accounts').values(account).execute();
          for (const identifier of identifiers)
            await trx.insertInto('identifiers').values(identifier).execute();
          if (password) await trx.insertInto('credentials').values(password).execute();
        });
        return 'created';
      } catch (error) {
        if (isUniqueViolation(error)) return 'identifier_taken';
        throw error;
      }
    },
    findAccountById: async (tenant, id) =>
      (await accountById({ tenant, id })).rows[0] as AccountTable | undefined,
    // An identifier is unique within a tenant, so its one row says whether it is verified.
    async findAccountIdByVerifiedIdentifier(tenant, kind, value) {
      const row = await findIdentifier(tenant, kind, value);
      return row?.verified_at != null ? row.account_id : undefined;
    },
    findIdentifier,
    async markIdentifierVerified(identifierId, now) {
      await db
        .updateTable('identifiers')
        .set({ verified_at: now })
        .where('id', '=', identifierId)
        .where('verified_at', 'is', null)
        .execute();
    },
    async replaceIdentifier(oldIdentifierId, replacement) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .deleteFrom('identifiers')
            .where('id', '=', oldIdentifierId)
            .where('account_id', '=', replacement.account_id)
            .execute();
          await trx.insertInto('identifiers').values(replacement).execute();
        });
        return 'replaced';
      } catch (error) {
        if (isUniqueViolation(error)) return 'identifier_taken';
        throw error;
      }
    },
    listIdentifiers: async (accountId) => (await identifiersOf({ accountId })).rows as IdentifierTable[],
    async findPasswordHash(accountId) {
      const row = (await passwordOf({ accountId })).rows[0] as { secret_hash: string } | undefined;
      return row?.secret_hash;
    },
    async updatePasswordHash(accountId, hash, now) {
      await db
        .updateTable('credentials')
        .set({ secret_hash: hash, updated_at: now })
        .where('account_id', '=', accountId)
        .where('kind', '=', 'password')
        .execute();
    },
    async setPasswordHash(accountId, hash, now, record) {
      await db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('credentials')
          .set({ secret_hash: hash, updated_at: now })
          .where('account_id', '=', accountId)
          .where('kind', '=', 'password')
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) {
          await trx
            .insertInto('credentials')
            .values({
              id: randomUUID(),
              account_id: accountId,
              kind: 'password',
              secret_hash: hash,
              created_at: now,
              updated_at: now,
            })
            .execute();
        }
        // A new password unlocks an account locked by failures (the lock always lives here,
        // in the database, whichever store keeps the other limits).
        await trx
          .deleteFrom('login_throttles')
          .where('tenant_slug', '=', record.tenant)
          .where('key', '=', `account:${accountId}`)
          .execute();
        await trx
          .insertInto('audit_events')
          .values({ tenant_slug: record.tenant, account_id: accountId, type: record.auditType, at: now })
          .execute();
      });
    },
    async countAccounts(tenant) {
      const row = await db
        .selectFrom('accounts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_slug', '=', tenant)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
