// Accounts and password login through the domain services (createCore), on SQLite and PostgreSQL.
// Pins: every way of typing an identifier finds the same account (e-mail trimmed and
// lower-cased; a phone number with or without +47 / 0047 in a tenant whose default country is
// NO, and a foreign +46 number there too); a wrong password and an unknown identifier give the
// very same answer (ASVS 6.3.8; status/body equality over HTTP is tested elsewhere); any Unicode
// password round-trips and canonically equivalent forms (NFC/NFD) verify alike (ASVS 6.2.x);
// successful and failed logins are audited without the password (ASVS 16.3.1, 16.2.5).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Core, createCore } from '../src/composition.js';
import { loadSettings } from '../src/config/settings.js';
import { databaseKinds, type TestDatabase } from './helpers/databases.js';
import { TEST_SECRET, testTenant } from './helpers/vakt.js';

const TENANT = 'acme';
const COUNTRY = 'NO';
const INVALID = { ok: false, error: 'login.invalid_credentials' } as const;

for (const kind of databaseKinds) {
  describe(`accounts and password login on ${kind.name}`, { skip: kind.skip }, () => {
    let database: TestDatabase;
    let dataDir: string;
    let core: Core;

    before(async () => {
      database = await kind.create();
      dataDir = mkdtempSync(join(tmpdir(), 'vakt-data-'));
      const settings = loadSettings('test', {
        VAKT_SECRET: TEST_SECRET,
        DATABASE_URL: database.url,
        VAKT_DATA_DIR: dataDir,
      });
      core = createCore(settings, { poolSize: 2 });
      await core.migrate();
      await core.tenants.applyDeploymentConfig({
        tenants: [testTenant({ slug: TENANT, defaultCountry: COUNTRY })],
      });
    });

    after(async () => {
      await core?.close();
      await database?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    async function create(input: {
      emails?: string[];
      phones?: string[];
      password?: string;
      verified?: boolean;
    }) {
      return core.accounts.createAccount({
        tenant: TENANT,
        defaultCountry: COUNTRY,
        verified: true,
        ...input,
      });
    }

    async function createOk(input: Parameters<typeof create>[0]): Promise<string> {
      const result = await create(input);
      assert.ok(result.ok, `account not created: ${JSON.stringify(result)}`);
      return result.value.id;
    }

    const login = (identifier: string, password: string) =>
      core.accounts.verifyPasswordLogin(TENANT, COUNTRY, identifier, password);

    test('an e-mail address is stored trimmed and lower-cased, and found however it is typed', async () => {
      const id = await createOk({ emails: [' Kari@Example.COM '], password: 'kari-password' });
      const profile = await core.accounts.findAccountProfile(TENANT, id);
      assert.deepEqual(profile?.emails, [{ value: 'kari@example.com', verified: true }]);
      for (const typed of ['kari@example.com', 'KARI@EXAMPLE.COM', '  Kari@Example.com\t']) {
        assert.deepEqual(await login(typed, 'kari-password'), { ok: true, value: { accountId: id } }, typed);
      }
      assert.deepEqual(await create({ emails: ['KARI@example.com'] }), {
        ok: false,
        error: 'identifier.taken',
      });
    });

    test('912 34 567, +47 91234567 and 0047 91234567 are one number in a tenant whose default country is NO', async () => {
      const id = await createOk({ phones: ['912 34 567'], password: 'phone-password' });
      assert.deepEqual((await core.accounts.findAccountProfile(TENANT, id))?.phones, [
        { value: '+4791234567', verified: true },
      ]);
      for (const typed of ['+47 91234567', '0047 91234567']) {
        assert.deepEqual(await create({ phones: [typed] }), { ok: false, error: 'identifier.taken' }, typed);
      }
      for (const typed of ['912 34 567', '91234567', '+47 91234567', '0047 91234567', '+47 912 34 567']) {
        assert.deepEqual(await login(typed, 'phone-password'), { ok: true, value: { accountId: id } }, typed);
      }
    });

    test('a Swedish +46 number works in the Norwegian tenant', async () => {
      const id = await createOk({ phones: ['+46 70 123 45 67'], password: 'svensk-lösenord' });
      assert.deepEqual((await core.accounts.findAccountProfile(TENANT, id))?.phones, [
        { value: '+46701234567', verified: true },
      ]);
      for (const typed of ['+46 70 123 45 67', '0046 70-123 45 67', '+46701234567']) {
        assert.deepEqual(
          await login(typed, 'svensk-lösenord'),
          { ok: true, value: { accountId: id } },
          typed,
        );
      }
      assert.deepEqual(await create({ phones: ['0046701234567'] }), { ok: false, error: 'identifier.taken' });
    });

    test('invalid identifiers are refused at creation, and nothing is written', async () => {
      assert.deepEqual(await create({ emails: ['not an e-mail'] }), {
        ok: false,
        error: 'identifier.email_invalid',
      });
      assert.deepEqual(await create({ phones: ['12'] }), { ok: false, error: 'identifier.phone_invalid' });
      // Control characters are no part of an address (a NUL byte also broke PostgreSQL's text).
      for (const email of ['ola\u0000@example.com', 'ola@exam\u0007ple.com', 'ola@example.c\u0000om']) {
        assert.deepEqual(await create({ emails: [email] }), { ok: false, error: 'identifier.email_invalid' });
      }
      // Nor are invisible format characters: each of these looks like ola@example.com.
      for (const email of [
        'ola\u200b@example.com',
        'o\u202ela@example.com',
        'ola@exa\u00admple.com',
        'ola@exa\ufeffmple.com',
      ]) {
        assert.deepEqual(
          await create({ emails: [email] }),
          { ok: false, error: 'identifier.email_invalid' },
          escape(email),
        );
      }
      assert.deepEqual(await create({ emails: [] }), { ok: false, error: 'request.invalid' });
      // A valid e-mail with an invalid phone: the whole account is refused.
      assert.deepEqual(await create({ emails: ['half@example.com'], phones: ['+47 123'] }), {
        ok: false,
        error: 'identifier.phone_invalid',
      });
      assert.equal(
        await core.repos.accounts.findAccountIdByVerifiedIdentifier(TENANT, 'email', 'half@example.com'),
        undefined,
      );
    });

    test('any verified identifier logs in; a wrong password and an unknown identifier get the same answer (ASVS 6.3.8)', async () => {
      const id = await createOk({
        emails: ['both@example.com'],
        phones: ['+47 41 23 45 67'],
        password: 'both-password',
      });
      assert.deepEqual(await login('both@example.com', 'both-password'), {
        ok: true,
        value: { accountId: id },
      });
      assert.deepEqual(await login('41 23 45 67', 'both-password'), { ok: true, value: { accountId: id } });

      const wrongPassword = await login('both@example.com', 'Both-password');
      const unknownEmail = await login('nobody@example.com', 'both-password');
      const unknownPhone = await login('+47 99 99 99 99', 'both-password');
      const notAnIdentifier = await login('neither', 'both-password');
      const emptyPassword = await login('both@example.com', '');
      for (const answer of [wrongPassword, unknownEmail, unknownPhone, notAnIdentifier, emptyPassword]) {
        assert.deepEqual(answer, INVALID);
      }
    });

    // An operator's import leaves identifiers unproved: the right password does not finish the
    // login but names the identifier to prove with a code; a wrong one says no more than usual.
    test('an unverified identifier: the right password asks for proof of it, a wrong one is the usual failure', async () => {
      const id = await createOk({
        emails: ['unverified@example.com'],
        password: 'unverified-password',
        verified: false,
      });
      const result = await login('unverified@example.com', 'unverified-password');
      assert.ok(result.ok);
      assert.equal(result.value.accountId, id);
      assert.equal(result.value.toVerify?.kind, 'email');
      assert.equal(result.value.toVerify?.value, 'unverified@example.com');
      assert.deepEqual(await login('unverified@example.com', 'wrong-password'), INVALID);
    });

    test('any Unicode password round-trips; NFC and NFD forms of the same text both verify', async () => {
      const unicode = 'pässwörd 🔑 with spaces';
      const id = await createOk({ emails: ['unicode@example.com'], password: unicode });
      assert.deepEqual(await login('unicode@example.com', unicode), { ok: true, value: { accountId: id } });
      assert.deepEqual(
        await login('unicode@example.com', unicode.trim().replace(/ /g, '')),
        INVALID,
        'spaces are part of the password',
      );
      assert.deepEqual(
        await login('unicode@example.com', 'pässwörd 🔑 with spaces '),
        INVALID,
        'nothing is trimmed',
      );

      const nfc = 'caf\u00e9 au lait';
      const nfd = 'cafe\u0301 au lait';
      assert.notEqual(nfc, nfd);
      assert.equal(nfc, nfd.normalize('NFC'));
      const composed = await createOk({ emails: ['nfc@example.com'], password: nfc });
      const decomposed = await createOk({ emails: ['nfd@example.com'], password: nfd });
      for (const typed of [nfc, nfd]) {
        assert.deepEqual(await login('nfc@example.com', typed), { ok: true, value: { accountId: composed } });
        assert.deepEqual(await login('nfd@example.com', typed), {
          ok: true,
          value: { accountId: decomposed },
        });
      }
      assert.deepEqual(await login('nfc@example.com', 'cafe au lait'), INVALID, 'the accent still matters');
    });

    test('logins are audited: login.succeeded and login.failed, with the account when known, never the password (ASVS 16.3.1)', async () => {
      const password = 'audited-secret-pw';
      const id = await createOk({ emails: ['audit@example.com'], password });
      assert.deepEqual(
        (await core.repos.audit.listEvents(TENANT, { accountId: id })).map((e) => e.type),
        ['account.created'],
      );

      await login('audit@example.com', password);
      await login('audit@example.com', 'not-the-audited-secret');
      await login('audit-unknown@example.com', password);

      const events = await core.repos.audit.listEvents(TENANT, { accountId: id });
      assert.deepEqual(
        events.map((e) => [e.type, e.detail]),
        [
          ['account.created', undefined],
          ['login.succeeded', { method: 'password' }],
          ['login.failed', { reason: 'wrong_password' }],
        ],
      );
      const unknown = (await core.repos.audit.listEvents(TENANT, { type: 'login.failed' })).filter(
        (e) => e.accountId === null,
      );
      assert.ok(
        unknown.some((e) => e.detail?.reason === 'unknown_identifier'),
        'a failed login for an unknown identifier is audited too',
      );
      for (const event of await core.repos.audit.listEvents(TENANT)) {
        assert.ok(event.at > 0 && event.tenant === TENANT);
        const text = JSON.stringify(event);
        assert.ok(
          !text.includes(password) && !text.includes('not-the-audited-secret'),
          `a password in the audit trail: ${text}`,
        );
      }
    });
  });
}
