// SQLite only (PostgreSQL has no WAL file of ours to look after): a serving store checkpoints the
// write-ahead log from a worker thread, not inside a request's commit (src/store/sqlite-checkpoints.ts).
// Seen from outside: what was committed reaches the database file itself within a few seconds,
// while a store that leaves checkpoints to SQLite (1,000 pages) keeps a few rows in the WAL only;
// and closing the store stops the worker and leaves the file whole.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { createRepositories, migrateToLatest, openStore } from '../src/store/index.js';

const T = 1_700_000_000_000;
const dirs: string[] = [];

async function openWith(backgroundCheckpoints: boolean) {
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

async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('SQLite WAL checkpoints of a serving store', () => {
  test('a committed row reaches the database file within seconds, with no request paying for it', async () => {
    const { file, dir, store, repos } = await openWith(true);
    try {
      await repos.tenants.upsertTenant(
        { slug: 'wal-a', display_name: 'A', settings: '{}', updated_at: T },
        T,
      );
      assert.ok(
        await eventually(() => tenantsInMainFile(file, dir).includes('wal-a'), 5000),
        'the background checkpoint copied the commit into the database file',
      );
    } finally {
      await store.close();
    }
  });

  test('without it (the CLI), a few rows stay in the WAL: the test above can tell the two apart', async () => {
    const { file, dir, store, repos } = await openWith(false);
    try {
      await repos.tenants.upsertTenant(
        { slug: 'wal-b', display_name: 'B', settings: '{}', updated_at: T },
        T,
      );
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.ok(!tenantsInMainFile(file, dir).includes('wal-b'));
    } finally {
      await store.close();
    }
    // Closing the last connection checkpoints: the file is whole afterwards.
    assert.ok(tenantsInMainFile(file, dir).includes('wal-b'));
  });

  test('closing a serving store stops its worker and leaves every commit in the file', async () => {
    const { file, dir, store, repos } = await openWith(true);
    for (let i = 0; i < 50; i++) {
      await repos.tenants.upsertTenant(
        { slug: `wal-c${i}`, display_name: 'C', settings: '{}', updated_at: T },
        T,
      );
    }
    await store.close();
    assert.equal(tenantsInMainFile(file, dir).filter((slug) => slug.startsWith('wal-c')).length, 50);
  });
});
