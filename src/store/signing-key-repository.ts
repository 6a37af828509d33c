// Signing keys per tenant, private parts encrypted with the deployment secret.
import type { Kysely } from 'kysely';
import type { Database, SigningKeyTable } from './schema.js';

export interface SigningKeyRepository {
  listPublishedKeys(tenant: string, now: number): Promise<SigningKeyTable[]>;
  /** Inserts unless the tenant already has a key of that algorithm and generation. */
  insertKey(row: SigningKeyTable): Promise<boolean>;
  findLatestGeneration(tenant: string, alg: string): Promise<number>;
  /** Retires keys of `alg` older than `generation`; they stay published until `unpublishAt`. */
  retireOlderKeys(
    tenant: string,
    alg: string,
    generation: number,
    now: number,
    unpublishAt: number,
  ): Promise<void>;
}

export function createSigningKeyRepository(db: Kysely<Database>): SigningKeyRepository {
  return {
    listPublishedKeys: (tenant, now) =>
      db
        .selectFrom('signing_keys')
        .selectAll()
        .where('tenant_slug', '=', tenant)
        .where((eb) => eb.or([eb('unpublish_at', 'is', null), eb('unpublish_at', '>', now)]))
        .orderBy('created_at', 'desc')
        .orderBy('kid', 'desc')
        .execute(),
    async insertKey(row) {
      const result = await db
        .insertInto('signing_keys')
        .values(row)
        .onConflict((oc) => oc.columns(['tenant_slug', 'alg', 'generation']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async findLatestGeneration(tenant, alg) {
      const row = await db
        .selectFrom('signing_keys')
        .select((eb) => eb.fn.max('generation').as('generation'))
        .where('tenant_slug', '=', tenant)
        .where('alg', '=', alg)
        .executeTakeFirst();
      return Number(row?.generation ?? 0);
    },
    async retireOlderKeys(tenant, alg, generation, now, unpublishAt) {
      await db
        .updateTable('signing_keys')
        .set({ retired_at: now, unpublish_at: unpublishAt })
        .where('tenant_slug', '=', tenant)
        .where('alg', '=', alg)
        .where('generation', '<', generation)
        .where('retired_at', 'is', null)
        .execute();
    },
  };
}
