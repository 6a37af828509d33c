// SQLite only (PostgreSQL has no WAL file of ours to look after): a serving store that writes
// busily checkpoints the write-ahead log from a worker thread, not inside a request's commit
// (src/store/sqlite-checkpoints.ts). Seen from outside: after a burst of writes, what was committed
// reaches the database file itself within a few seconds, while a store that leaves checkpoints to
// SQLite (every 1,000 pages) keeps the same rows in the WAL only; the worker runs only while writes
// are busy (automatic checkpoints are off while it runs and back once it stops); and closing the
// store stops the worker and leaves the file whole.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { createRepositories, migrateToLatest, openStore } from '../src/store/index.js';

const T = 1_700_000_000_000;
/** Writes in one go: more than the 50 a second that start the worker, fewer pages than 1,000. */
const BURST = 200;

const dirs: string[] = [];

async function openWith(backgroundCheckpoints: boolean | { quietSeconds: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'vakt-wal-'));
  dirs.push(dir);
  const file = join(dir, 'vakt.db');
  const store = openStore(file, { backgroundCheckpoints });
  await migrateToLatest(store.db as unknown as Kysely<unknown>, store.dialect);
  return { file, dir, store, repos: createRepositories(store) };
}

/** The tenants the database file holds on its own, without its WAL (a copy of the file alone). */
function tenantsInMainFile(file: string, dir: string): string[] {
  const copy = join(dir, `copy-${Date.now()}-${Math.random()}.db`);
  copyFileSync(file, copy);
  const db = new SQLite(copy, { readonly: true });
  try {
    const hasTable = db.prepare("select 1 from sqlite_master where name = 'tenants'").get();
    if (!hasTable) return [];
    return (db.prepare('select slug from tenants order by slug').all() as { slug: string }[]).map(
      (r) => r.slug,
    );
  } finally {
    db.close();
  }
}

async function eventually(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function burst(repos: ReturnType<typeof createRepositories>, prefix: string): Promise<void> {
  for (let i = 0; i < BURST; i++) {
    await repos.tenants.upsertTenant(
      { slug: `${prefix}${i}`, display_name: 'W', settings: '{}', updated_at: T },
      T,
    );
  }
}

describe('SQLite WAL checkpoints of a serving store', () => {
  test('after a burst of writes, the commits reach the database file within seconds, no request paying for it', async () => {
    const { file, dir, store, repos } = await openWith(true);
    try {
      await burst(repos, 'wal-a');
      assert.ok(
        await eventually(() => tenantsInMainFile(file, dir).includes(`wal-a${BURST - 1}`), 5000),
        'the background checkpoint copied the commits into the database file',
      );
    } finally {
      await store.close();
    }
  });

  test('without it (the CLI), the same burst stays in the WAL: the test above can tell the two apart', async () => {
    const { file, dir, store, repos } = await openWith(false);
    try {
      await burst(repos, 'wal-b');
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.ok(!tenantsInMainFile(file, dir).includes(`wal-b${BURST - 1}`));
    } finally {
      await store.close();
    }
    // Closing the last connection checkpoints: the file is whole afterwards.
    assert.ok(tenantsInMainFile(file, dir).includes(`wal-b${BURST - 1}`));
  });

  test('the worker runs only while writes are busy: automatic checkpoints are off then, and back after quiet seconds', async () => {
    const { store, repos } = await openWith({ quietSeconds: 2 });
    const automaticPages = async () =>
      Number(Object.values((await sql`pragma wal_autocheckpoint`.execute(store.db)).rows[0] as object)[0]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(await automaticPages(), 1000, 'an idle store has no worker: SQLite checkpoints itself');
      await burst(repos, 'wal-d');
      assert.ok(
        await eventually(async () => (await automaticPages()) === 0, 3000),
        'busy: the worker took over',
      );
      assert.ok(
        await eventually(async () => (await automaticPages()) === 1000, 6000),
        'quiet: it stopped again',
      );
    } finally {
      await store.close();
    }
  });

  test('closing a serving store stops its worker and leaves every commit in the file', async () => {
    const { file, dir, store, repos } = await openWith(true);
    await burst(repos, 'wal-c');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await store.close();
    assert.equal(tenantsInMainFile(file, dir).filter((slug) => slug.startsWith('wal-c')).length, BURST);
  });
});
