// The repository contract (src/store): what every repository promises, checked through its
// public functions on SQLite and PostgreSQL alike, so the two dialects cannot drift apart.
// Pins: idempotent tenant/client application and a state version that moves when a client or
// key changes (other processes reload on it); an account is written whole or not at all
// ("nothing half-written"); an identifier is unique within a tenant but not across tenants,
// and only a verified identifier finds an account; expired OIDC rows are invisible at once and
// then deleted; retired signing keys stay published until unpublish_at; the audit trail is
// append-only and tenant-scoped; migrations are idempotent.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { createManualClock } from '../src/domain/clock.js';
import { createAdapterClass } from '../src/oidc/adapter.js';
import { LOCK_SPACE, lockForTransaction } from '../src/store/database.js';
import {
  createRepositories,
  migrateTo,
  migrateToLatest,
  openStore,
  type Repositories,
  type Store,
} from '../src/store/index.js';
import { precompile } from '../src/store/precompiled.js';
import type { AccountTable, IdentifierTable, OidcModelTable, SigningKeyTable } from '../src/store/schema.js';
import { databaseKinds, type TestDatabase } from './helpers/databases.js';

// Fixed epoch-millisecond timestamps: nothing here depends on the wall clock or on sleeping.
const T = 1_700_000_000_000;

/** Every migration, in order: a fresh database gets all of them. */
const ALL_MIGRATIONS = [
  '0001_foundation',
  '0002_one_time_codes',
  '0003_code_limits',
  '0004_login_throttles',
  '0005_code_places',
  '0006_oidc_partial_indexes',
  '0007_guess_functions',
  '0008_code_spent',
];

for (const kind of databaseKinds) {
  describe(`repository contract on ${kind.name}`, { skip: kind.skip }, () => {
    let database: TestDatabase;
    let store: Store;
    let repos: Repositories;
    let firstMigration: string[];

    const migrate = () => migrateToLatest(store.db as unknown as Kysely<unknown>, store.dialect);

    async function tenant(slug: string): Promise<string> {
      await repos.tenants.upsertTenant({ slug, display_name: slug, settings: '{}', updated_at: T }, T);
      return slug;
    }

    before(async () => {
      database = await kind.create();
      store = openStore(database.url, { poolSize: 2 });
      repos = createRepositories(store);
      firstMigration = await migrate();
    });

    after(async () => {
      await store?.close();
      await database?.drop();
    });

    test('migrateToLatest applies the schema once; a second run is a no-op', async () => {
      assert.deepEqual(firstMigration, ALL_MIGRATIONS);
      assert.deepEqual(await migrate(), []);
      assert.deepEqual(await repos.tenants.listTenants(), [], 'a second run does not touch data either');
    });

    // Processes started together on a new database each migrate it. On SQLite Kysely takes no
    // lock, and CI once saw the second process fail with 'table "tenants" already exists'.
    // Four stores are four connections, as four processes would hold.
    test('four connections migrating one new database at once: each migration runs once, none fails', async () => {
      const fresh = await kind.create();
      const stores = Array.from({ length: 4 }, () => openStore(fresh.url, { poolSize: 1 }));
      try {
        const results = await Promise.allSettled(
          stores.map((s) => migrateToLatest(s.db as unknown as Kysely<unknown>, s.dialect)),
        );
        const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
        assert.deepEqual(failures, []);
        const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
        assert.deepEqual(applied.sort(), [...ALL_MIGRATIONS].sort(), 'every migration applied exactly once');
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        await fresh.drop();
      }
    });

    // Kysely's Migrator looks for vakt_migrations(_lock) in every schema unless told which, so a
    // second deployment (or test run) in its own schema of the same PostgreSQL database took the
    // first one's tables for its own and failed; migrateToLatest now names the current schema.
    test('migrateToLatest works in a schema of a database where another schema already holds vakt', {
      skip: kind.name !== 'postgres' && 'only PostgreSQL has schemas',
    }, async () => {
      const second = await kind.create();
      const secondStore = openStore(second.url, { poolSize: 2 });
      try {
        const migrateSecond = () =>
          migrateToLatest(secondStore.db as unknown as Kysely<unknown>, secondStore.dialect);
        assert.deepEqual(await migrateSecond(), ALL_MIGRATIONS);
        assert.deepEqual(await migrateSecond(), []);
        assert.deepEqual(await migrate(), [], 'the first schema is untouched');
      } finally {
        await secondStore.close();
        await second.drop();
      }
    });

    describe('tenants', () => {
      test('upsertTenant: created, then unchanged for the same content, then updated', async () => {
        const row = {
          slug: 'upsert',
          display_name: 'Upsert AS',
          settings: '{"defaultCountry":"NO"}',
          updated_at: T,
        };
        assert.equal(await repos.tenants.upsertTenant(row, T), 'created');
        // A later timestamp alone is not a change: applying the same file twice changes nothing.
        assert.equal(
          await repos.tenants.upsertTenant({ ...row, updated_at: T + 1000 }, T + 1000),
          'unchanged',
        );
        const unchanged = await repos.tenants.findTenant('upsert');
        assert.equal(unchanged?.updated_at, T, 'an unchanged tenant keeps its updated_at');

        assert.equal(
          await repos.tenants.upsertTenant(
            { ...row, settings: '{"defaultCountry":"SE"}', updated_at: T + 2000 },
            T + 2000,
          ),
          'updated',
        );
        assert.equal(
          await repos.tenants.upsertTenant(
            { ...row, display_name: 'Renamed', settings: '{"defaultCountry":"SE"}', updated_at: T + 3000 },
            T + 3000,
          ),
          'updated',
        );
        const stored = await repos.tenants.findTenant('upsert');
        assert.deepEqual(stored, {
          slug: 'upsert',
          display_name: 'Renamed',
          settings: '{"defaultCountry":"SE"}',
          created_at: T,
          updated_at: T + 3000,
        });
        assert.equal(await repos.tenants.findTenant('no-such-tenant'), undefined);
      });

      test('listTenants is ordered by slug', async () => {
        await tenant('zz-last');
        await tenant('aa-first');
        const slugs = (await repos.tenants.listTenants()).map((t) => t.slug);
        assert.deepEqual(slugs, [...slugs].sort());
        assert.ok(slugs.includes('aa-first') && slugs.includes('zz-last'));
      });

      test('replaceClients makes the client list exactly the rows given: add, update, remove', async () => {
        const slug = await tenant('clients');
        const other = await tenant('clients-other');
        await repos.tenants.replaceClients(other, [
          { client_id: 'a', settings: '{}', secret_encrypted: null, updated_at: T },
        ]);

        const a = { client_id: 'a', settings: '{"v":1}', secret_encrypted: null, updated_at: T };
        const b = { client_id: 'b', settings: '{"v":1}', secret_encrypted: 'enc-b', updated_at: T };
        assert.deepEqual(await repos.tenants.replaceClients(slug, [a, b]), {
          added: ['a', 'b'],
          updated: [],
          removed: [],
        });
        assert.deepEqual(
          await repos.tenants.replaceClients(slug, [
            { ...a, updated_at: T + 1 },
            { ...b, updated_at: T + 1 },
          ]),
          { added: [], updated: [], removed: [] },
          'the same rows again change nothing',
        );
        const changes = await repos.tenants.replaceClients(slug, [
          { ...a, settings: '{"v":2}', updated_at: T + 2 },
          { client_id: 'c', settings: '{}', secret_encrypted: null, updated_at: T + 2 },
        ]);
        assert.deepEqual(changes, { added: ['c'], updated: ['a'], removed: ['b'] });
        assert.deepEqual(await repos.tenants.listClients(slug), [
          {
            tenant_slug: slug,
            client_id: 'a',
            settings: '{"v":2}',
            secret_encrypted: null,
            updated_at: T + 2,
          },
          { tenant_slug: slug, client_id: 'c', settings: '{}', secret_encrypted: null, updated_at: T + 2 },
        ]);
        // A changed secret alone is a change.
        assert.deepEqual(
          await repos.tenants.replaceClients(slug, [
            { ...a, settings: '{"v":2}', secret_encrypted: 'enc-a', updated_at: T + 3 },
            { client_id: 'c', settings: '{}', secret_encrypted: null, updated_at: T + 3 },
          ]),
          { added: [], updated: ['a'], removed: [] },
        );
        assert.deepEqual(await repos.tenants.replaceClients(slug, []), {
          added: [],
          updated: [],
          removed: ['a', 'c'],
        });
        assert.deepEqual(await repos.tenants.listClients(slug), []);
        // Another tenant's client with the same id was never touched.
        assert.deepEqual(
          (await repos.tenants.listClients(other)).map((c) => c.client_id),
          ['a'],
        );
      });

      test('readStateVersion changes when a client or a signing key changes, and only then', async () => {
        const slug = await tenant('state');
        const client = {
          client_id: 'web',
          settings: '{"v":1}',
          secret_encrypted: null,
          updated_at: T + 10_000,
        };
        await repos.tenants.replaceClients(slug, [client]);
        const v1 = await repos.tenants.readStateVersion();
        assert.equal(await repos.tenants.readStateVersion(), v1, 'stable while nothing changes');

        await repos.tenants.replaceClients(slug, [{ ...client, updated_at: T + 10_001 }]);
        assert.equal(
          await repos.tenants.readStateVersion(),
          v1,
          'an unchanged apply does not force a reload',
        );

        await repos.tenants.replaceClients(slug, [
          { ...client, settings: '{"v":2}', updated_at: T + 10_002 },
        ]);
        const v2 = await repos.tenants.readStateVersion();
        assert.notEqual(v2, v1, 'a client update');

        await repos.tenants.replaceClients(slug, [
          { ...client, settings: '{"v":2}', updated_at: T + 10_002 },
          { client_id: 'app', settings: '{}', secret_encrypted: null, updated_at: T + 10_003 },
        ]);
        const v3 = await repos.tenants.readStateVersion();
        assert.notEqual(v3, v2, 'a client added');

        await repos.tenants.replaceClients(slug, [
          { ...client, settings: '{"v":2}', updated_at: T + 10_004 },
        ]);
        const v4 = await repos.tenants.readStateVersion();
        assert.notEqual(v4, v3, 'a client removed');

        await repos.signingKeys.insertKey(key(slug, 'state-k1', 'RS256', 1, T + 10_005));
        const v5 = await repos.tenants.readStateVersion();
        assert.notEqual(v5, v4, 'a key added');

        await repos.signingKeys.insertKey(key(slug, 'state-k2', 'RS256', 2, T + 10_006));
        const v6a = await repos.tenants.readStateVersion();
        assert.notEqual(v6a, v5, 'a key added by rotation');
        await repos.signingKeys.retireOlderKeys(slug, 'RS256', 2, T + 10_006, T + 20_000);
        const v6 = await repos.tenants.readStateVersion();
        assert.notEqual(v6, v6a, 'a key retired');

        await repos.tenants.upsertTenant(
          { slug, display_name: 'State renamed', settings: '{}', updated_at: T + 10_007 },
          T + 10_007,
        );
        assert.notEqual(await repos.tenants.readStateVersion(), v6, 'the tenant itself changed');
      });
    });

    describe('accounts', () => {
      let n = 0;
      function newAccount(
        slug: string,
        identifiers: { kind: 'email' | 'phone'; value: string; verified?: boolean }[],
      ) {
        n += 1;
        const id = `${kind.name}-account-${n}`;
        const account: AccountTable = {
          id,
          tenant_slug: slug,
          status: 'active',
          name: null,
          given_name: null,
          family_name: null,
          locale: null,
          created_at: T,
          updated_at: T,
        };
        const rows: IdentifierTable[] = identifiers.map((identifier, index) => ({
          id: `${id}-identifier-${index}`,
          tenant_slug: slug,
          account_id: id,
          kind: identifier.kind,
          value: identifier.value,
          verified_at: identifier.verified === false ? null : T,
          created_at: T + index,
        }));
        const password = {
          id: `${id}-password`,
          account_id: id,
          kind: 'password' as const,
          secret_hash: `hash-${id}`,
          created_at: T,
          updated_at: T,
        };
        return { id, input: { account, identifiers: rows, password } };
      }

      test('insertAccount writes the account, its identifiers and its password', async () => {
        const slug = await tenant('acc-basic');
        const { id, input } = newAccount(slug, [
          { kind: 'email', value: 'kari@example.com' },
          { kind: 'phone', value: '+4791234567' },
        ]);
        assert.equal(await repos.accounts.insertAccount(input), 'created');
        assert.deepEqual(await repos.accounts.findAccountById(slug, id), input.account);
        assert.equal(
          await repos.accounts.findAccountById('acc-other', id),
          undefined,
          'an account is found only in its tenant',
        );
        assert.deepEqual(await repos.accounts.listIdentifiers(id), input.identifiers);
        assert.equal(await repos.accounts.findPasswordHash(id), `hash-${id}`);
        await repos.accounts.updatePasswordHash(id, 'rehashed', T + 5);
        assert.equal(await repos.accounts.findPasswordHash(id), 'rehashed');
        assert.equal(await repos.accounts.countAccounts(slug), 1);
      });

      test('findAccountWithIdentifiers: the account and its identifiers in one answer, in the order they were added', async () => {
        const slug = await tenant('acc-joined');
        const { id, input } = newAccount(slug, [
          { kind: 'phone', value: '+4791234568' },
          { kind: 'email', value: 'joined@example.com', verified: false },
          { kind: 'email', value: 'second@example.com' },
        ]);
        assert.equal(await repos.accounts.insertAccount(input), 'created');
        assert.deepEqual(await repos.accounts.findAccountWithIdentifiers(slug, id), {
          account: input.account,
          identifiers: input.identifiers,
        });
        assert.equal(
          await repos.accounts.findAccountWithIdentifiers('acc-other', id),
          undefined,
          'only in its tenant',
        );
        assert.equal(await repos.accounts.findAccountWithIdentifiers(slug, 'no-such-account'), undefined);

        const bare = newAccount(slug, []);
        assert.equal(await repos.accounts.insertAccount(bare.input), 'created');
        assert.deepEqual(await repos.accounts.findAccountWithIdentifiers(slug, bare.id), {
          account: bare.input.account,
          identifiers: [],
        });
      });

      test('findPasswordLogin: the typed identifier, all of its account, and the password hash, in one answer', async () => {
        const slug = await tenant('acc-login');
        const { id, input } = newAccount(slug, [
          { kind: 'email', value: 'login@example.com' },
          { kind: 'phone', value: '+4791234569', verified: false },
          { kind: 'email', value: 'other@example.com', verified: false },
        ]);
        assert.equal(await repos.accounts.insertAccount(input), 'created');
        for (const typed of input.identifiers) {
          assert.deepEqual(await repos.accounts.findPasswordLogin(slug, typed.kind, typed.value), {
            identifier: typed,
            identifiers: input.identifiers,
            status: 'active',
            passwordHash: `hash-${id}`,
          });
        }
        assert.equal(await repos.accounts.findPasswordLogin(slug, 'email', 'nobody@example.com'), undefined);
        assert.equal(
          await repos.accounts.findPasswordLogin('acc-other', 'email', 'login@example.com'),
          undefined,
        );

        const passwordless = newAccount(slug, [{ kind: 'email', value: 'nopassword@example.com' }]);
        const { password: _password, ...withoutPassword } = passwordless.input;
        assert.equal(await repos.accounts.insertAccount(withoutPassword), 'created');
        assert.deepEqual(await repos.accounts.findPasswordLogin(slug, 'email', 'nopassword@example.com'), {
          identifier: passwordless.input.identifiers[0],
          identifiers: passwordless.input.identifiers,
          status: 'active',
        });

        const disabled = newAccount(slug, [{ kind: 'email', value: 'disabled@example.com' }]);
        disabled.input.account.status = 'disabled';
        assert.equal(await repos.accounts.insertAccount(disabled.input), 'created');
        assert.equal(
          (await repos.accounts.findPasswordLogin(slug, 'email', 'disabled@example.com'))?.status,
          'disabled',
          'a disabled account is found, and says so',
        );
      });

      test('a taken second identifier leaves nothing half-written: no account, no first identifier, no password', async () => {
        const slug = await tenant('acc-atomic');
        const first = newAccount(slug, [{ kind: 'email', value: 'taken@example.com' }]);
        assert.equal(await repos.accounts.insertAccount(first.input), 'created');

        const second = newAccount(slug, [
          { kind: 'email', value: 'fresh@example.com' },
          { kind: 'email', value: 'taken@example.com' },
        ]);
        assert.equal(await repos.accounts.insertAccount(second.input), 'identifier_taken');
        assert.equal(await repos.accounts.findAccountById(slug, second.id), undefined, 'no account row');
        assert.deepEqual(await repos.accounts.listIdentifiers(second.id), [], 'no identifier rows');
        assert.equal(
          await repos.accounts.findAccountIdByVerifiedIdentifier(slug, 'email', 'fresh@example.com'),
          undefined,
        );
        assert.equal(await repos.accounts.findPasswordHash(second.id), undefined, 'no credential row');
        assert.equal(await repos.accounts.countAccounts(slug), 1);
        // The taken identifier still belongs to its first owner.
        assert.equal(
          await repos.accounts.findAccountIdByVerifiedIdentifier(slug, 'email', 'taken@example.com'),
          first.id,
        );

        // And the identifier that was rolled back is free to use.
        const third = newAccount(slug, [{ kind: 'email', value: 'fresh@example.com' }]);
        assert.equal(await repos.accounts.insertAccount(third.input), 'created');
      });

      test('an identifier is unique within a tenant, not across tenants', async () => {
        const one = await tenant('acc-one');
        const two = await tenant('acc-two');
        const a = newAccount(one, [{ kind: 'phone', value: '+4791234567' }]);
        const b = newAccount(two, [{ kind: 'phone', value: '+4791234567' }]);
        const c = newAccount(one, [{ kind: 'phone', value: '+4791234567' }]);
        assert.equal(await repos.accounts.insertAccount(a.input), 'created');
        assert.equal(
          await repos.accounts.insertAccount(b.input),
          'created',
          'the same number in another tenant',
        );
        assert.equal(
          await repos.accounts.insertAccount(c.input),
          'identifier_taken',
          'the same number in the same tenant',
        );
        assert.equal(
          await repos.accounts.findAccountIdByVerifiedIdentifier(one, 'phone', '+4791234567'),
          a.id,
        );
        assert.equal(
          await repos.accounts.findAccountIdByVerifiedIdentifier(two, 'phone', '+4791234567'),
          b.id,
        );
        // The same value as another kind is a different identifier.
        const d = newAccount(one, [{ kind: 'email', value: '+4791234567' }]);
        assert.equal(await repos.accounts.insertAccount(d.input), 'created');
      });

      test('findAccountIdByVerifiedIdentifier ignores unverified identifiers and disabled accounts', async () => {
        const slug = await tenant('acc-verified');
        const unverified = newAccount(slug, [
          { kind: 'email', value: 'unverified@example.com', verified: false },
          { kind: 'email', value: 'verified@example.com' },
        ]);
        assert.equal(await repos.accounts.insertAccount(unverified.input), 'created');
        assert.equal(
          await repos.accounts.findAccountIdByVerifiedIdentifier(slug, 'email', 'unverified@example.com'),
          undefined,
        );
        assert.equal(
          await repos.accounts.findAccountIdByVerifiedIdentifier(slug, 'email', 'verified@example.com'),
          unverified.id,
        );
        assert.equal(
          await repos.accounts.findAccountIdByVerifiedIdentifier(slug, 'phone', 'verified@example.com'),
          undefined,
          'kind matters',
        );
        assert.equal(
          await repos.accounts.findAccountIdByVerifiedIdentifier(slug, 'email', 'VERIFIED@example.com'),
          undefined,
          'values are stored normalised; the repository matches exactly',
        );

        const disabled = newAccount(slug, [{ kind: 'email', value: 'disabled@example.com' }]);
        disabled.input.account.status = 'disabled';
        assert.equal(await repos.accounts.insertAccount(disabled.input), 'created');
        assert.equal(
          await repos.accounts.findAccountIdByVerifiedIdentifier(slug, 'email', 'disabled@example.com'),
          undefined,
        );
      });

      test('setPasswordHash sets the password, lifts the failure lock (NIST: 100 failures, reset re-enables) and audits it, all or nothing', async () => {
        const slug = await tenant('acc-setpw');
        const { id, input } = newAccount(slug, [{ kind: 'email', value: 'setpw@example.com' }]);
        assert.equal(await repos.accounts.insertAccount(input), 'created');
        const lock = `account:${id}`;
        const locked = () => repos.throttles.find(slug, [lock]);
        const audited = async () =>
          (await repos.audit.listEvents(slug, { accountId: id })).map((e) => e.type);
        for (let i = 0; i < 3; i++) await repos.throttles.recordFailure(slug, lock, T + i, () => 0);
        assert.equal((await locked())[0]?.failures, 3);

        // The audit write refused by the database itself: the whole change is undone.
        const refuse =
          kind.name === 'sqlite'
            ? [
                sql`create trigger refuse_audit before insert on audit_events begin select raise(abort, 'refused'); end`,
              ]
            : [
                sql`create function refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`,
                sql`create trigger refuse_audit before insert on audit_events for each row execute function refuse_audit()`,
              ];
        for (const statement of refuse) await statement.execute(store.db);
        try {
          await assert.rejects(
            repos.accounts.setPasswordHash(id, 'hash-new', T + 10, {
              tenant: slug,
              auditType: 'password.reset',
            }),
          );
        } finally {
          await (kind.name === 'sqlite'
            ? sql`drop trigger refuse_audit`
            : sql`drop function refuse_audit() cascade`
          ).execute(store.db);
        }
        assert.equal(await repos.accounts.findPasswordHash(id), `hash-${id}`, 'the old password stays');
        assert.equal((await locked())[0]?.failures, 3, 'the lock stays');
        assert.deepEqual(await audited(), []);

        await repos.accounts.setPasswordHash(id, 'hash-new', T + 20, {
          tenant: slug,
          auditType: 'password.reset',
        });
        assert.equal(await repos.accounts.findPasswordHash(id), 'hash-new');
        assert.deepEqual(await locked(), [], 'a new password lifts the lock');
        assert.deepEqual(await audited(), ['password.reset']);
      });

      test('setPasswordHash with a code to spend sets the password once: a spent code writes nothing (ASVS 6.5.1)', async () => {
        const slug = await tenant('acc-spend');
        const { id, input } = newAccount(slug, [{ kind: 'email', value: 'spend@example.com' }]);
        assert.equal(await repos.accounts.insertAccount(input), 'created');
        await repos.codes.insertCode({
          id: 'code-spend',
          tenant_slug: slug,
          journey: 'journey-spend',
          purpose: 'recovery',
          kind: 'email',
          destination: 'spend@example.com',
          destination_country: null,
          code_hash: 'hash',
          attempts: 1,
          max_attempts: 5,
          payload_encrypted: null,
          ip: null,
          created_at: T,
          sent_at: T,
          expires_at: T + 600_000,
          consumed_at: T + 5,
          superseded_at: null,
          spent_at: null,
        });
        const record = { tenant: slug, auditType: 'password.reset', spendCode: 'code-spend' };
        const [first, second] = await Promise.all([
          repos.accounts.setPasswordHash(id, 'hash-first', T + 10, record),
          repos.accounts.setPasswordHash(id, 'hash-second', T + 10, record),
        ]);
        assert.deepEqual([first, second].sort(), [false, true], 'one of two at once');
        assert.equal(await repos.accounts.findPasswordHash(id), first ? 'hash-first' : 'hash-second');
        assert.equal(await repos.accounts.setPasswordHash(id, 'hash-later', T + 20, record), false);
        assert.equal(await repos.accounts.findPasswordHash(id), first ? 'hash-first' : 'hash-second');
        const events = await repos.audit.listEvents(slug, { accountId: id });
        assert.deepEqual(
          events.map((e) => e.type),
          ['password.reset'],
          'the refused ones audited nothing',
        );
      });

      test('setAccountStatus and deleteAccount change only that account, with its lock, and audit it', async () => {
        const slug = await tenant('acc-status');
        const { id: gone, input: goneInput } = newAccount(slug, [
          { kind: 'email', value: 'gone@example.com' },
        ]);
        const { id: stays, input: staysInput } = newAccount(slug, [
          { kind: 'email', value: 'stays@example.com' },
        ]);
        assert.equal(await repos.accounts.insertAccount(goneInput), 'created');
        assert.equal(await repos.accounts.insertAccount(staysInput), 'created');
        await repos.throttles.recordFailure(slug, `account:${gone}`, T, () => 0);
        await repos.throttles.recordFailure(slug, `account:${stays}`, T, () => 0);

        assert.equal(
          await repos.accounts.setAccountStatus(slug, gone, 'disabled', T + 1, 'account.disabled'),
          true,
        );
        const found = await repos.accounts.findAccountByIdentifier(slug, 'email', 'gone@example.com');
        assert.equal(found?.status, 'disabled');
        assert.equal(
          await repos.accounts.findIdentifier(slug, 'email', 'gone@example.com'),
          undefined,
          'login look-ups skip it',
        );
        assert.equal(await repos.accounts.setAccountStatus(slug, 'nobody', 'disabled', T + 1, 'x'), false);

        assert.equal(await repos.accounts.deleteAccount(slug, gone, T + 2), true);
        assert.equal(await repos.accounts.findAccountById(slug, gone), undefined);
        assert.deepEqual(await repos.accounts.listIdentifiers(gone), [], 'its identifiers went with it');
        assert.equal(await repos.accounts.findPasswordHash(gone), undefined, 'and its password');
        assert.deepEqual(await repos.throttles.find(slug, [`account:${gone}`]), [], 'and its failure lock');
        assert.equal(await repos.accounts.deleteAccount(slug, gone, T + 3), false, 'only once');
        assert.ok(await repos.accounts.findAccountById(slug, stays));
        assert.equal((await repos.throttles.find(slug, [`account:${stays}`]))[0]?.failures, 1);
        assert.deepEqual(
          (await repos.audit.listEvents(slug, { accountId: gone })).map((e) => e.type),
          ['account.disabled', 'account.deleted'],
          'the audit trail keeps the deleted account id',
        );
      });
    });

    test('precompile binds every argument as a parameter, and refuses a query that would ignore one', async () => {
      const { db } = store;
      const bySlug = precompile<{ slug: string }>(db, ['slug'], (a) =>
        db.selectFrom('tenants').select('slug').where('slug', '=', a.slug),
      );
      await tenant('precompiled');
      assert.deepEqual((await bySlug({ slug: 'precompiled' })).rows, [{ slug: 'precompiled' }]);
      assert.deepEqual((await bySlug({ slug: 'absent' })).rows, []);
      assert.throws(
        () =>
          precompile<{ slug: string; unused: string }>(db, ['slug', 'unused'], (a) =>
            db.selectFrom('tenants').select('slug').where('slug', '=', a.slug),
          ),
        /does not take unused/,
      );
    });

    // On SQLite a precompiled query skips Kysely's connection queue when no transaction is open.
    // While one is open it must wait for it: run inside it, a rollback would take it along.
    test("a precompiled write made while another transaction is open outlives that transaction's rollback", async () => {
      const { db } = store;
      const addTenant = precompile<{ slug: string; settings: string; at: number }>(
        db,
        ['slug', 'settings', 'at'],
        (a) =>
          db.insertInto('tenants').values({
            slug: a.slug,
            display_name: a.slug,
            settings: a.settings,
            created_at: a.at,
            updated_at: a.at,
          }),
      );
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => {
        entered = resolve;
      });
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const rolledBack = db.transaction().execute(async (trx) => {
        await trx
          .insertInto('tenants')
          .values({ slug: 'rolled-back', display_name: 'x', settings: '{}', created_at: T, updated_at: T })
          .execute();
        entered();
        await released;
        throw new Error('roll back');
      });
      await inside;
      const kept = addTenant({ slug: 'kept-apart', settings: '{}', at: T });
      release();
      await assert.rejects(rolledBack, /roll back/);
      await kept;
      const slugs = (await repos.tenants.listTenants()).map((t) => t.slug);
      assert.ok(slugs.includes('kept-apart'), 'the write outside the transaction stays');
      assert.ok(!slugs.includes('rolled-back'), 'the transaction was rolled back');
    });

    /**
     * A new database, migrated, holding tenant `slug` with one session (id s1, uid u1), and a
     * store on it with one connection; the caller closes the store and drops the database.
     */
    async function newDatabaseWithSession(slug: string) {
      const fresh = await kind.create();
      const store = openStore(fresh.url, { poolSize: 1 });
      const session: OidcModelTable = {
        tenant_slug: slug,
        model: 'Session',
        id: 's1',
        payload: `{"tenant":"${slug}"}`,
        grant_id: null,
        user_code: null,
        uid: 'u1',
        expires_at: null,
        consumed_at: null,
      };
      await migrateToLatest(store.db as unknown as Kysely<unknown>, store.dialect);
      const repositories = createRepositories(store);
      await repositories.tenants.upsertTenant({ slug, display_name: slug, settings: '{}', updated_at: T }, T);
      await repositories.oidcModels.upsertModel(session);
      return { fresh, store, models: repositories.oidcModels, session };
    }

    // Precompiled queries are prepared statements (PostgreSQL: named, once per connection). A
    // newer vakt's migration may add a column while an older process runs; its prepared
    // `select *` must go on answering. PostgreSQL failed it with "cached plan must not change
    // result type" before the fallback.
    test('a precompiled select * still answers after another process adds a column to its table', async () => {
      const { fresh, store, models, session } = await newDatabaseWithSession('upgrade');
      const upgrading = openStore(fresh.url, { poolSize: 1 });
      try {
        assert.deepEqual(await models.findModel('upgrade', 'Session', 's1', T), session);
        await sql`alter table oidc_models add column added_later text`.execute(upgrading.db);
        assert.equal((await models.findModel('upgrade', 'Session', 's1', T))?.payload, session.payload);
        assert.equal((await models.findModelByUid('upgrade', 'Session', 'u1', T))?.id, 's1');
      } finally {
        await store.close();
        await upgrading.close();
        await fresh.drop();
      }
    });

    // A deployment upgrades a database that holds sessions, grants and tokens. Migration 0006
    // rebuilt the uid and grant_id indexes as partial ones; whatever the rows written before it,
    // every lookup must find them after it. Upgrading from 0005 also covers the migrations
    // added later, each on data written at 0005.
    test('a database at 0005 holding sessions, interactions, grants and tokens upgrades and finds them all', async () => {
      const fresh = await kind.create();
      const old = openStore(fresh.url, { poolSize: 2 });
      const db = old.db as unknown as Kysely<unknown>;
      try {
        assert.deepEqual(await migrateTo(db, old.dialect, '0005_code_places'), ALL_MIGRATIONS.slice(0, 5));
        const indexes = async () => {
          const rows =
            old.dialect === 'postgres'
              ? await sql<{
                  name: string;
                  definition: string;
                }>`select indexname as name, indexdef as definition
                  from pg_indexes where schemaname = current_schema() and tablename = 'oidc_models'`.execute(
                  db,
                )
              : await sql<{ name: string; definition: string }>`select name, sql as definition
                  from sqlite_master where type = 'index' and tbl_name = 'oidc_models'`.execute(db);
          return Object.fromEntries(
            rows.rows
              .filter((r) => r.name === 'oidc_models_uid' || r.name === 'oidc_models_grant')
              .map((r) => [r.name, /\bwhere\b/i.test(r.definition) ? 'partial' : 'full']),
          );
        };
        assert.deepEqual(await indexes(), { oidc_models_uid: 'full', oidc_models_grant: 'full' }, 'at 0005');

        const repositories = createRepositories(old);
        await repositories.tenants.upsertTenant(
          { slug: 'upgraded', display_name: 'upgraded', settings: '{}', updated_at: T },
          T,
        );
        const accountId = '6f1c2a5e-1d2b-4c3d-8e9f-0a1b2c3d4e5f';
        const rows: OidcModelTable[] = [
          ['Session', 's1', { uid: 'session-uid' }],
          ['Interaction', 'i1', { uid: 'interaction-uid' }],
          ['Grant', 'g1', {}],
          ['AuthorizationCode', 'c1', { grant_id: 'g1', consumed_at: T }],
          ['AccessToken', 'at1', { grant_id: 'g1' }],
          ['RefreshToken', 'rt1', { grant_id: 'g1' }],
          ['RefreshToken', 'rt2', { grant_id: 'g2' }],
        ].map(([model, id, fields]) => ({
          tenant_slug: 'upgraded',
          model: model as string,
          id: id as string,
          payload: JSON.stringify({ accountId, kind: model }),
          grant_id: null,
          user_code: null,
          uid: null,
          expires_at: T + 3_600_000,
          consumed_at: null,
          ...(fields as Partial<OidcModelTable>),
        }));
        for (const row of rows) await repositories.oidcModels.upsertModel(row);

        assert.deepEqual(await migrateToLatest(db, old.dialect), ALL_MIGRATIONS.slice(5));
        assert.deepEqual(
          await indexes(),
          { oidc_models_uid: 'partial', oidc_models_grant: 'partial' },
          'at the latest',
        );

        // A process started after the upgrade, with its own connections and statements.
        const upgraded = openStore(fresh.url, { poolSize: 2 });
        try {
          const models = createRepositories(upgraded).oidcModels;
          for (const row of rows) {
            assert.deepEqual(
              await models.findModel('upgraded', row.model, row.id, T),
              row,
              `${row.model} ${row.id}`,
            );
          }
          assert.equal((await models.findModelByUid('upgraded', 'Session', 'session-uid', T))?.id, 's1');
          assert.equal(
            (await models.findModelByUid('upgraded', 'Interaction', 'interaction-uid', T))?.id,
            'i1',
          );
          assert.deepEqual(await models.listSessionIds('upgraded', accountId, T), ['s1']);
          await models.revokeModelsByGrantId('upgraded', 'g1');
          const left = [];
          for (const row of rows)
            if (await models.findModel('upgraded', row.model, row.id, T)) left.push(row.id);
          assert.deepEqual(left, ['s1', 'i1', 'g1', 'rt2'], "the grant's code and tokens went, nothing else");
          // Guesses are taken and given back (on PostgreSQL by the functions 0007 added).
          const throttles = createRepositories(upgraded).throttles;
          const rule = { firstWaitMs: 1000, maxWaitMs: 60_000, forgetAfterMs: 3_600_000 };
          const guess = [{ key: 'id:upgraded@example.com', free: 1 }];
          assert.equal(await throttles.takeGuess('upgraded', guess, T, rule), undefined);
          assert.equal(await throttles.takeGuess('upgraded', guess, T, rule), 1000, 'the 1st failure waits');
          await throttles.giveBack('upgraded', ['id:upgraded@example.com']);
          assert.deepEqual(await throttles.find('upgraded', ['id:upgraded@example.com']), []);
        } finally {
          await upgraded.close();
        }
      } finally {
        await old.close();
        await fresh.drop();
      }
    });

    // A pooler such as PgBouncer in transaction mode may give the next query another server
    // connection, where the statement node-postgres prepared does not exist. DEALLOCATE ALL on
    // the pool's one connection does the same to it.
    test('a precompiled query still answers when its prepared statement is gone from the connection', {
      skip: kind.name !== 'postgres' && 'only PostgreSQL prepares named statements',
    }, async () => {
      const { fresh, store, models } = await newDatabaseWithSession('pooled');
      try {
        assert.equal((await models.findModel('pooled', 'Session', 's1', T))?.uid, 'u1');
        await sql`deallocate all`.execute(store.db);
        assert.equal((await models.findModel('pooled', 'Session', 's1', T))?.uid, 'u1');
      } finally {
        await store.close();
        await fresh.drop();
      }
    });

    // ASVS 6.3.1: a guess's count is read and written under its key's lock. The functions of
    // migration 0007 must take the same lock as every transaction that changes the key (clear,
    // and a process of the version before, during an upgrade), or a change between a take's read
    // and its write is lost.
    test('the guess functions wait for a transaction holding the same key lock, and go on when it ends', {
      skip: kind.name !== 'postgres' && 'only PostgreSQL takes advisory locks',
    }, async () => {
      const { fresh, store } = await newDatabaseWithSession('locks');
      const other = openStore(fresh.url, { poolSize: 1 });
      try {
        const throttles = createRepositories(other).throttles;
        const rule = { firstWaitMs: 1000, maxWaitMs: 60_000, forgetAfterMs: 3_600_000 };
        const key = 'id:held@example.com';
        const calls: [string, () => Promise<unknown>][] = [
          ['take', () => throttles.takeGuess('locks', [{ key, free: 5 }], T, rule)],
          ['give back', () => throttles.giveBack('locks', [key])],
        ];
        for (const [name, call] of calls) {
          let lockHeld!: () => void;
          const held = new Promise<void>((resolve) => (lockHeld = resolve));
          let release!: () => void;
          const released = new Promise<void>((resolve) => (release = resolve));
          const holder = store.db.transaction().execute(async (trx) => {
            await lockForTransaction(trx, 'postgres', LOCK_SPACE.guessKeys, [`locks\n${key}`]);
            lockHeld();
            await released;
          });
          await held;
          let done = false;
          const calling = call().then(() => {
            done = true;
          });
          try {
            await new Promise((resolve) => setTimeout(resolve, 300));
            assert.equal(done, false, `the ${name} waits while the lock is held`);
          } finally {
            release();
            await holder;
          }
          await calling;
          assert.equal(done, true, `the ${name} goes on once the lock is released`);
        }
        assert.deepEqual(await throttles.find('locks', [key]), [], 'taken, then given back');
      } finally {
        await other.close();
        await store.close();
        await fresh.drop();
      }
    });

    // The other side of a pooler: the server connection vakt is handed already holds a prepared
    // statement of that name (another client session prepared it), so preparing it again fails
    // with 42P05. PREPARE under the same name, on a connection that never ran the query, does
    // the same to it.
    test('a precompiled query still answers when its statement name is already taken on the connection', {
      skip: kind.name !== 'postgres' && 'only PostgreSQL prepares named statements',
    }, async () => {
      const { fresh, store: first, models: firstModels, session } = await newDatabaseWithSession('taken');
      const second = openStore(fresh.url, { poolSize: 1 });
      try {
        assert.deepEqual(await firstModels.findModel('taken', 'Session', 's1', T), session);
        const prepared = await sql<{ name: string }>`select name from pg_prepared_statements
          where name like 'vakt\_%' and statement like '%from "oidc_models"%'`.execute(first.db);
        assert.ok(prepared.rows.length > 0, 'the first connection prepared named statements');
        for (const { name } of prepared.rows)
          await sql.raw(`prepare "${name}" as select 1`).execute(second.db);

        const models = createRepositories(second).oidcModels;
        assert.deepEqual(await models.findModel('taken', 'Session', 's1', T), session);
        assert.deepEqual(await models.findModel('taken', 'Session', 's1', T), session, 'and again');
        assert.equal((await models.findModelByUid('taken', 'Session', 'u1', T))?.id, 's1');
      } finally {
        await first.close();
        await second.close();
        await fresh.drop();
      }
    });

    describe('oidc models', () => {
      const row = (
        tenantSlug: string,
        model: string,
        id: string,
        fields: Partial<OidcModelTable> = {},
      ): OidcModelTable => ({
        tenant_slug: tenantSlug,
        model,
        id,
        payload: JSON.stringify({ id, model }),
        grant_id: null,
        user_code: null,
        uid: null,
        expires_at: T + 60_000,
        consumed_at: null,
        ...fields,
      });

      test('upsert, find, findByUid, findByUserCode, consume, destroy', async () => {
        const m = repos.oidcModels;
        await m.upsertModel(row('om', 'Session', 's1', { uid: 'uid-1' }));
        await m.upsertModel(row('om', 'DeviceCode', 'd1', { user_code: 'ABCD-EFGH' }));
        assert.equal(
          (await m.findModel('om', 'Session', 's1', T))?.payload,
          JSON.stringify({ id: 's1', model: 'Session' }),
        );
        assert.equal((await m.findModelByUid('om', 'Session', 'uid-1', T))?.id, 's1');
        assert.equal((await m.findModelByUserCode('om', 'DeviceCode', 'ABCD-EFGH', T))?.id, 'd1');
        assert.equal(
          await m.findModel('om', 'AccessToken', 's1', T),
          undefined,
          'the model name is part of the key',
        );
        assert.equal(
          await m.findModel('om-other', 'Session', 's1', T),
          undefined,
          'the tenant is part of the key',
        );

        // Upsert replaces the row in place.
        await m.upsertModel(row('om', 'Session', 's1', { uid: 'uid-2', payload: '{"v":2}' }));
        assert.equal((await m.findModel('om', 'Session', 's1', T))?.payload, '{"v":2}');
        assert.equal(await m.findModelByUid('om', 'Session', 'uid-1', T), undefined);
        assert.equal((await m.findModelByUid('om', 'Session', 'uid-2', T))?.id, 's1');

        await m.upsertModel(row('om', 'AuthorizationCode', 'c1'));
        assert.equal((await m.findModel('om', 'AuthorizationCode', 'c1', T))?.consumed_at, null);
        await m.consumeModel('om', 'AuthorizationCode', 'c1', T + 5000);
        assert.equal(
          (await m.findModel('om', 'AuthorizationCode', 'c1', T + 6000))?.consumed_at,
          T + 5000,
          'a consumed code is still found, marked',
        );

        await m.destroyModel('om', 'Session', 's1');
        assert.equal(await m.findModel('om', 'Session', 's1', T), undefined);
        assert.ok(await m.findModel('om', 'AuthorizationCode', 'c1', T), 'destroy removes only its row');
      });

      test("the adapter's find returns consumed (seconds) once consumed; destroy and revokeByGrantId remove rows", async () => {
        const clock = createManualClock(T);
        const Adapter = createAdapterClass('om-adapter', repos.oidcModels, clock);
        const codes = new Adapter('AuthorizationCode');
        await codes.upsert('code-1', { grantId: 'g1', accountId: 'a1' }, 60);
        assert.deepEqual(await codes.find('code-1'), { grantId: 'g1', accountId: 'a1' });
        clock.advance(2000);
        await codes.consume('code-1');
        const consumed = await codes.find('code-1');
        assert.equal(
          consumed?.consumed,
          Math.floor((T + 2000) / 1000),
          'oidc-provider sees the code as used (code reuse detection)',
        );

        const sessions = new Adapter('Session');
        await sessions.upsert('sess-1', { uid: 'u-1' }, 0);
        assert.equal((await sessions.findByUid('u-1'))?.uid, 'u-1');
        clock.advance(365 * 24 * 3600 * 1000);
        assert.ok(await sessions.find('sess-1'), 'expiresIn 0 means no expiry');
        await sessions.destroy('sess-1');
        assert.equal(await sessions.find('sess-1'), undefined);
        assert.equal(await codes.find('code-1'), undefined, 'the code expired while the clock moved');
      });

      test('revokeModelsByGrantId removes every model of the grant in the tenant, nothing else', async () => {
        const m = repos.oidcModels;
        await m.upsertModel(row('rv', 'AccessToken', 'at1', { grant_id: 'g' }));
        await m.upsertModel(row('rv', 'RefreshToken', 'rt1', { grant_id: 'g' }));
        await m.upsertModel(row('rv', 'Grant', 'g', { grant_id: 'g' }));
        await m.upsertModel(row('rv', 'AccessToken', 'at2', { grant_id: 'other' }));
        await m.upsertModel(row('rv-other', 'AccessToken', 'at1', { grant_id: 'g' }));
        await m.revokeModelsByGrantId('rv', 'g');
        assert.equal(await m.findModel('rv', 'AccessToken', 'at1', T), undefined);
        assert.equal(await m.findModel('rv', 'RefreshToken', 'rt1', T), undefined);
        assert.equal(await m.findModel('rv', 'Grant', 'g', T), undefined);
        assert.ok(await m.findModel('rv', 'AccessToken', 'at2', T), 'another grant survives');
        assert.ok(
          await m.findModel('rv-other', 'AccessToken', 'at1', T),
          'the same grant id in another tenant survives',
        );
      });

      test('revokeGrant removes the grant (its own grant_id empty, as oidc-provider saves it) and its tokens, nothing else', async () => {
        const m = repos.oidcModels;
        await m.upsertModel(row('rg', 'Grant', 'g'));
        await m.upsertModel(row('rg', 'RefreshToken', 'rt1', { grant_id: 'g' }));
        await m.upsertModel(row('rg', 'AccessToken', 'at1', { grant_id: 'g' }));
        await m.upsertModel(row('rg', 'Grant', 'other'));
        await m.upsertModel(row('rg', 'RefreshToken', 'rt2', { grant_id: 'other' }));
        await m.upsertModel(row('rg', 'Session', 'g'));
        await m.upsertModel(row('rg-other', 'Grant', 'g'));
        await m.revokeGrant('rg', 'g');
        assert.equal(await m.findModel('rg', 'Grant', 'g', T), undefined);
        assert.equal(await m.findModel('rg', 'RefreshToken', 'rt1', T), undefined);
        assert.equal(await m.findModel('rg', 'AccessToken', 'at1', T), undefined);
        assert.ok(await m.findModel('rg', 'Grant', 'other', T), 'another grant survives');
        assert.ok(await m.findModel('rg', 'RefreshToken', 'rt2', T), "another grant's token survives");
        assert.ok(await m.findModel('rg', 'Session', 'g', T), 'another model with that id survives');
        assert.ok(
          await m.findModel('rg-other', 'Grant', 'g', T),
          'the same grant in another tenant survives',
        );
      });

      test('an expired row is invisible at once and deleteExpiredModels removes it', async () => {
        const m = repos.oidcModels;
        // Timestamps far before every other row in this database, so the delete count is exact.
        const base = 1_000_000;
        await m.upsertModel(row('ex', 'Interaction', 'i1', { uid: 'ui1', expires_at: base + 1000 }));
        await m.upsertModel(row('ex', 'Interaction', 'i2', { expires_at: base + 5000 }));
        await m.upsertModel(row('ex', 'Session', 'forever', { expires_at: null }));

        assert.ok(await m.findModel('ex', 'Interaction', 'i1', base + 999));
        assert.equal(
          await m.findModel('ex', 'Interaction', 'i1', base + 1000),
          undefined,
          'invisible from expires_at on',
        );
        assert.equal(await m.findModelByUid('ex', 'Interaction', 'ui1', base + 1001), undefined);
        assert.ok(await m.findModel('ex', 'Interaction', 'i2', base + 1001), 'a later expiry is still live');

        assert.equal(await m.deleteExpiredModels(base + 2000), 1);
        assert.equal(
          await m.findModel('ex', 'Interaction', 'i1', base),
          undefined,
          'deleted, not just hidden',
        );
        assert.ok(await m.findModel('ex', 'Interaction', 'i2', base + 1001));
        assert.equal(await m.deleteExpiredModels(base + 2000), 0);
        assert.equal(await m.deleteExpiredModels(base + 6000), 1);
        assert.ok(
          await m.findModel('ex', 'Session', 'forever', Number.MAX_SAFE_INTEGER),
          'no expiry, never deleted',
        );
      });
    });

    function key(
      tenantSlug: string,
      kid: string,
      alg: string,
      generation: number,
      createdAt: number,
    ): SigningKeyTable {
      return {
        kid,
        tenant_slug: tenantSlug,
        alg,
        generation,
        private_jwk_encrypted: `encrypted-${kid}`,
        created_at: createdAt,
        retired_at: null,
        unpublish_at: null,
      };
    }

    describe('signing keys', () => {
      test('listPublishedKeys: newest first (kid breaks ties), tenant-scoped', async () => {
        const slug = await tenant('keys-order');
        const other = await tenant('keys-other');
        assert.equal(await repos.signingKeys.insertKey(key(slug, 'order-a', 'RS256', 1, T)), true);
        assert.equal(await repos.signingKeys.insertKey(key(slug, 'order-c', 'ES256', 1, T + 100)), true);
        assert.equal(await repos.signingKeys.insertKey(key(slug, 'order-b', 'RS256', 2, T + 100)), true);
        assert.equal(await repos.signingKeys.insertKey(key(other, 'order-z', 'RS256', 1, T + 200)), true);
        const published = await repos.signingKeys.listPublishedKeys(slug, T + 1000);
        assert.deepEqual(
          published.map((k) => k.kid),
          ['order-c', 'order-b', 'order-a'],
        );
        assert.deepEqual(published[0], key(slug, 'order-c', 'ES256', 1, T + 100));
        assert.deepEqual(await repos.signingKeys.listPublishedKeys('keys-nobody', T), []);
      });

      test('one key per tenant, algorithm and generation: a second insert is refused, not an error', async () => {
        const slug = await tenant('keys-generation');
        assert.equal(await repos.signingKeys.findLatestGeneration(slug, 'RS256'), 0, 'no keys yet');
        assert.equal(await repos.signingKeys.insertKey(key(slug, 'gen-1', 'RS256', 1, T)), true);
        // Two processes creating generation 1 at once: the loser is told, and the winner's key stays.
        assert.equal(await repos.signingKeys.insertKey(key(slug, 'gen-1-loser', 'RS256', 1, T + 1)), false);
        assert.deepEqual(
          (await repos.signingKeys.listPublishedKeys(slug, T + 10)).map((k) => k.kid),
          ['gen-1'],
        );
        assert.equal(
          await repos.signingKeys.insertKey(key(slug, 'gen-1-es', 'ES256', 1, T + 2)),
          true,
          'generations count per algorithm',
        );
        assert.equal(await repos.signingKeys.insertKey(key(slug, 'gen-3', 'RS256', 3, T + 3)), true);
        assert.equal(await repos.signingKeys.findLatestGeneration(slug, 'RS256'), 3);
        assert.equal(await repos.signingKeys.findLatestGeneration(slug, 'ES256'), 1);
        assert.equal(await repos.signingKeys.findLatestGeneration('keys-order', 'ES256'), 1, 'per tenant');
      });

      test('retireOlderKeys retires older generations of one algorithm; they stay published until unpublish_at', async () => {
        const slug = await tenant('keys-retire');
        await repos.signingKeys.insertKey(key(slug, 'ret-rs-1', 'RS256', 1, T));
        await repos.signingKeys.insertKey(key(slug, 'ret-es-1', 'ES256', 1, T));
        await repos.signingKeys.insertKey(key(slug, 'ret-rs-2', 'RS256', 2, T + 1000));
        await repos.signingKeys.retireOlderKeys(slug, 'RS256', 2, T + 1000, T + 50_000);

        const published = await repos.signingKeys.listPublishedKeys(slug, T + 49_999);
        assert.deepEqual(
          published.map((k) => [k.kid, k.retired_at, k.unpublish_at]),
          [
            ['ret-rs-2', null, null],
            ['ret-rs-1', T + 1000, T + 50_000],
            ['ret-es-1', null, null],
          ],
        );
        // A later retirement does not move an already retired key's dates.
        await repos.signingKeys.insertKey(key(slug, 'ret-rs-3', 'RS256', 3, T + 2000));
        await repos.signingKeys.retireOlderKeys(slug, 'RS256', 3, T + 2000, T + 90_000);
        const later = await repos.signingKeys.listPublishedKeys(slug, T + 49_999);
        assert.deepEqual(
          later.map((k) => [k.kid, k.retired_at, k.unpublish_at]),
          [
            ['ret-rs-3', null, null],
            ['ret-rs-2', T + 2000, T + 90_000],
            ['ret-rs-1', T + 1000, T + 50_000],
            ['ret-es-1', null, null],
          ],
        );

        assert.deepEqual(
          (await repos.signingKeys.listPublishedKeys(slug, T + 50_000)).map((k) => k.kid),
          ['ret-rs-3', 'ret-rs-2', 'ret-es-1'],
          'unpublished from unpublish_at on',
        );
        assert.deepEqual(
          (await repos.signingKeys.listPublishedKeys(slug, T + 90_000)).map((k) => k.kid),
          ['ret-rs-3', 'ret-es-1'],
        );
      });
    });

    describe('audit', () => {
      test('recordEvent / listEvents: in order, filtered, tenant-scoped, detail round-trips', async () => {
        await repos.audit.recordEvent({
          tenant: 'audit',
          accountId: 'acc-1',
          type: 'login.succeeded',
          at: T,
          ip: '192.0.2.1',
          detail: { method: 'password', n: 1 },
        });
        await repos.audit.recordEvent({
          tenant: 'audit',
          type: 'login.failed',
          at: T + 1,
          detail: { reason: 'unknown_identifier' },
        });
        await repos.audit.recordEvent({
          tenant: 'audit',
          accountId: 'acc-1',
          type: 'login.failed',
          at: T + 2,
        });
        await repos.audit.recordEvent({
          tenant: 'audit-other',
          accountId: 'acc-1',
          type: 'login.failed',
          at: T + 3,
        });

        assert.deepEqual(await repos.audit.listEvents('audit'), [
          {
            tenant: 'audit',
            accountId: 'acc-1',
            type: 'login.succeeded',
            at: T,
            ip: '192.0.2.1',
            detail: { method: 'password', n: 1 },
          },
          {
            tenant: 'audit',
            accountId: null,
            type: 'login.failed',
            at: T + 1,
            ip: null,
            detail: { reason: 'unknown_identifier' },
          },
          {
            tenant: 'audit',
            accountId: 'acc-1',
            type: 'login.failed',
            at: T + 2,
            ip: null,
            detail: undefined,
          },
        ]);
        assert.deepEqual(
          (await repos.audit.listEvents('audit', { accountId: 'acc-1' })).map((e) => e.at),
          [T, T + 2],
        );
        assert.deepEqual(
          (await repos.audit.listEvents('audit', { type: 'login.failed' })).map((e) => e.at),
          [T + 1, T + 2],
        );
        assert.deepEqual(
          (await repos.audit.listEvents('audit', { accountId: 'acc-1', type: 'login.failed' })).map(
            (e) => e.at,
          ),
          [T + 2],
        );
        assert.deepEqual(await repos.audit.listEvents('audit-nobody'), []);
      });
    });
  });
}
