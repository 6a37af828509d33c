// Several processes applying one configuration at the same moment, as `vakt start --config F`
// does in every process of a deployment that starts together (or a CLI run beside a server).
// CI once failed when two processes raced on a new SQLite file; this pins the rest of that
// path. A barrier makes the processes meet: the test holds the database's write lock (SQLite)
// or a lock on the tenants table (PostgreSQL) while three `vakt apply` processes start, and
// lets them all go at once when they have arrived. Before the fixes it pinned, SQLite failed
// one process with "database is locked" (a deferred transaction's stale read), and PostgreSQL
// had all three report the same two clients as added, or as updated with a re-encrypted secret.
// Cites: ARCHITECTURE "Scaling out" (stateless processes on one database).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { stringify } from 'yaml';
import { databaseKinds, type TestDatabase } from './helpers/databases.js';
import { runVakt } from './helpers/process.js';

const CONFIG = {
  tenants: [
    {
      slug: 'acme',
      displayName: 'Acme',
      defaultCountry: 'NO',
      clients: [
        {
          id: 'web',
          secret: 'concurrent-apply-secret-0123456789',
          redirectUris: ['https://web.acme.test/cb'],
        },
        { id: 'app', redirectUris: ['https://app.acme.test/cb'] },
      ],
    },
  ],
};

interface Barrier {
  /** Resolves once `count` processes are held at the barrier (or have given up waiting). */
  reached(count: number): Promise<void>;
  release(): Promise<void>;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Processes (other than this one) that have `file` open, read from /proc. */
function processesWithOpen(file: string): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSafe(`/proc/${pid}/fd/${fd}`) === file))
        count++;
    } catch {
      // gone, or not ours to read
    }
  }
  return count;
}

function readlinkSafe(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

async function holdBarrier(kind: string, url: string): Promise<Barrier> {
  if (kind === 'sqlite') {
    const sqlite = new SQLite(url);
    sqlite.prepare('begin immediate').run();
    return {
      // A process opens the file, then within milliseconds reads the clients and asks for the
      // write lock, which it waits for up to busy_timeout (5 s). Processes load at different
      // speeds, so the barrier opens when all have arrived or 3 s after the first did.
      async reached(count) {
        await waitFor(`a process to open ${url}`, () => processesWithOpen(url) >= 1);
        const first = Date.now();
        await waitFor(
          `${count} processes to open ${url}`,
          () => processesWithOpen(url) >= count || Date.now() - first > 3000,
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
      },
      async release() {
        sqlite.prepare('commit').run();
        sqlite.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('begin');
  await client.query('lock table tenants in access exclusive mode');
  const watcher = new pg.Client({ connectionString: url });
  await watcher.connect();
  return {
    async reached(count) {
      await waitFor(`${count} sessions to wait on the tenants table`, async () => {
        const { rows } = await watcher.query<{ n: string }>(
          `select count(*) as n from pg_locks where not granted and relation = 'tenants'::regclass`,
        );
        return Number(rows[0]?.n) >= count;
      });
    },
    async release() {
      await client.query('commit');
      await client.end();
      await watcher.end();
    },
  };
}

for (const kind of databaseKinds) {
  describe(`three vakt apply processes at once on ${kind.name}`, { skip: kind.skip }, () => {
    let database: TestDatabase;
    let dir: string;
    let env: Record<string, string>;
    let configFile: string;

    before(async () => {
      database = await kind.create();
      dir = mkdtempSync(join(tmpdir(), 'vakt-apply-'));
      env = { DATABASE_URL: database.url, VAKT_DATA_DIR: join(dir, 'data') };
      // The tenant (and its keys) exist already, without clients: what the four processes
      // write first is then the clients, inside the transaction that read them just before.
      const tenantOnly = join(dir, 'tenant.yaml');
      writeFileSync(tenantOnly, stringify({ tenants: [{ ...CONFIG.tenants[0], clients: [] }] }));
      const first = await runVakt(['apply', tenantOnly], env);
      assert.equal(first.code, 0, first.stderr);
      configFile = join(dir, 'vakt.yaml');
      writeFileSync(configFile, stringify(CONFIG));
    });

    after(async () => {
      await database?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('all three succeed, and the database holds the configuration once', async () => {
      const barrier = await holdBarrier(kind.name, database.url);
      const runs = Array.from({ length: 3 }, () => runVakt(['apply', configFile], env));
      await barrier.reached(runs.length);
      await barrier.release();
      const results = await Promise.all(runs);
      for (const run of results) {
        assert.equal(run.code, 0, `vakt apply exited ${run.code}: ${run.stderr}`);
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      }
      const added = results.filter((r) => /clients added 2, updated 0, removed 0/.test(r.stdout));
      const unchanged = results.filter((r) => /clients added 0, updated 0, removed 0/.test(r.stdout));
      assert.equal(added.length, 1, results.map((r) => r.stdout).join('\n'));
      assert.equal(unchanged.length, 2, results.map((r) => r.stdout).join('\n'));

      const again = await runVakt(['apply', configFile], env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /tenant acme: unchanged; clients added 0, updated 0, removed 0/);
      const keys = await runVakt(['keys', 'list', '--tenant', 'acme'], env);
      assert.equal(keys.code, 0, keys.stderr);
      const algs = keys.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t')[1]);
      assert.deepEqual(algs.sort(), ['ES256', 'RS256'], `one key per algorithm:\n${keys.stdout}`);
    });
  });
}
