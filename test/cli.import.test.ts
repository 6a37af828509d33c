// `vakt users import FILE --tenant T` as an operator runs it (a child process) on SQLite and
// PostgreSQL, against the database a running vakt serves, and then the imported people logging in
// over HTTP through the hosted login page.
// Pins: a file with any bad line imports nothing and names every bad line with its number (exit
// 2); an unknown tenant exits 2 with a clear message; the same file twice creates, then skips
// every account and says which identifier exists; imported e-mail addresses are stored unverified,
// phone numbers only verified with "phonesVerified": true; account.created is audited; accounts
// with a bcrypt, passlib PBKDF2-SHA256, Django PBKDF2-SHA256 or older-parameter argon2id hash
// log in with their password (303 back to the client) and not with a wrong one (401), and the
// first successful login leaves argon2id at the current parameters, with which the same password
// logs in again. Every legacy hash is made here, with bcryptjs and node:crypto.
// Logging in with an imported (unverified) e-mail address is another flow's test.
import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { createPasswordHasher, OWASP_ARGON2 } from '../src/domain/passwords.js';
import { databaseKinds, type TestDatabase } from './helpers/databases.js';
import { formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { type VaktRun, runVakt as vakt } from './helpers/process.js';
import { RP, type RunningVakt, randomPassword, startVakt, TEST_SECRET } from './helpers/vakt.js';

type Run = VaktRun;

const TENANT = 'acme';
const STACK_TRACE = /\n\s+at /;
const CURRENT_ARGON2ID = `$argon2id$v=19$m=${OWASP_ARGON2.memoryCost},t=${OWASP_ARGON2.timeCost},p=${OWASP_ARGON2.parallelism}$`;

function expectExit(run: Run, code: number, what: string): void {
  assert.equal(run.code, code, `${what} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  assert.doesNotMatch(run.stderr, STACK_TRACE, `${what} printed a stack trace:\n${run.stderr}`);
}

function jsonLines(lines: (string | Record<string, unknown>)[]): string {
  return `${lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n')}\n`;
}

// The legacy hashes, made the way the systems that wrote them do.

/** passlib's pbkdf2_sha256: `$pbkdf2-sha256$rounds$salt$hash`, salt and hash in ab64 (base64, "." for "+", no "="). */
function passlibPbkdf2Sha256(password: string, rounds = 29000): string {
  const ab64 = (bytes: Buffer) => bytes.toString('base64').replaceAll('+', '.').replace(/=+$/, '');
  const salt = randomBytes(16);
  const hash = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, rounds, 32, 'sha256');
  return `$pbkdf2-sha256$${rounds}$${ab64(salt)}$${ab64(hash)}`;
}

/** Django's PBKDF2PasswordHasher: `pbkdf2_sha256$iterations$salt$hash`, a text salt, standard base64. */
function djangoPbkdf2Sha256(password: string, iterations = 100_000): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const salt = Array.from({ length: 22 }, () => alphabet[randomInt(alphabet.length)]).join('');
  const hash = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'utf8'), iterations, 32, 'sha256');
  return `pbkdf2_sha256$${iterations}$${salt}$${hash.toString('base64')}`;
}

for (const kind of databaseKinds) {
  describe(`vakt users import on ${kind.name}`, { skip: kind.skip, concurrency: false }, () => {
    let database: TestDatabase;
    let running: RunningVakt;
    let dir: string;
    let env: Record<string, string>;

    before(async () => {
      database = await kind.create();
      // The server creates the schema and the tenant (default country NO); the CLI shares its
      // database and its secret (client secrets are encrypted with it).
      running = await startVakt(kind, { database });
      dir = mkdtempSync(join(tmpdir(), 'vakt-import-'));
      env = { DATABASE_URL: database.url, VAKT_DATA_DIR: join(dir, 'data'), VAKT_SECRET: TEST_SECRET };
    });

    after(async () => {
      await running?.stop();
      await database?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    function file(name: string, content: string): string {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    }

    async function identifierRow(kind: 'email' | 'phone', value: string) {
      return running.vakt.store.db
        .selectFrom('identifiers')
        .selectAll()
        .where('tenant_slug', '=', TENANT)
        .where('kind', '=', kind)
        .where('value', '=', value)
        .executeTakeFirst();
    }

    test('a file with bad lines imports nothing and names every bad line with its number (exit 2)', async () => {
      const path = file(
        'bad.jsonl',
        jsonLines([
          '# customers, exported from the old shop', // 1: a comment
          { phones: ['+47 912 34 601'], phonesVerified: true, name: 'Good Line' }, // 2: fine on its own
          '', // 3: blank
          { emails: ['ok@example.com'], colour: 'blue' }, // 4
          { emails: ['ola@example.com'], phones: ['12345'] }, // 5
          'this is not json', // 6
          { emails: ['md5@example.com'], passwordHash: '5f4dcc3b5aa765d61d8327deb882cf99' }, // 7: MD5
          { phones: ['912 34 601'] }, // 8: line 2's number, written another way
          { name: 'No Identifier' }, // 9
          { emails: ['not-an-email'] }, // 10
          { emails: 'single@example.com' }, // 11
          { phones: ['+4791234602'], passwordHash: passlibPbkdf2Sha256('pw', 999) }, // 12: too few rounds
          { emails: ['twice@example.com', 'TWICE@example.com'] }, // 13
        ]),
      );
      const accountsBefore = await running.vakt.repos.accounts.countAccounts(TENANT);
      const run = await vakt(['users', 'import', path, '--tenant', TENANT], env);
      expectExit(run, 2, 'users import bad.jsonl');
      assert.equal(run.stdout, '');
      const expected = [
        'line 4: colour: unknown field',
        'line 5: phones[0]: not a valid mobile number',
        'line 6: not JSON',
        'line 7: passwordHash: not a supported password hash',
        'line 8: phones[0]: +4791234601 is also on line 2',
        'line 9: no identifier',
        'line 10: emails[0]: not a valid email address',
        'line 11: emails: expected array',
        'line 12: passwordHash: not a supported password hash',
        'line 13: emails[1]: twice@example.com is also emails[0]',
      ];
      for (const text of expected) assert.ok(run.stderr.includes(text), `"${text}" in:\n${run.stderr}`);
      const reported = [...run.stderr.matchAll(/^line (\d+):/gm)].map((m) => Number(m[1]));
      assert.deepEqual([...new Set(reported)], [4, 5, 6, 7, 8, 9, 10, 11, 12, 13], 'no other line is blamed');
      assert.match(run.stderr, /nothing imported, 10 bad lines/);

      assert.equal(await running.vakt.repos.accounts.countAccounts(TENANT), accountsBefore);
      assert.equal(await identifierRow('phone', '+4791234601'), undefined, 'the good line was not imported');
    });

    test('an unknown tenant exits 2 with a clear message', async () => {
      const path = file('one.jsonl', jsonLines([{ emails: ['someone@example.com'] }]));
      const run = await vakt(['users', 'import', path, '--tenant', 'nope'], env);
      expectExit(run, 2, 'users import --tenant nope');
      assert.match(run.stderr, /no tenant "nope"/);
      assert.equal(await identifierRow('email', 'someone@example.com'), undefined);
    });

    describe('a customer file', () => {
      let path: string;

      before(() => {
        path = file(
          'people.jsonl',
          jsonLines([
            { emails: ['Kari.Nordmann@Example.com'], phones: ['+47 912 34 611'], name: 'Kari Nordmann' },
            {
              emails: ['ola@example.com'],
              phones: ['412 34 612'],
              phonesVerified: true,
              name: 'Ola Nordmann',
              locale: 'nb',
              passwordHash: bcrypt.hashSync(randomPassword(), 10),
            },
          ]),
        );
      });

      test('imported twice: the first run creates every account, the second skips each and names the identifier that exists', async () => {
        const first = await vakt(['users', 'import', path, '--tenant', TENANT], env);
        expectExit(first, 0, 'first users import');
        assert.match(first.stdout, /^created 2 accounts, skipped 0 \(already exist\)$/m);

        const second = await vakt(['users', 'import', path, '--tenant', TENANT], env);
        expectExit(second, 0, 'second users import');
        assert.match(second.stdout, /^created 0 accounts, skipped 2 \(already exist\):$/m);
        assert.match(second.stdout, /^ {2}line 1: kari\.nordmann@example\.com$/m);
        assert.match(second.stdout, /^ {2}line 2: ola@example\.com$/m);
      });

      test('e-mail addresses are stored unverified, phones verified only with phonesVerified, and account.created is audited', async () => {
        const kariEmail = await identifierRow('email', 'kari.nordmann@example.com');
        const kariPhone = await identifierRow('phone', '+4791234611');
        const olaEmail = await identifierRow('email', 'ola@example.com');
        const olaPhone = await identifierRow('phone', '+4741234612');
        for (const row of [kariEmail, kariPhone, olaEmail, olaPhone])
          assert.ok(row, 'every identifier stored');
        assert.equal(kariEmail!.account_id, kariPhone!.account_id);
        assert.equal(olaEmail!.account_id, olaPhone!.account_id);

        assert.equal(kariEmail!.verified_at, null, 'an imported e-mail address is unverified');
        assert.equal(kariPhone!.verified_at, null, 'a phone without phonesVerified is unverified');
        assert.equal(olaEmail!.verified_at, null, 'unverified even when the phones are verified');
        assert.notEqual(olaPhone!.verified_at, null, 'phonesVerified: true');

        const ola = await running.vakt.repos.accounts.findAccountById(TENANT, olaPhone!.account_id);
        assert.equal(ola?.name, 'Ola Nordmann');
        assert.equal(ola?.locale, 'nb');
        assert.match((await running.vakt.repos.accounts.findPasswordHash(ola!.id)) ?? '', /^\$2b\$10\$/);
        assert.equal(await running.vakt.repos.accounts.findPasswordHash(kariEmail!.account_id), undefined);

        const created = await running.vakt.repos.audit.listEvents(TENANT, { type: 'account.created' });
        const audited = new Set(created.map((e) => e.accountId));
        assert.ok(audited.has(kariEmail!.account_id) && audited.has(ola!.id), 'account.created for both');
        assert.equal(
          created.filter((e) => e.accountId === ola!.id).length,
          1,
          'the skipping run audited nothing',
        );
      });
    });

    describe('logging in with an imported password hash', () => {
      // Phone-only accounts with verified numbers, so logging in needs nothing but the password.
      const people = {
        bcrypt: { phone: '+4791234621', password: `${randomPassword()} blåbær` },
        passlib: { phone: '+4791234622', password: `${randomPassword()} ærfugl` },
        django: { phone: '+4791234623', password: `${randomPassword()} lètmein` },
        argon2id: { phone: '+4791234624', password: randomPassword() },
      };
      const imported: Record<keyof typeof people, string> = {
        bcrypt: '',
        passlib: '',
        django: '',
        argon2id: '',
      };

      before(async () => {
        imported.bcrypt = await bcrypt.hash(people.bcrypt.password, 10);
        imported.passlib = passlibPbkdf2Sha256(people.passlib.password);
        imported.django = djangoPbkdf2Sha256(people.django.password);
        // argon2id at weaker parameters than vakt's own: verified, then upgraded.
        imported.argon2id = await createPasswordHasher({
          memoryCost: 8192,
          timeCost: 3,
          parallelism: 1,
        }).hash(people.argon2id.password);
        assert.match(imported.bcrypt, /^\$2b\$10\$/);
        assert.match(imported.argon2id, /^\$argon2id\$v=19\$m=8192,t=3,p=1\$/);
        const path = file(
          'hashes.jsonl',
          jsonLines(
            Object.entries(people).map(([form, person]) => ({
              phones: [person.phone],
              phonesVerified: true,
              passwordHash: imported[form as keyof typeof people],
            })),
          ),
        );
        const run = await vakt(['users', 'import', path, '--tenant', TENANT], env);
        expectExit(run, 0, 'users import hashes.jsonl');
        assert.match(run.stdout, /^created 4 accounts, skipped 0/m);
      });

      function authorizeUrl(): string {
        const url = new URL(`${running.issuer}/auth`);
        const params = {
          client_id: 'web',
          response_type: 'code',
          scope: 'openid',
          redirect_uri: `${RP}/callback`,
          state: 'import-state',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        };
        for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
        return url.href;
      }

      /** Opens the login page in a fresh browser and submits it; returns the answer to the login. */
      async function logIn(identifier: string, password: string): Promise<Response> {
        const agent = new UserAgent();
        const page = await agent.follow(authorizeUrl(), running.url);
        assert.equal(page.status, 200, page.body.slice(0, 300));
        const action = new URL(formAction(page.body, '/login'), running.url).href;
        return agent.follow(action, running.url, {
          form: { csrf: formField(page.body, 'csrf'), identifier, password },
        });
      }

      async function expectBackAtClient(identifier: string, password: string, what: string) {
        const response = await logIn(identifier, password);
        assert.equal(response.status, 303, `${what}: ${response.status} ${response.body.slice(0, 300)}`);
        const callback = new URL(response.headers.get('location') ?? '', running.url);
        assert.equal(`${callback.origin}${callback.pathname}`, `${RP}/callback`, what);
        assert.ok(callback.searchParams.get('code'), `${what}: an authorization code`);
        assert.equal(callback.searchParams.get('state'), 'import-state');
      }

      async function expectRefused(identifier: string, password: string, what: string) {
        const response = await logIn(identifier, password);
        assert.equal(response.status, 401, `${what}: ${response.status} ${response.headers.get('location')}`);
      }

      async function storedHash(phone: string): Promise<string | undefined> {
        const id = await running.vakt.repos.accounts.findAccountIdByVerifiedIdentifier(
          TENANT,
          'phone',
          phone,
        );
        assert.ok(id, `an account for ${phone}`);
        return running.vakt.repos.accounts.findPasswordHash(id);
      }

      for (const [form, label] of [
        ['bcrypt', 'a bcrypt ($2b$) hash'],
        ['passlib', 'a passlib $pbkdf2-sha256$ hash'],
        ['django', 'a Django pbkdf2_sha256$ hash'],
        ['argon2id', 'an argon2id hash at older parameters'],
      ] as const) {
        test(`${label}: the password logs in (303 to the client), a wrong one is 401, and the stored hash becomes current argon2id`, async () => {
          const person = people[form];
          assert.equal(await storedHash(person.phone), imported[form], 'stored as imported');

          await expectRefused(person.phone, `${person.password}x`, 'a wrong password, legacy hash');
          assert.equal(await storedHash(person.phone), imported[form], 'a failed login changes nothing');

          // Typed as a person would, in the tenant's national format.
          const national = `${person.phone.slice(3, 6)} ${person.phone.slice(6, 8)} ${person.phone.slice(8)}`;
          await expectBackAtClient(national, person.password, 'the password, legacy hash');
          const upgraded = await storedHash(person.phone);
          assert.ok(upgraded?.startsWith(CURRENT_ARGON2ID), `upgraded to ${CURRENT_ARGON2ID}…: ${upgraded}`);

          await expectBackAtClient(person.phone, person.password, 'the same password, upgraded hash');
          await expectRefused(person.phone, `${person.password}x`, 'a wrong password, upgraded hash');
          assert.equal(await storedHash(person.phone), upgraded, 'upgraded once');
        });
      }
    });
  });
}
