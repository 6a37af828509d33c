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
  /** The account and its identifiers (in the order they were added), in one query. */
  findAccountWithIdentifiers(
    tenant: string,
    id: string,
  ): Promise<{ account: AccountTable; identifiers: IdentifierTable[] } | undefined>;
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
  /**
   * What a password login needs of the account an identifier belongs to, in one query: that
   * identifier (verified or not), all the account's identifiers in the order they were added,
   * the account's status, and its password hash if it has one.
   */
  findPasswordLogin(
    tenant: string,
    kind: 'email' | 'phone',
    value: string,
  ): Promise<
    | {
        identifier: IdentifierTable;
        identifiers: IdentifierTable[];
        status: AccountTable['status'];
        passwordHash?: string;
      }
    | undefined
  >;
  updatePasswordHash(accountId: string, hash: string, now: number): Promise<void>;
  /**
   * Sets the password (creating the credential for an account that had none), lifts the
   * account's failure lock and records the audit event, in one transaction: all or nothing.
   */
  /**
   * Sets the password hash, lifts the failure lock and records the audit event, in one
   * transaction. With `spendCode`, the one-time code whose proof allowed it is marked spent in
   * the same transaction; false, with nothing written, when it already was.
   */
  setPasswordHash(
    accountId: string,
    hash: string,
    now: number,
    record: { tenant: string; auditType: string; spendCode?: string | undefined },
  ): Promise<boolean>;
  countAccounts(tenant: string): Promise<number>;
  /** The account an identifier belongs to, whatever its status (an operator's look-up). */
  findAccountByIdentifier(tenant: string, kind: string, value: string): Promise<AccountTable | undefined>;
  /**
   * Sets the account's status and records the audit event, in one transaction. False when the
   * tenant has no such account.
   */
  setAccountStatus(
    tenant: string,
    id: string,
    status: AccountTable['status'],
    now: number,
    auditType: string,
  ): Promise<boolean>;
  /**
   * Deletes the account with its identifiers, password, federated identities and accepted terms
   * (cascading), and its failure lock, and records the audit event, in one transaction. The
   * audit trail keeps the account's id. False when the tenant has no such account.
   */
  deleteAccount(tenant: string, id: string, now: number): Promise<boolean>;
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
  // Account lookups, compiled once (precompiled.ts). The hot ones are accountWithIdentifiers
  // (every token, refresh and UserInfo request) and passwordLogin (every password login); the
  // others serve recovery, sign-up and re-authentication.
  const accountById = precompile<{ tenant: string; id: string }>(db, ['tenant', 'id'], (a) =>
    db.selectFrom('accounts').selectAll().where('tenant_slug', '=', a.tenant).where('id', '=', a.id),
  );
  // The claims of every token, refresh and UserInfo request: on PostgreSQL a round trip less
  // than the account and then its identifiers. A left join, as an account may have none.
  const accountWithIdentifiers = precompile<{ tenant: string; id: string }>(db, ['tenant', 'id'], (a) =>
    db
      .selectFrom('accounts')
      .leftJoin('identifiers', 'identifiers.account_id', 'accounts.id')
      .selectAll('accounts')
      .select([
        'identifiers.id as identifier_id',
        'identifiers.kind as identifier_kind',
        'identifiers.value as identifier_value',
        'identifiers.verified_at as identifier_verified_at',
        'identifiers.created_at as identifier_created_at',
      ])
      .where('accounts.tenant_slug', '=', a.tenant)
      .where('accounts.id', '=', a.id)
      .orderBy('identifiers.created_at')
      .orderBy('identifiers.id'),
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
  // Every password login: on PostgreSQL one round trip instead of three (the identifier, the
  // password hash, the account's identifiers). One row per identifier of the account.
  const passwordLogin = precompile<IdentifierKey>(db, ['tenant', 'kind', 'value'], (a) =>
    db
      .selectFrom('identifiers as typed')
      .innerJoin('accounts', 'accounts.id', 'typed.account_id')
      .innerJoin('identifiers', 'identifiers.account_id', 'typed.account_id')
      .leftJoin('credentials', (join) =>
        join
          .onRef('credentials.account_id', '=', 'typed.account_id')
          .on('credentials.kind', '=', sql.lit('password')),
      )
      .selectAll('identifiers')
      .select(['typed.id as typed_id', 'credentials.secret_hash', 'accounts.status as account_status'])
      .where('typed.tenant_slug', '=', a.tenant)
      .where('typed.kind', '=', a.kind)
      .where('typed.value', '=', a.value)
      .orderBy('identifiers.created_at')
      .orderBy('identifiers.id'),
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
    async findAccountWithIdentifiers(tenant, id) {
      const rows = (await accountWithIdentifiers({ tenant, id })).rows as (AccountTable & {
        identifier_id: string | null;
        identifier_kind: IdentifierTable['kind'];
        identifier_value: string;
        identifier_verified_at: number | null;
        identifier_created_at: number;
      })[];
      const first = rows[0];
      if (!first) return undefined;
      // The account's own columns are what is left of a row without the identifier's.
      const {
        identifier_id: _id,
        identifier_kind: _kind,
        identifier_value: _value,
        identifier_verified_at: _verified,
        identifier_created_at: _created,
        ...account
      } = first;
      const identifiers = rows.flatMap((row): IdentifierTable[] =>
        row.identifier_id === null
          ? []
          : [
              {
                id: row.identifier_id,
                tenant_slug: account.tenant_slug,
                account_id: account.id,
                kind: row.identifier_kind,
                value: row.identifier_value,
                verified_at: row.identifier_verified_at,
                created_at: row.identifier_created_at,
              },
            ],
      );
      return { account, identifiers };
    },
    // An identifier is unique within a tenant, so its one row says whether it is verified.
    async findAccountIdByVerifiedIdentifier(tenant, kind, value) {
      const row = await findIdentifier(tenant, kind, value);
      return row?.verified_at != null ? row.account_id : undefined;
    },
    findIdentifier,
    async findPasswordLogin(tenant, kind, value) {
      const rows = (await passwordLogin({ tenant, kind, value })).rows as (IdentifierTable & {
        typed_id: string;
        secret_hash: string | null;
        account_status: AccountTable['status'];
      })[];
      const identifiers = rows.map(
        ({ typed_id: _typed, secret_hash: _hash, account_status: _status, ...identifier }) => identifier,
      );
      const identifier = identifiers.find((i) => i.id === rows[0]?.typed_id);
      if (!identifier) return undefined;
      const { secret_hash: passwordHash, account_status: status } = rows[0]!;
      return { identifier, identifiers, status, ...(passwordHash === null ? {} : { passwordHash }) };
    },
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
      return db.transaction().execute(async (trx) => {
        if (record.spendCode !== undefined) {
          const spent = await trx
            .updateTable('one_time_codes')
            .set({ spent_at: now })
            .where('id', '=', record.spendCode)
            .where('tenant_slug', '=', record.tenant)
            .where('spent_at', 'is', null)
            .executeTakeFirst();
          if (Number(spent.numUpdatedRows) === 0) return false;
        }
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
        return true;
      });
    },
    findAccountByIdentifier: (tenant, kind, value) =>
      db
        .selectFrom('accounts')
        .innerJoin('identifiers', 'identifiers.account_id', 'accounts.id')
        .selectAll('accounts')
        .where('identifiers.tenant_slug', '=', tenant)
        .where('identifiers.kind', '=', kind as IdentifierTable['kind'])
        .where('identifiers.value', '=', value)
        .executeTakeFirst(),
    async setAccountStatus(tenant, id, status, now, auditType) {
      return db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('accounts')
          .set({ status, updated_at: now })
          .where('tenant_slug', '=', tenant)
          .where('id', '=', id)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) return false;
        await trx
          .insertInto('audit_events')
          .values({ tenant_slug: tenant, account_id: id, type: auditType, at: now })
          .execute();
        return true;
      });
    },
    async deleteAccount(tenant, id, now) {
      return db.transaction().execute(async (trx) => {
        const deleted = await trx
          .deleteFrom('accounts')
          .where('tenant_slug', '=', tenant)
          .where('id', '=', id)
          .executeTakeFirst();
        if (Number(deleted.numDeletedRows) === 0) return false;
        await trx
          .deleteFrom('login_throttles')
          .where('tenant_slug', '=', tenant)
          .where('key', '=', `account:${id}`)
          .execute();
        await trx
          .insertInto('audit_events')
          .values({ tenant_slug: tenant, account_id: id, type: 'account.deleted', at: now })
          .execute();
        return true;
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
