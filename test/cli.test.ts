// The `vakt` command as an operator runs it: a child process (`node bin/vakt.js …`) with
// DATABASE_URL / VAKT_DATA_DIR in its environment, on SQLite and PostgreSQL.
// Pins: `migrate` brings a fresh database up to date; `apply` is idempotent (the same file twice
// reports unchanged and 0 added/updated/removed); bad configuration exits 2 naming the field
// path; `users create` reads the password from stdin (one trailing newline is the pipe's) and
// refuses a taken or invalid identifier with a clear message; `keys rotate` adds keys while the
// old ones stay published; usage errors exit 2 with the usage text. Nothing prints a stack trace.
// Each process costs about two seconds (tsx + the whole server's imports), so the commands that
// never open the database (bad config, usage errors) run once, concurrently, not per database.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { createCore } from '../src/composition.js';
import { loadSettings } from '../src/config/settings.js';
import { databaseKinds, type TestDatabase } from './helpers/databases.js';
import { type VaktRun, runVakt as vakt } from './helpers/process.js';

type Run = VaktRun;

const STACK_TRACE = /\n\s+at /;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function expectClean(run: Run, what: string): void {
  assert.doesNotMatch(run.stderr, STACK_TRACE, `${what} printed a stack trace:\n${run.stderr}`);
}

function expectExit(run: Run, code: number, what: string): void {
  assert.equal(run.code, code, `${what} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  expectClean(run, what);
}

const CONFIG = {
  tenants: [
    {
      slug: 'acme',
      displayName: 'Acme',
      defaultCountry: 'NO',
      clients: [
        {
          id: 'web',
          name: 'Acme Web',
          secret: 'cli-test-secret-0123456789-0123456789',
          redirectUris: ['https://web.acme.test/callback'],
          firstParty: true,
        },
        { id: 'app', redirectUris: ['https://app.acme.test/callback'] },
      ],
    },
  ],
};

// The groups below run side by side (the machine has two cores; each group mostly waits on its
// child process); within a database's group the steps run in order, each building on the last.
describe('vakt CLI', { concurrency: true }, () => {
  describe('what it refuses before opening a database', { concurrency: true }, () => {
    let dir: string;
    let env: Record<string, string>;

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'vakt-cli-'));
      // A database that must never be created: none of these commands gets that far.
      env = { DATABASE_URL: join(dir, 'never.db'), VAKT_DATA_DIR: join(dir, 'data') };
    });

    after(() => {
      assert.equal(existsSync(env.DATABASE_URL!), false, 'no command opened the database');
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('a bad config exits 2 and names every failing field path', async () => {
      const config = structuredClone(CONFIG) as typeof CONFIG & {
        tenants: { clients: Record<string, unknown>[] }[];
      };
      config.tenants[0]!.clients[0]!.redirectUris = ['not a url'];
      config.tenants[0]!.clients[1]!.colour = 'blue';
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, stringify(config));
      const run = await vakt(['apply', file], env);
      expectExit(run, 2, 'vakt apply bad.yaml');
      assert.match(run.stderr, /configuration error/);
      assert.ok(run.stderr.includes('tenants[acme].clients[web].redirectUris[0]'), run.stderr);
      assert.match(
        run.stderr,
        /tenants\[acme\]\.clients\[app\][^\n]*colour/,
        'the unknown key and where it is',
      );
      assert.equal(run.stdout, '');
    });

    test('a bad VAKT_HASH_CONCURRENCY or VAKT_HASH_QUEUE stops start-up with the variable named', async () => {
      for (const [name, value] of [
        ['VAKT_HASH_CONCURRENCY', '0'],
        ['VAKT_HASH_CONCURRENCY', 'all'],
        ['VAKT_HASH_QUEUE', '-1'],
        ['VAKT_HASH_QUEUE', '1.5'],
      ] as const) {
        const run = await vakt(['start'], { ...env, [name]: value });
        expectExit(run, 2, `vakt start with ${name}=${value}`);
        assert.match(run.stderr, new RegExp(`environment variable ${name}`));
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
      }
    });

    test('an unknown command exits 2 with the usage', async () => {
      const run = await vakt(['frobnicate'], env);
      expectExit(run, 2, 'vakt frobnicate');
      assert.match(run.stderr, /unknown command "frobnicate"/);
      assert.match(run.stderr, /Usage: vakt <command>/);
    });

    test('a missing --tenant exits 2 with the usage', async () => {
      const run = await vakt(['keys', 'list'], env);
      expectExit(run, 2, 'vakt keys list');
      assert.match(run.stderr, /--tenant is required/);
      assert.match(run.stderr, /Usage: vakt <command>/);
    });
  });

  for (const kind of databaseKinds) {
    describe(`on ${kind.name}`, { skip: kind.skip, concurrency: false }, () => {
      let database: TestDatabase;
      let dir: string;
      let env: Record<string, string>;
      let configFile: string;

      before(async () => {
        database = await kind.create();
        dir = mkdtempSync(join(tmpdir(), 'vakt-cli-'));
        env = { DATABASE_URL: database.url, VAKT_DATA_DIR: join(dir, 'data') };
        configFile = join(dir, 'vakt.yaml');
        writeFileSync(configFile, stringify(CONFIG));
      });

      after(async () => {
        await database?.drop();
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      test('vakt migrate brings a fresh database up to date', async () => {
        const run = await vakt(['migrate'], env);
        expectExit(run, 0, 'vakt migrate');
        assert.match(run.stdout, /applied: 0001_foundation, 0002_one_time_codes/);
      });

      test('vakt apply reports created, and the same file again changes nothing', async () => {
        const first = await vakt(['apply', configFile], env);
        expectExit(first, 0, 'first vakt apply');
        assert.match(first.stdout, /tenant acme: created; clients added 2, updated 0, removed 0/);

        const second = await vakt(['apply', configFile], env);
        expectExit(second, 0, 'second vakt apply');
        assert.match(second.stdout, /tenant acme: unchanged; clients added 0, updated 0, removed 0/);
      });

      // Accounts and keys are independent of each other: both run once the tenant exists.
      describe('once the tenant exists', { concurrency: true }, () => {
        test('users create: stdin password, then a taken e-mail and an invalid phone are refused clearly', async () => {
          const password = 'correct horse 🔑 battery';
          const created = await vakt(
            ['users', 'create', '--tenant', 'acme', '--email', 'a@b.no', '--password-stdin'],
            env,
            `${password}\n`,
          );
          expectExit(created, 0, 'users create');
          const id = created.stdout.trim();
          assert.match(id, UUID);

          const [taken, badPhone] = await Promise.all([
            vakt(
              ['users', 'create', '--tenant', 'acme', '--email', ' A@B.no', '--password-stdin'],
              env,
              'other\n',
            ),
            vakt(
              ['users', 'create', '--tenant', 'acme', '--phone', '12345', '--password-stdin'],
              env,
              'other\n',
            ),
          ]);
          assert.notEqual(taken.code, 0, 'the same e-mail (normalised) twice');
          expectClean(taken, 'users create with a taken e-mail');
          assert.match(taken.stderr, /already belongs to another account/);
          assert.equal(taken.stdout, '');
          assert.notEqual(badPhone.code, 0, 'an invalid phone');
          expectClean(badPhone, 'users create with an invalid phone');
          assert.match(badPhone.stderr, /not a valid phone number/);
          assert.equal(badPhone.stdout, '');

          // The password is what was piped in, without the pipe's newline.
          const core = createCore(
            loadSettings('test', {
              VAKT_SECRET: 'x'.repeat(32),
              DATABASE_URL: database.url,
              VAKT_DATA_DIR: dir,
            }),
            { poolSize: 1 },
          );
          try {
            assert.deepEqual(await core.accounts.verifyPasswordLogin('acme', 'NO', 'a@b.no', password), {
              ok: true,
              value: { accountId: id },
            });
          } finally {
            await core.close();
          }
        });

        test('vakt keys rotate adds two keys; the two old ones stay published', async () => {
          const rotated = await vakt(['keys', 'rotate', '--tenant', 'acme'], env);
          expectExit(rotated, 0, 'keys rotate');
          const newKids = /new signing keys for acme: (.+)$/m.exec(rotated.stdout)?.[1]?.split(', ') ?? [];
          assert.equal(newKids.length, 2, rotated.stdout);

          const listed = await vakt(['keys', 'list', '--tenant', 'acme'], env);
          expectExit(listed, 0, 'keys list');
          const rows = listed.stdout
            .trim()
            .split('\n')
            .map((line) => line.split('\t'));
          assert.equal(rows.length, 4, listed.stdout);
          const kids = rows.map(([kid]) => kid);
          for (const kid of newKids) assert.ok(kids.includes(kid), `new key ${kid} is listed`);
          assert.deepEqual(rows.map(([, alg]) => alg).sort(), ['ES256', 'ES256', 'RS256', 'RS256']);
          // Signing uses the first key of an algorithm: the new one comes before the old one.
          const firstOf = (alg: string) => rows.find((r) => r[1] === alg)?.[0];
          assert.ok(firstOf('RS256') && newKids.includes(firstOf('RS256')!), 'the new RS256 key signs');
          assert.ok(firstOf('ES256') && newKids.includes(firstOf('ES256')!), 'the new ES256 key signs');
        });
      });
    });
  }
});
