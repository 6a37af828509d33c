// Opens the database: SQLite (file, WAL, foreign keys on) by default, PostgreSQL when the URL
// says so. Everything above this file is dialect-neutral Kysely.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import type pg from 'pg';
import { type DirectRunner, directRunners } from './precompiled.js';
import type { Database as Tables } from './schema.js';
import { type CheckpointOptions, checkpointInBackground, WAL_SIZE_LIMIT } from './sqlite-checkpoints.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Tables>;
  dialect: Dialect;
  close(): Promise<void>;
}

// pg is loaded with the first PostgreSQL store, not at start: on SQLite it is not in memory.
let pgModule: typeof pg | undefined;
function loadPg(): typeof pg {
  if (!pgModule) {
    pgModule = createRequire(import.meta.url)('pg') as typeof pg;
    // bigint columns come back from pg as strings; our timestamps fit in a double.
    pgModule.types.setTypeParser(20, (value) => Number.parseInt(value, 10));
  }
  return pgModule;
}

export interface StoreOptions {
  poolSize?: number | undefined;
  /**
   * SQLite: checkpoint the WAL from a worker thread while writes are busy (a long-running
   * server), see sqlite-checkpoints.ts; tests may override its thresholds.
   */
  backgroundCheckpoints?: boolean | CheckpointOptions | undefined;
  /** SQLite: the size a WAL file is cut back to when it starts again (default WAL_SIZE_LIMIT). */
  walSizeLimit?: number | undefined;
}

/** What a lock taken by `lockForTransaction` is about; the same key in two spaces never meets. */
export const LOCK_SPACE = { codePlaces: 0, guessKeys: 1 } as const;

/**
 * Holds `keys` until the transaction `trx` ends: another transaction asking for one of them
 * waits. PostgreSQL takes an advisory lock per key, in sorted order so two transactions never
 * wait for each other; SQLite needs none, as its transactions take its one write lock first.
 * One statement takes them all: the sorted keys go as one array, and the lock is taken row by
 * row as unnest yields them, in the array's order (EXPLAIN: a plain function scan, which the
 * ordinality already orders, so no sort stands between it and the locks).
 */
export async function lockForTransaction(
  trx: Kysely<Tables>,
  dialect: Dialect,
  space: (typeof LOCK_SPACE)[keyof typeof LOCK_SPACE],
  keys: string[],
): Promise<void> {
  if (dialect !== 'postgres' || keys.length === 0) return;
  await sql`select pg_advisory_xact_lock(hashtextextended(k, ${space}))
    from unnest(${lockOrder(keys)}::text[]) with ordinality as t(k, n) order by n`.execute(trx);
}

/**
 * The order every taker of advisory locks takes `keys` in, without repeats: one order for all,
 * so two transactions never wait for each other. The guess functions of migration 0007 take
 * their locks in the order given, which is this one.
 */
export function lockOrder(keys: string[]): string[] {
  return [...new Set(keys)].sort();
}

export function openStore(url: string, options: StoreOptions = {}): Store {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new (loadPg().Pool)({ connectionString: url, max: options.poolSize ?? 10 });
    // A dropped connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    directRunners.set(db, preparedStatements(pool));
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  // The CLI and the server share the file; wait for the other writer instead of failing.
  sqlite.pragma('busy_timeout = 5000');
  // A WAL that a burst grew is cut back when it starts again, not kept at its largest.
  sqlite.pragma(`journal_size_limit = ${Math.floor(options.walSizeLimit ?? WAL_SIZE_LIMIT)}`);
  const checkpoints =
    options.backgroundCheckpoints && file !== ':memory:'
      ? checkpointInBackground(
          sqlite,
          file,
          typeof options.backgroundCheckpoints === 'object' ? options.backgroundCheckpoints : {},
        )
      : undefined;
  const statements = withStatementCache(sqlite);
  const db = new Kysely<Tables>({ dialect: new ImmediateSqliteDialect({ database: statements }) });
  directRunners.set(db, (text, parameters) => {
    if (sqlite.inTransaction) return undefined;
    // As Kysely's SqliteConnection does it: readers return rows, writers what they changed.
    const statement = statements.prepare(text);
    if (statement.reader) return { rows: statement.all(parameters) };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  });
  return {
    db,
    dialect: 'sqlite',
    async close() {
      await checkpoints?.stop();
      await db.destroy();
    },
  };
}

// PostgreSQL parses and plans every unnamed query afresh. A named statement is prepared once
// per connection: measured on a primary-key select, 85-100 us of PostgreSQL's CPU per query
// became 30-36 us, and 58-107 us of this process's became 32-53 us.
//
// A call whose prepared statement fails is run again unnamed, at the cost of a second round
// trip, where the failure is about the statement and not the query:
// - 0A000 "cached plan must not change result type": a newer vakt's migration added a column
//   under a running older one's prepared `select *`; the older process keeps working until it
//   is replaced;
// - 26000 "prepared statement does not exist" and 42P05 "already exists": a pooler between
//   vakt and PostgreSQL (PgBouncer in transaction mode before 1.21, or without
//   max_prepared_statements) handed the connection's statements to another server connection.
const RETRY_UNNAMED = new Set(['0A000', '26000', '42P05']);

function preparedStatements(pool: pg.Pool): DirectRunner {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (!name) {
      name = `vakt_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };
  const result = ({ command, rowCount, rows }: pg.QueryResult): QueryResult<unknown> => ({
    rows: rows ?? [],
    ...(['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(command)
      ? { numAffectedRows: BigInt(rowCount ?? 0) }
      : {}),
  });
  return async (text, parameters) => {
    const values = [...parameters];
    try {
      return result(await pool.query({ name: nameOf(text), text, values }));
    } catch (error) {
      if (!RETRY_UNNAMED.has((error as { code?: string }).code ?? '')) throw error;
      return result(await pool.query({ text, values }));
    }
  };
}

// Kysely prepares every query afresh; the same few dozen SQL texts recur on every request, and
// preparing one costs about as much as running it. Kysely holds one connection behind a mutex,
// so a cached statement is never in use twice at once.
const STATEMENT_CACHE_SIZE = 500;

function withStatementCache(sqlite: SQLite.Database) {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(sql: string): SQLite.Statement {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      sqlite.close();
    },
  };
}

// A transaction that reads and then writes fails at once with SQLITE_BUSY ("database is
// locked") when another process wrote in between, whatever busy_timeout says: its snapshot is
// stale and SQLite cannot wait its way out. Two processes applying one config at start-up did
// exactly that. BEGIN IMMEDIATE takes the write lock first, so a second writer waits for it
// instead (busy_timeout). Every transaction vakt opens writes, so none waits for nothing.
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}
