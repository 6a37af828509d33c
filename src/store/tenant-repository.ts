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
  /** Makes the tenant's clients exactly `rows`; returns what changed. */
  replaceClients(
    slug: string,
    rows: Omit<ClientTable, 'tenant_slug'>[],
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
    async replaceClients(slug, rows) {
      return db.transaction().execute(async (trx) => {
        const existing = await trx
          .selectFrom('clients')
          .selectAll()
          .where('tenant_slug', '=', slug)
          .execute();
        const byId = new Map(existing.map((c) => [c.client_id, c]));
        const added: string[] = [];
        const updated: string[] = [];
        for (const row of rows) {
          const before = byId.get(row.client_id);
          byId.delete(row.client_id);
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
