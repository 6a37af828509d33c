// Tenants and their clients, as applied from the configuration file.
import type { Kysely } from 'kysely';
import type { ClientTable, Database, TenantTable } from './schema.js';

export interface TenantRepository {
  findTenant(slug: string): Promise<TenantTable | undefined>;
  listTenants(): Promise<TenantTable[]>;
  upsertTenant(
    row: Omit<TenantTable, 'created_at'>,
    now: number,
  ): Promise<'created' | 'updated' | 'unchanged'>;
  listClients(slug: string): Promise<ClientTable[]>;
  /**
   * Makes the tenant's clients exactly `rows`; returns what changed. A secret is encrypted
   * afresh each time, so `sameSecret` says whether a stored one already holds the row's secret;
   * then the stored one is kept and is no change. It is asked inside the transaction, so a
   * process applying the same file a moment earlier does not make this one's look new.
   */
  replaceClients(
    slug: string,
    rows: Omit<ClientTable, 'tenant_slug'>[],
    sameSecret?: (stored: string, clientId: string) => boolean,
  ): Promise<{ added: string[]; updated: string[]; removed: string[] }>;
  /** Changes whenever a tenant, client or signing key changes; processes poll it to reload. */
  readStateVersion(): Promise<string>;
}

export function createTenantRepository(db: Kysely<Database>): TenantRepository {
  return {
    findTenant: (slug) => db.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst(),
    listTenants: () => db.selectFrom('tenants').selectAll().orderBy('slug').execute(),
    async upsertTenant(row, now) {
      const existing = await db
        .selectFrom('tenants')
        .selectAll()
        .where('slug', '=', row.slug)
        .executeTakeFirst();
      if (!existing) {
        // Two processes applying the same file at start-up: the second insert is a no-op.
        const result = await db
          .insertInto('tenants')
          .values({ ...row, created_at: now })
          .onConflict((oc) => oc.column('slug').doNothing())
          .executeTakeFirst();
        return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? 'created' : 'unchanged';
      }
      if (existing.display_name === row.display_name && existing.settings === row.settings)
        return 'unchanged';
      await db
        .updateTable('tenants')
        .set({ display_name: row.display_name, settings: row.settings, updated_at: row.updated_at })
        .where('slug', '=', row.slug)
        .execute();
      return 'updated';
    },
    listClients: (slug) =>
      db.selectFrom('clients').selectAll().where('tenant_slug', '=', slug).orderBy('client_id').execute(),
    async replaceClients(slug, rows, sameSecret) {
      return db.transaction().execute(async (trx) => {
        // A write first, that changes nothing but locks the tenant's row (PostgreSQL): processes
        // applying the same file at once queue here, and each reads what the one before wrote
        // (SQLite's BEGIN IMMEDIATE already serialises them); the report then tells the truth.
        await trx
          .updateTable('tenants')
          .set((eb) => ({ slug: eb.ref('slug') }))
          .where('slug', '=', slug)
          .execute();
        const existing = await trx
          .selectFrom('clients')
          .selectAll()
          .where('tenant_slug', '=', slug)
          .execute();
        const byId = new Map(existing.map((c) => [c.client_id, c]));
        const added: string[] = [];
        const updated: string[] = [];
        for (const given of rows) {
          const before = byId.get(given.client_id);
          byId.delete(given.client_id);
          const keepSecret =
            before?.secret_encrypted &&
            given.secret_encrypted &&
            sameSecret?.(before.secret_encrypted, given.client_id);
          const row = keepSecret ? { ...given, secret_encrypted: before.secret_encrypted } : given;
          if (!before) {
            await trx
              .insertInto('clients')
              .values({ ...row, tenant_slug: slug })
              .onConflict((oc) =>
                oc.columns(['tenant_slug', 'client_id']).doUpdateSet({
                  settings: row.settings,
                  secret_encrypted: row.secret_encrypted,
                  updated_at: row.updated_at,
                }),
              )
              .execute();
            added.push(row.client_id);
          } else if (before.settings !== row.settings || before.secret_encrypted !== row.secret_encrypted) {
            await trx
              .updateTable('clients')
              .set({
                settings: row.settings,
                secret_encrypted: row.secret_encrypted,
                updated_at: row.updated_at,
              })
              .where('tenant_slug', '=', slug)
              .where('client_id', '=', row.client_id)
              .execute();
            updated.push(row.client_id);
          }
        }
        const removed = [...byId.keys()];
        if (removed.length > 0) {
          await trx
            .deleteFrom('clients')
            .where('tenant_slug', '=', slug)
            .where('client_id', 'in', removed)
            .execute();
        }
        return { added, updated, removed };
      });
    },
    async readStateVersion() {
      const [t, c, k] = await Promise.all([
        db
          .selectFrom('tenants')
          .select((eb) => [eb.fn.max('updated_at').as('v'), eb.fn.countAll().as('n')])
          .executeTakeFirst(),
        db
          .selectFrom('clients')
          .select((eb) => [eb.fn.max('updated_at').as('v'), eb.fn.countAll().as('n')])
          .executeTakeFirst(),
        db
          .selectFrom('signing_keys')
          .select((eb) => [
            eb.fn.max('created_at').as('v'),
            eb.fn.max('retired_at').as('r'),
            eb.fn.countAll().as('n'),
          ])
          .executeTakeFirst(),
      ]);
      return JSON.stringify([t, c, k]);
    },
  };
}
