// SQLite only (PostgreSQL has no WAL file of ours to look after): a serving store that writes
// busily checkpoints the write-ahead log from a worker thread, not inside a request's commit
// (src/store/sqlite-checkpoints.ts). Seen from outside: after a burst of writes, what was committed
// reaches the database file itself within a few seconds, while a store that leaves checkpoints to
// SQLite (every 1,000 pages) keeps the same rows in the WAL only; the worker runs only while writes
// are busy (automatic checkpoints are off while it runs and back once it stops); under steady
// writes the WAL starts again from its beginning instead of growing for as long as they last; a WAL
// file that grew past its limit is cut back to it when the WAL starts again; and closing the store
// stops the worker and leaves the file whole.
import assert from 'node:assert/strict';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { createRepositories, migrateToLatest, openStore } from '../src/store/index.js';
import type { CheckpointOptions } from '../src/store/sqlite-checkpoints.js';

const T = 1_700_000_000_000;
/** Writes in one go: more than the 50 a second that start the worker, fewer pages than 1,000. */
const BURST = 200;

const dirs: string[] = [];

async function openWith(backgroundCheckpoints: boolean | CheckpointOptions, walSizeLimit?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'vakt-wal-'));
  dirs.push(dir);
  const file = join(dir, 'vakt.db');
  const store = openStore(file, { backgroundCheckpoints, walSizeLimit });
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

/**
 * The WAL header's checkpoint sequence number (bytes 12-15, big-endian): SQLite adds one each time
 * the WAL starts again from its beginning. Undefined while there is no header.
 */
function walRestarts(file: string): number | undefined {
  const wal = `${file}-wal`;
  if (!existsSync(wal)) return undefined;
  const header = Buffer.alloc(32);
  const fd = openSync(wal, 'r');
  try {
    if (readSync(fd, header, 0, 32, 0) < 32) return undefined;
  } finally {
    closeSync(fd);
  }
  return header.readUInt32BE(12);
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

/**
 * Four seconds of writes that never pause for long, as a busy server's, once the worker has taken
 * over: how often the WAL started again meanwhile. The event loop only turns between writes, for
 * the worker's messages and the watcher. One row, rewritten: the WAL grows by a frame or two per
 * commit, the database file not at all.
 */
async function steadyWrites(options: CheckpointOptions) {
  const { file, store, repos } = await openWith(options);
  const automaticPages = async () =>
    Number(Object.values((await sql`pragma wal_autocheckpoint`.execute(store.db)).rows[0] as object)[0]);
  let writes = 0;
  const write = async (until: () => boolean | Promise<boolean>) => {
    while (!(await until())) {
      for (let i = 0; i < 20; i++, writes++) {
        await repos.tenants.upsertTenant(
          { slug: 'wal-steady', display_name: `W${writes}`, settings: '{}', updated_at: T },
          T,
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  try {
    // Until the worker takes over, SQLite's automatic checkpoints start the WAL again every
    // 1,000 pages; only what happens after counts.
    const takeOver = Date.now() + 5000;
    await write(async () => (await automaticPages()) === 0 || Date.now() > takeOver);
    assert.equal(await automaticPages(), 0, 'the worker took over');
    const seen = new Set<number>();
    const look = () => {
      const restarts = walRestarts(file);
      if (restarts !== undefined) seen.add(restarts);
    };
    look();
    const watcher = setInterval(look, 50);
    const before = writes;
    const until = Date.now() + 4000;
    try {
      await write(() => Date.now() > until);
    } finally {
      clearInterval(watcher);
    }
    look();
    return { restarts: seen.size - 1, writes: writes - before, size: statSync(`${file}-wal`).size };
  } finally {
    await store.close();
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

  test('under steady writes the WAL starts again every second, instead of growing while they last', async () => {
    // The server finishes a checkpoint from 4,096 frames; a slow machine might write fewer than
    // that in a second, so here it finishes every one the worker makes.
    const { restarts, writes, size } = await steadyWrites({ finishFrames: 1 });
    assert.ok(
      restarts >= 2,
      `the WAL started again ${restarts} times in ${writes} writes (file: ${size} bytes)`,
    );
  });

  test('when the server cannot finish a checkpoint (another process writes between), the worker forces the start again', async () => {
    const { restarts, writes, size } = await steadyWrites({ finishFrames: Infinity, restartFrames: 1 });
    assert.ok(
      restarts >= 2,
      `the WAL started again ${restarts} times in ${writes} writes (file: ${size} bytes)`,
    );
  });

  test('with neither, the WAL grows while the writes last: the two tests above can tell', async () => {
    const { restarts, size } = await steadyWrites({ finishFrames: Infinity, restartFrames: Infinity });
    assert.ok(restarts <= 1, `the WAL started again ${restarts} times (file: ${size} bytes)`);
  });

  test('a WAL file that grew past its limit is cut back to it when the WAL starts again', async () => {
    const limit = 256 * 1024;
    const { file, store, repos } = await openWith(false, limit);
    const walSize = () => statSync(`${file}-wal`).size;
    const write = (slug: string, filler: number) =>
      repos.tenants.upsertTenant(
        { slug, display_name: 'W', settings: JSON.stringify({ filler: 'x'.repeat(filler) }), updated_at: T },
        T,
      );
    try {
      // Two commits of 3 MB: the second takes the WAL past SQLite's automatic checkpoint
      // (1,000 pages), which copies every frame into the database file.
      await write('wal-big-1', 3_000_000);
      await write('wal-big-2', 3_000_000);
      const grown = walSize();
      assert.ok(grown > 20 * limit, `the WAL file grew to ${grown} bytes`);
      // The next commit starts the WAL again from its beginning.
      await write('wal-small', 10);
      assert.ok(walSize() <= limit, `the WAL file is ${walSize()} bytes, grown ${grown}, limit ${limit}`);
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
