// The one migration set, for SQLite and PostgreSQL alike. Migrations are append-only:
// never edit one that has shipped, add the next.
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Dialect } from './database.js';

function createMigrations(dialect: Dialect): Record<string, Migration> {
  // Epoch-millisecond timestamps need 64 bits on PostgreSQL.
  const ts = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    '0001_foundation': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('tenants')
          .addColumn('slug', 'text', (c) => c.primaryKey())
          .addColumn('display_name', 'text', (c) => c.notNull())
          .addColumn('settings', 'text', (c) => c.notNull())
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('clients')
          .addColumn('tenant_slug', 'text', (c) => c.notNull().references('tenants.slug').onDelete('cascade'))
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('settings', 'text', (c) => c.notNull())
          .addColumn('secret_encrypted', 'text')
          .addColumn('updated_at', ts, (c) => c.notNull())
          .addPrimaryKeyConstraint('clients_pk', ['tenant_slug', 'client_id'])
          .execute();

        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_slug', 'text', (c) => c.notNull().references('tenants.slug').onDelete('cascade'))
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('name', 'text')
          .addColumn('given_name', 'text')
          .addColumn('family_name', 'text')
          .addColumn('locale', 'text')
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('accounts_tenant').on('accounts').column('tenant_slug').execute();

        await db.schema
          .createTable('identifiers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_slug', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('verified_at', ts)
          .addColumn('created_at', ts, (c) => c.notNull())
          // An identifier belongs to at most one account in a tenant.
          .addUniqueConstraint('identifiers_unique', ['tenant_slug', 'kind', 'value'])
          .execute();
        await db.schema.createIndex('identifiers_account').on('identifiers').column('account_id').execute();

        await db.schema
          .createTable('credentials')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('updated_at', ts, (c) => c.notNull())
          .addUniqueConstraint('credentials_one_password', ['account_id', 'kind'])
          .execute();

        await db.schema
          .createTable('federated_identities')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_slug', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('issuer', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('last_acr', 'text')
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('last_used_at', ts)
          .addUniqueConstraint('federated_identities_unique', ['tenant_slug', 'issuer', 'subject'])
          .execute();

        await db.schema
          .createTable('terms')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_slug', 'text', (c) => c.notNull().references('tenants.slug').onDelete('cascade'))
          .addColumn('client_id', 'text')
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('published_at', ts, (c) => c.notNull())
          .addColumn('content_url', 'text')
          .execute();

        await db.schema
          .createTable('terms_acceptances')
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('terms_id', 'text', (c) => c.notNull().references('terms.id').onDelete('cascade'))
          .addColumn('accepted_at', ts, (c) => c.notNull())
          .addPrimaryKeyConstraint('terms_acceptances_pk', ['account_id', 'terms_id'])
          .execute();

        await db.schema
          .createTable('oidc_models')
          .addColumn('tenant_slug', 'text', (c) => c.notNull())
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('grant_id', 'text')
          .addColumn('user_code', 'text')
          .addColumn('uid', 'text')
          .addColumn('expires_at', ts)
          .addColumn('consumed_at', ts)
          .addPrimaryKeyConstraint('oidc_models_pk', ['tenant_slug', 'model', 'id'])
          .execute();
        await db.schema
          .createIndex('oidc_models_grant')
          .on('oidc_models')
          .columns(['tenant_slug', 'grant_id'])
          .execute();
        await db.schema
          .createIndex('oidc_models_uid')
          .on('oidc_models')
          .columns(['tenant_slug', 'model', 'uid'])
          .execute();
        await db.schema.createIndex('oidc_models_expiry').on('oidc_models').column('expires_at').execute();

        await db.schema
          .createTable('signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('tenant_slug', 'text', (c) => c.notNull().references('tenants.slug').onDelete('cascade'))
          .addColumn('alg', 'text', (c) => c.notNull())
          .addColumn('generation', 'integer', (c) => c.notNull())
          .addColumn('private_jwk_encrypted', 'text', (c) => c.notNull())
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('retired_at', ts)
          .addColumn('unpublish_at', ts)
          // Two processes starting at once both try to create generation 1: one wins.
          .addUniqueConstraint('signing_keys_generation', ['tenant_slug', 'alg', 'generation'])
          .execute();

        await db.schema
          .createTable('audit_events')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('tenant_slug', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text')
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('at', ts, (c) => c.notNull())
          .addColumn('ip', 'text')
          .addColumn('detail', 'text')
          .execute();
        await db.schema
          .createIndex('audit_events_account')
          .on('audit_events')
          .columns(['account_id', 'at'])
          .execute();
      },
    },
    '0002_one_time_codes': {
      async up(db: Kysely<unknown>) {
        // One row per code sent. The code itself is never stored: code_hash is a keyed hash of
        // tenant, destination and code. attempts is raised atomically before each comparison.
        await db.schema
          .createTable('one_time_codes')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_slug', 'text', (c) => c.notNull().references('tenants.slug').onDelete('cascade'))
          .addColumn('journey', 'text', (c) => c.notNull())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('destination', 'text', (c) => c.notNull())
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('payload_encrypted', 'text')
          .addColumn('ip', 'text')
          .addColumn('created_at', ts, (c) => c.notNull())
          .addColumn('sent_at', ts)
          .addColumn('expires_at', ts, (c) => c.notNull())
          .addColumn('consumed_at', ts)
          .addColumn('superseded_at', ts)
          .execute();
        await db.schema
          .createIndex('one_time_codes_journey')
          .on('one_time_codes')
          .columns(['tenant_slug', 'journey', 'purpose', 'created_at'])
          .execute();
        await db.schema
          .createIndex('one_time_codes_destination')
          .on('one_time_codes')
          .columns(['tenant_slug', 'destination', 'created_at'])
          .execute();
      },
    },
    '0003_code_limits': {
      async up(db: Kysely<unknown>) {
        // Limits on sending codes count sent rows per destination, per IP and per country.
        await db.schema.alterTable('one_time_codes').addColumn('destination_country', 'text').execute();
        await db.schema
          .createIndex('one_time_codes_ip')
          .on('one_time_codes')
          .columns(['tenant_slug', 'ip', 'created_at'])
          .execute();
        await db.schema
          .createIndex('one_time_codes_country')
          .on('one_time_codes')
          .columns(['tenant_slug', 'destination_country', 'created_at'])
          .execute();
      },
    },
    '0004_login_throttles': {
      async up(db: Kysely<unknown>) {
        // Consecutive failures per key (a typed identifier, an IP address, an account), and
        // until when the key must wait; a success deletes the row.
        await db.schema
          .createTable('login_throttles')
          .addColumn('tenant_slug', 'text', (c) => c.notNull().references('tenants.slug').onDelete('cascade'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('last_failure_at', ts, (c) => c.notNull())
          .addColumn('blocked_until', ts, (c) => c.notNull())
          .addPrimaryKeyConstraint('login_throttles_pk', ['tenant_slug', 'key'])
          .execute();
      },
    },
    '0005_code_places': {
      async up(db: Kysely<unknown>) {
        // The places codes hold in the limits, taken in one transaction with the check (codes
        // in flight count); until now the sent rows of one_time_codes were counted.
        await db.schema
          .createTable('code_places')
          .addColumn('tenant_slug', 'text', (c) => c.notNull().references('tenants.slug').onDelete('cascade'))
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('code_id', 'text', (c) => c.notNull())
          .addColumn('taken_at', ts, (c) => c.notNull())
          .addPrimaryKeyConstraint('code_places_pk', ['tenant_slug', 'scope', 'value', 'code_id'])
          .execute();
        await db.schema
          .createIndex('code_places_window')
          .on('code_places')
          .columns(['tenant_slug', 'scope', 'value', 'taken_at'])
          .execute();
        await db.schema.createIndex('code_places_code').on('code_places').column('code_id').execute();
        await db.schema.createIndex('code_places_taken').on('code_places').column('taken_at').execute();
        // Nothing counts one_time_codes by address or country any more.
        await db.schema.dropIndex('one_time_codes_ip').execute();
        await db.schema.dropIndex('one_time_codes_country').execute();
        // The codes already sent keep counting in the windows they are in.
        for (const scope of ['destination', 'ip', 'destination_country']) {
          await sql`insert into code_places (tenant_slug, scope, value, code_id, taken_at)
            select tenant_slug, ${scope}, ${sql.ref(scope)}, id, created_at from one_time_codes
            where sent_at is not null and ${sql.ref(scope)} is not null`.execute(db);
        }
      },
    },
    '0006_oidc_partial_indexes': {
      async up(db: Kysely<unknown>) {
        // Only interactions and sessions have a uid, and only tokens, codes and some
        // interactions a grant: the rows without one no longer get an index entry. A token's
        // insert (two on every refresh) measured 60 us on SQLite with the full uid index, 45 us
        // with this one. `uid = ?` and `grant_id = ?` imply IS NOT NULL, so both databases
        // still use the indexes for the lookups. On PostgreSQL the two builds hold writes to
        // oidc_models (logins, tokens) until they finish: the migration's transaction rules out
        // CREATE INDEX CONCURRENTLY. A large table makes that a pause of its own at upgrade.
        await db.schema.dropIndex('oidc_models_uid').execute();
        await db.schema
          .createIndex('oidc_models_uid')
          .on('oidc_models')
          .columns(['tenant_slug', 'model', 'uid'])
          .where(sql.ref('uid'), 'is not', null)
          .execute();
        await db.schema.dropIndex('oidc_models_grant').execute();
        await db.schema
          .createIndex('oidc_models_grant')
          .on('oidc_models')
          .columns(['tenant_slug', 'grant_id'])
          .where(sql.ref('grant_id'), 'is not', null)
          .execute();
      },
    },
    '0007_guess_functions': {
      async up(db: Kysely<unknown>) {
        // PostgreSQL only: a guess's take and its give-back, each one round trip instead of a
        // transaction of five (BEGIN, the advisory locks, a read or a delete, a write, COMMIT),
        // with the same locks and the same rules as throttle-repository.ts's SQLite path. The
        // locks are held from the first statement to the end of the call, a few statements of
        // one server-side call instead of three round trips. In a VOLATILE function each
        // statement takes a new snapshot (READ COMMITTED), so the reads after the locks see
        // every change committed before they were granted.
        if (dialect !== 'postgres') return;
        // p_locks: the lock keys, deduplicated and sorted by the caller as lockForTransaction
        // sorts them (so two callers never wait for each other), in lock space p_space.
        // Answers 0 when a guess was taken on every key, or the ms the longest-waiting key must
        // still wait (then nothing is taken). A key's wait after its new count is guessWait():
        // none below p_free failures, then p_first ms doubling, at most p_max.
        await sql`create function vakt_take_guess(
            p_locks text[], p_space bigint, p_tenant text, p_keys text[], p_free integer[],
            p_now bigint, p_first bigint, p_max bigint, p_forget_after bigint) returns bigint
          language plpgsql volatile as $$
          declare
            v_wait bigint;
          begin
            perform pg_advisory_xact_lock(hashtextextended(k, p_space))
              from unnest(p_locks) with ordinality as t(k, n) order by n;
            select coalesce(max(blocked_until - p_now), 0) into v_wait from login_throttles
              where tenant_slug = p_tenant and key = any(p_keys)
                and last_failure_at >= p_now - p_forget_after;
            if v_wait > 0 then
              return v_wait;
            end if;
            insert into login_throttles as t (tenant_slug, key, failures, last_failure_at, blocked_until)
              select p_tenant, w.key, w.failures, p_now, case when w.wait > 0 then p_now + w.wait else 0 end
              from (
                select k.key, k.failures, case when k.failures < k.free then 0
                  else least(p_max, p_first * power(2::numeric, k.failures - k.free))::bigint end as wait
                from (
                  select g.key, g.free, coalesce((
                    select r.failures from login_throttles r
                      where r.tenant_slug = p_tenant and r.key = g.key
                        and r.last_failure_at >= p_now - p_forget_after), 0) + 1 as failures
                  from unnest(p_keys, p_free) as g(key, free)
                ) as k
              ) as w
              on conflict (tenant_slug, key) do update set
                failures = excluded.failures,
                last_failure_at = excluded.last_failure_at,
                blocked_until = excluded.blocked_until;
            return 0;
          end $$`.execute(db);
        // Gives p_keys their tries back (one failure less, no wait; a row at 0 goes) and
        // forgets p_forget's failures, under the same locks.
        await sql`create function vakt_give_back_guess(
            p_locks text[], p_space bigint, p_tenant text, p_keys text[], p_forget text[])
            returns void
          language plpgsql volatile as $$
          begin
            perform pg_advisory_xact_lock(hashtextextended(k, p_space))
              from unnest(p_locks) with ordinality as t(k, n) order by n;
            delete from login_throttles
              where tenant_slug = p_tenant
                and (key = any(p_forget) or (key = any(p_keys) and failures <= 1));
            update login_throttles set failures = failures - 1, blocked_until = 0
              where tenant_slug = p_tenant and key = any(p_keys);
          end $$`.execute(db);
      },
    },
    '0008_code_spent': {
      async up(db: Kysely<unknown>) {
        // What a right code proved can be used once: a reset's new password is set in the same
        // transaction that marks the code spent, so a replayed or doubled form sets nothing.
        await db.schema.alterTable('one_time_codes').addColumn('spent_at', ts).execute();
      },
    },
  };
}

// Any constant shared by every vakt process; pg_advisory_lock takes a 64-bit key.
const MIGRATION_LOCK = 0x7661_6b74;

export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect): Promise<string[]> {
  if (dialect === 'postgres') {
    // Processes starting together would race to create the migration tables themselves (the
    // migrator's own lock lives in a table that may not exist yet), so they queue on a lock.
    return db.connection().execute(async (connection) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(connection);
      try {
        return await runMigrations(connection, dialect);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(connection);
      }
    });
  }
  // SQLite: Kysely takes no lock there (it assumes one process), and two processes starting
  // on a new file raced to create the same tables. BEGIN IMMEDIATE takes the database's one
  // write lock, the others wait for it, and SQLite's DDL is transactional, so a failed
  // migration leaves nothing half-made either. A database already up to date is only read:
  // a command run beside a busy server does not queue for the write lock to learn that.
  if (await isUpToDate(db, dialect)) return [];
  return db.connection().execute(async (connection) => {
    await beginImmediate(connection);
    try {
      const applied = await runMigrations(connection, dialect);
      await sql`commit`.execute(connection);
      return applied;
    } catch (error) {
      await sql`rollback`.execute(connection).catch(() => undefined);
      throw error;
    }
  });
}

/** Whether every migration is recorded as applied (false while the table does not exist). */
async function isUpToDate(db: Kysely<unknown>, dialect: Dialect): Promise<boolean> {
  const names = Object.keys(createMigrations(dialect));
  const exists = await sql<{
    n: number;
  }>`select count(*) as n from sqlite_master where type = 'table' and name = 'vakt_migrations'`.execute(db);
  if (Number(exists.rows[0]?.n ?? 0) === 0) return false;
  const done = await sql<{ name: string }>`select name from vakt_migrations`.execute(db);
  const applied = new Set(done.rows.map((r) => r.name));
  return names.every((name) => applied.has(name));
}

/**
 * Takes SQLite's write lock, waiting up to a minute (longer than any migration takes). The wait
 * polls with busy_timeout off: better-sqlite3's own busy wait would block this thread, and with
 * it anything else in the process that holds the lock. Meanwhile no transaction is open, so a
 * precompiled query (precompiled.ts) would run on the connection at once, with that timeout of
 * 0; none does, as a server migrates before it listens.
 */
async function beginImmediate(connection: Kysely<unknown>): Promise<void> {
  const deadline = Date.now() + 60_000;
  const busyTimeout =
    (await sql<{ timeout: number }>`pragma busy_timeout`.execute(connection)).rows[0]?.timeout ?? 5000;
  await sql.raw('pragma busy_timeout = 0').execute(connection);
  try {
    for (;;) {
      try {
        await sql`begin immediate`.execute(connection);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  } finally {
    await sql.raw(`pragma busy_timeout = ${Number(busyTimeout)}`).execute(connection);
  }
}
/**
 * Brings a database to the migration `target` (by name), applying what is missing before it;
 * the names applied, in order. Without the start-up locks of migrateToLatest: for a database no
 * other process uses, as the test of an upgrade from an earlier schema builds one.
 */
export function migrateTo(db: Kysely<unknown>, dialect: Dialect, target: string): Promise<string[]> {
  if (!(target in createMigrations(dialect))) throw new Error(`no migration is named ${target}`);
  return runMigrations(db, dialect, target);
}

async function runMigrations(db: Kysely<unknown>, dialect: Dialect, target?: string): Promise<string[]> {
  const migrations = createMigrations(dialect);
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  // Kysely looks for its own tables by name in every schema unless told which one; several
  // deployments (or test runs) in one PostgreSQL database live in separate schemas.
  const schema =
    dialect === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
      : undefined;
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'vakt_migrations',
    migrationLockTableName: 'vakt_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await (target === undefined
    ? migrator.migrateToLatest()
    : migrator.migrateTo(target));
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
