// The `vakt` command speaks the operator's language: Norwegian Bokmål, Swedish or English, chosen
// as POSIX programs choose (the first non-empty of LC_ALL, LC_MESSAGES and LANG; nb, no and nn
// read as Bokmål; anything else, C and POSIX included, as English). Seen through the real
// command (a child process, as an operator runs it): a usage error and the lines of
// `users disable|delete|import` with their counts, in each language, on SQLite and PostgreSQL.
// Expected texts come from the CLI catalogue, and a few literal Norwegian and Swedish words make
// sure the catalogue is not English under another name. The catalogues themselves: the same
// keys and placeholders in every language, nb and sv translated, a one and an other form for
// every count.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { en } from '../src/cli/messages/en.js';
import { cliCatalogues, cliLocale, cliTranslator } from '../src/cli/messages/index.js';
import { nb } from '../src/cli/messages/nb.js';
import { sv } from '../src/cli/messages/sv.js';
import { databaseKinds } from './helpers/databases.js';
import { UserAgent } from './helpers/http-client.js';
import { authorizationUrl, logInThroughPage } from './helpers/login.js';
import { runVakt, type VaktRun } from './helpers/process.js';
import {
  createEmailAccounts,
  type RunningVakt,
  randomPassword,
  startVakt,
  TEST_SECRET,
} from './helpers/vakt.js';

const NB = { LANG: 'nb_NO.UTF-8' };
const SV_OVER_NB = { LC_ALL: 'sv_SE.UTF-8', LANG: 'nb_NO.UTF-8' };
const C = { LANG: 'C' };
const STACK_TRACE = /\n\s+at /;

const nbT = cliTranslator('nb');
const svT = cliTranslator('sv');
const enT = cliTranslator('en');

/** Runs `vakt <args>`; oidc-provider's own warning on Node 20 is not the command's. */
async function vakt(args: string[], env: Record<string, string>, stdin?: string): Promise<VaktRun> {
  const run = await runVakt(args, env, stdin);
  assert.doesNotMatch(run.stderr, STACK_TRACE, `vakt ${args.join(' ')}:\n${run.stderr}`);
  return { ...run, stderr: run.stderr.replace(/^oidc-provider WARNING: .*\n/m, '') };
}

function expectExit(run: VaktRun, code: number): void {
  assert.equal(run.code, code, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('the CLI catalogue', () => {
  test('the language: LC_ALL, then LC_MESSAGES, then LANG; nb/no/nn, sv, else English', () => {
    const cases: [Record<string, string | undefined>, string][] = [
      [{}, 'en'],
      [{ LANG: 'C' }, 'en'],
      [{ LANG: 'POSIX' }, 'en'],
      [{ LANG: 'C.UTF-8' }, 'en'],
      [{ LANG: 'en_GB.UTF-8' }, 'en'],
      [{ LANG: 'de_DE.UTF-8' }, 'en'],
      [{ LANG: 'nl_NL.UTF-8' }, 'en'],
      [{ LANG: 'nb_NO.UTF-8' }, 'nb'],
      [{ LANG: 'no_NO' }, 'nb'],
      [{ LANG: 'nn_NO.UTF-8' }, 'nb'],
      [{ LANG: 'nb' }, 'nb'],
      [{ LANG: 'sv_SE.UTF-8' }, 'sv'],
      [{ LANG: 'sv_FI@euro' }, 'sv'],
      [{ LC_ALL: 'sv_SE.UTF-8', LC_MESSAGES: 'en_US.UTF-8', LANG: 'nb_NO.UTF-8' }, 'sv'],
      [{ LC_ALL: 'C', LANG: 'nb_NO.UTF-8' }, 'en'],
      [{ LC_MESSAGES: 'sv_SE.UTF-8', LANG: 'nb_NO.UTF-8' }, 'sv'],
      // Empty is unset: the next one decides.
      [{ LC_ALL: '', LC_MESSAGES: '', LANG: 'nb_NO.UTF-8' }, 'nb'],
      [{ LC_ALL: '', LC_MESSAGES: 'sv_SE', LANG: 'C' }, 'sv'],
    ];
    for (const [env, expected] of cases) assert.equal(cliLocale(env), expected, JSON.stringify(env));
  });

  test('nb, sv and en have the same keys and placeholders, none empty', () => {
    const keys = Object.keys(en).sort();
    for (const [locale, catalogue] of Object.entries(cliCatalogues)) {
      assert.deepEqual(Object.keys(catalogue).sort(), keys, locale);
      for (const key of keys) {
        const text = (catalogue as Record<string, string>)[key]!;
        assert.ok(text.trim(), `${locale}: ${key} is empty`);
        assert.deepEqual(placeholders(text), placeholders(en[key as keyof typeof en]), `${locale}: ${key}`);
      }
    }
  });

  test('Norwegian and Swedish sentences are translated, not copied from English', () => {
    for (const [locale, catalogue] of Object.entries({ nb, sv })) {
      const copied = Object.entries(en).filter(
        ([key, text]) => /\s/.test(text) && catalogue[key as keyof typeof en] === text,
      );
      assert.deepEqual(
        copied.map(([key]) => key),
        [],
        `untranslated in ${locale}`,
      );
    }
    assert.match(Object.values(nb).join('\n'), /[æøå]/);
    assert.match(Object.values(sv).join('\n'), /[åäö]/);
  });

  test('a count picks the one or the other form in each language', () => {
    assert.equal(nbT.plural('users.sessions_ended', 1), '1 økt avsluttet');
    assert.equal(nbT.plural('users.sessions_ended', 2), '2 økter avsluttet');
    assert.equal(nbT.plural('users.sessions_ended', 0), '0 økter avsluttet');
    assert.equal(svT.plural('users.sessions_ended', 1), '1 session avslutad');
    assert.equal(svT.plural('users.sessions_ended', 2), '2 sessioner avslutade');
    assert.equal(enT.plural('users.sessions_ended', 1), '1 session ended');
    assert.equal(enT.plural('users.sessions_ended', 0), '0 sessions ended');
  });
});

describe('the vakt command in the operator’s language', { concurrency: true }, () => {
  describe('before opening a database', { concurrency: true }, () => {
    let dir: string;
    let env: Record<string, string>;

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'vakt-cli-locale-'));
      env = { DATABASE_URL: join(dir, 'never.db'), VAKT_DATA_DIR: join(dir, 'data') };
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('LANG=nb_NO.UTF-8: a usage error and the usage in Norwegian', async () => {
      const run = await vakt(['frobnicate'], { ...env, ...NB });
      expectExit(run, 2);
      assert.equal(
        run.stderr,
        `vakt: ${nbT.t('usage.unknown_command', { command: 'frobnicate' })}\n\n${nb.usage}\n`,
      );
      assert.match(run.stderr, /ukjent kommando «frobnicate»/);
      assert.match(run.stderr, /^Bruk: vakt <kommando> \[valg\]$/m);
      assert.match(run.stderr, /Kommandoer:/);
    });

    test('LC_ALL=sv_SE.UTF-8 wins over LANG=nb_NO.UTF-8: Swedish', async () => {
      const run = await vakt(['keys', 'list'], { ...env, ...SV_OVER_NB });
      expectExit(run, 2);
      assert.equal(run.stderr, `vakt: ${sv['usage.tenant_required']}\n\n${sv.usage}\n`);
      assert.match(run.stderr, /--tenant måste anges/);
      assert.match(run.stderr, /^Användning: vakt <kommando> \[flaggor\]$/m);
    });

    test('LANG=C: English', async () => {
      const run = await vakt(['frobnicate'], { ...env, ...C });
      expectExit(run, 2);
      assert.equal(run.stderr, `vakt: unknown command "frobnicate"\n\n${en.usage}\n`);
      assert.match(run.stderr, /^Usage: vakt <command> \[options\]$/m);
    });

    test('an option Node refuses is named in the operator’s language', async () => {
      const run = await vakt(['users', 'disable', '--tenant'], { ...env, ...NB });
      expectExit(run, 2);
      assert.ok(
        run.stderr.startsWith(`vakt: ${nbT.t('usage.option_needs_value', { option: '--tenant' })}\n`),
        run.stderr,
      );
      assert.match(run.stderr, /valget --tenant trenger en verdi/);
    });
  });

  for (const kind of databaseKinds) {
    describe(`users disable, delete and import on ${kind.name}`, {
      skip: kind.skip,
      concurrency: false,
    }, () => {
      let running: RunningVakt;
      let env: Record<string, string>;
      let dir: string;
      const password = randomPassword();
      let ids: Record<string, string> = {};

      before(async () => {
        running = await startVakt(kind);
        ids = await createEmailAccounts(
          running,
          ['kari@example.com', 'ola@example.com', 'per@example.com'].map(
            (email) => [email, { password }] as const,
          ),
        );
        dir = mkdtempSync(join(tmpdir(), 'vakt-cli-locale-'));
        // The command acts on the server's database, and names the server's issuer in logout tokens.
        env = {
          DATABASE_URL: running.database.url,
          VAKT_SECRET: TEST_SECRET,
          VAKT_PUBLIC_URL: running.url,
          VAKT_DATA_DIR: join(dir, 'data'),
        };
      });
      after(async () => {
        await running?.stop();
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      /** Logs `email` in through the hosted page in a browser of its own: one session. */
      async function logIn(email: string): Promise<void> {
        await logInThroughPage(new UserAgent(), authorizationUrl(running.issuer), {
          identifier: email,
          password,
        });
      }

      test('LANG=nb_NO.UTF-8: users disable says what it did in Norwegian, 1 økt, 0 økter', async () => {
        const id = ids['kari@example.com']!;
        await logIn('kari@example.com');
        const first = await vakt(['users', 'disable', '--tenant', 'acme', 'kari@example.com'], {
          ...env,
          ...NB,
        });
        expectExit(first, 0);
        assert.equal(
          first.stdout,
          `${nbT.t('users.disabled', { id, ended: nbT.plural('users.sessions_ended', 1) })}\n`,
        );
        assert.equal(first.stdout, `${id} er deaktivert; 1 økt avsluttet\n`);

        const again = await vakt(['users', 'disable', '--tenant', 'acme', id], { ...env, ...NB });
        expectExit(again, 0);
        assert.equal(
          again.stdout,
          `${nbT.t('users.already_disabled', { id, ended: nbT.plural('users.sessions_ended', 0) })}\n`,
        );
        assert.match(again.stdout, /var allerede deaktivert; 0 økter avsluttet/);
      });

      test('LANG=nb_NO.UTF-8: an unknown tenant is a usage error in Norwegian', async () => {
        const run = await vakt(['users', 'disable', '--tenant', 'nope', 'kari@example.com'], {
          ...env,
          ...NB,
        });
        expectExit(run, 2);
        assert.equal(run.stderr, `vakt: ${nbT.t('usage.no_tenant', { tenant: 'nope' })}\n\n${nb.usage}\n`);
        assert.match(run.stderr, /ingen leietaker «nope»/);
      });

      test('LANG=nb_NO.UTF-8: users import counts accounts in Norwegian', async () => {
        const file = join(dir, 'customers.jsonl');
        writeFileSync(
          file,
          [
            { emails: ['anne@example.com'] },
            { emails: ['nils@example.com'] },
            { emails: ['per@example.com'] },
          ]
            .map((line) => JSON.stringify(line))
            .join('\n'),
        );
        const run = await vakt(['users', 'import', file, '--tenant', 'acme'], { ...env, ...NB });
        expectExit(run, 0);
        assert.equal(
          run.stdout,
          `${nbT.plural('users.imported', 2, { skipped: 1 })}:\n  ${nbT.t('users.line', { line: 3, text: 'per@example.com' })}\n`,
        );
        assert.match(run.stdout, /^opprettet 2 kontoer, hoppet over 1 \(finnes fra før\):$/m);
        assert.match(run.stdout, /^ {2}linje 3: per@example\.com$/m);
      });

      test('LC_ALL=sv_SE.UTF-8 and LANG=nb_NO.UTF-8: users delete speaks Swedish, 2 sessioner', async () => {
        const id = ids['ola@example.com']!;
        await logIn('ola@example.com');
        await logIn('ola@example.com');
        const run = await vakt(['users', 'delete', '--tenant', 'acme', 'ola@example.com'], {
          ...env,
          ...SV_OVER_NB,
        });
        expectExit(run, 0);
        assert.equal(
          run.stdout,
          `${svT.t('users.deleted', { id, ended: svT.plural('users.sessions_ended', 2) })}\n`,
        );
        assert.equal(run.stdout, `${id} är raderat; 2 sessioner avslutade\n`);

        const gone = await vakt(['users', 'delete', '--tenant', 'acme', 'ola@example.com'], {
          ...env,
          ...SV_OVER_NB,
        });
        expectExit(gone, 1);
        assert.equal(
          gone.stderr,
          `vakt: ${svT.t('users.no_account', { tenant: 'acme', account: 'ola@example.com' })}\n`,
        );
        assert.match(gone.stderr, /har inget konto ”ola@example\.com”/);
      });

      test('LANG=C: users disable in English', async () => {
        const id = ids['per@example.com']!;
        await logIn('per@example.com');
        const run = await vakt(['users', 'disable', '--tenant', 'acme', 'per@example.com'], { ...env, ...C });
        expectExit(run, 0);
        assert.equal(
          run.stdout,
          `${enT.t('users.disabled', { id, ended: enT.plural('users.sessions_ended', 1) })}\n`,
        );
        assert.equal(run.stdout, `${id} disabled; 1 session ended\n`);
      });
    });
  }
});
