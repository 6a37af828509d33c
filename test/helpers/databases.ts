// The databases every storage test runs on: SQLite always; PostgreSQL when it answers, and
// always in CI (CI=true), where a missing PostgreSQL fails the run instead of skipping.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createScratchSchema } from './postgres-schema.js';

export const POSTGRES_URL = process.env.VAKT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  /** A database URL no other test uses. */
  url: string;
  drop(): Promise<void>;
}

export interface DatabaseKind {
  name: 'sqlite' | 'postgres';
  /** Why the kind is skipped here, or undefined when it runs. */
  skip: string | undefined;
  create(): Promise<TestDatabase>;
}

async function postgresAnswers(): Promise<string | undefined> {
  // A PostgreSQL that is not there refuses at once; the timeout only waits for a busy one (a CI
  // run beside other work once took over 2 s to connect, and failed the run for it).
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 15_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

const postgresProblem = await postgresAnswers();
if (postgresProblem && process.env.CI === 'true') {
  throw new Error(`PostgreSQL is required in CI but did not answer at ${POSTGRES_URL}: ${postgresProblem}`);
}

export const sqlite: DatabaseKind = {
  name: 'sqlite',
  skip: undefined,
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'vakt-test-'));
    return { url: join(dir, 'vakt.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

export const postgres: DatabaseKind = {
  name: 'postgres',
  skip: postgresProblem
    ? `PostgreSQL not reachable at ${POSTGRES_URL} (${postgresProblem}): SKIPPED`
    : undefined,
  create: () => createScratchSchema(POSTGRES_URL, 'vakt_test'),
};

export const databaseKinds: DatabaseKind[] = [sqlite, postgres];

if (postgres.skip) console.log(`# ${postgres.skip}`);
