// Storage for oidc-provider's models (sessions, interactions, codes, tokens, grants), one table
// for all of them so every process sees the same sessions. Expired rows are invisible at once
// and deleted by `deleteExpiredModels`.
import type { Kysely } from 'kysely';
import type { Database, OidcModelTable } from './schema.js';

export interface OidcModelRepository {
  upsertModel(row: OidcModelTable): Promise<void>;
  findModel(tenant: string, model: string, id: string, now: number): Promise<OidcModelTable | undefined>;
  findModelByUid(
    tenant: string,
    model: string,
    uid: string,
    now: number,
  ): Promise<OidcModelTable | undefined>;
  findModelByUserCode(
    tenant: string,
    model: string,
    userCode: string,
    now: number,
  ): Promise<OidcModelTable | undefined>;
  consumeModel(tenant: string, model: string, id: string, now: number): Promise<void>;
  destroyModel(tenant: string, model: string, id: string): Promise<void>;
  revokeModelsByGrantId(tenant: string, grantId: string): Promise<void>;
  /**
   * Ends everything an account holds in a tenant: sessions, grants, codes and tokens (not
   * interactions, so a journey in progress can still finish). Returns how many rows went.
   */
  revokeAccount(tenant: string, accountId: string, keepSessionId?: string): Promise<number>;
  deleteExpiredModels(now: number): Promise<number>;
}

export function createOidcModelRepository(db: Kysely<Database>): OidcModelRepository {
  const live = (tenant: string, model: string, now: number) =>
    db
      .selectFrom('oidc_models')
      .selectAll()
      .where('tenant_slug', '=', tenant)
      .where('model', '=', model)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  return {
    async upsertModel(row) {
      await db
        .insertInto('oidc_models')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['tenant_slug', 'model', 'id']).doUpdateSet({
            payload: row.payload,
            grant_id: row.grant_id,
            user_code: row.user_code,
            uid: row.uid,
            expires_at: row.expires_at,
            consumed_at: row.consumed_at,
          }),
        )
        .execute();
    },
    findModel: (tenant, model, id, now) => live(tenant, model, now).where('id', '=', id).executeTakeFirst(),
    findModelByUid: (tenant, model, uid, now) =>
      live(tenant, model, now).where('uid', '=', uid).executeTakeFirst(),
    findModelByUserCode: (tenant, model, userCode, now) =>
      live(tenant, model, now).where('user_code', '=', userCode).executeTakeFirst(),
    async consumeModel(tenant, model, id, now) {
      await db
        .updateTable('oidc_models')
        .set({ consumed_at: now })
        .where('tenant_slug', '=', tenant)
        .where('model', '=', model)
        .where('id', '=', id)
        .execute();
    },
    async destroyModel(tenant, model, id) {
      await db
        .deleteFrom('oidc_models')
        .where('tenant_slug', '=', tenant)
        .where('model', '=', model)
        .where('id', '=', id)
        .execute();
    },
    async revokeAccount(tenant, accountId, keepSessionId) {
      // Account ids are UUIDs, so the JSON text match cannot be fooled by quoting.
      if (!/^[0-9a-f-]{36}$/.test(accountId)) return 0;
      let query = db
        .deleteFrom('oidc_models')
        .where('tenant_slug', '=', tenant)
        .where('model', '!=', 'Interaction')
        .where('payload', 'like', `%"accountId":"${accountId}"%`);
      if (keepSessionId) {
        query = query.where((eb) =>
          eb.not(eb.and([eb('model', '=', 'Session'), eb('id', '=', keepSessionId)])),
        );
      }
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async revokeModelsByGrantId(tenant, grantId) {
      await db
        .deleteFrom('oidc_models')
        .where('tenant_slug', '=', tenant)
        .where('grant_id', '=', grantId)
        .execute();
    },
    async deleteExpiredModels(now) {
      const result = await db.deleteFrom('oidc_models').where('expires_at', '<', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
