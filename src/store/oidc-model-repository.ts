// Storage for oidc-provider's models (sessions, interactions, codes, tokens, grants), one table
// for all of them so every process sees the same sessions. Expired rows are invisible at once
// and deleted by `deleteExpiredModels`.
import type { Kysely } from 'kysely';
import { precompile } from './precompiled.js';
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
  /** Revokes a grant: its own row and every code and token under it, in one statement. */
  revokeGrant(tenant: string, grantId: string): Promise<void>;
  /** The ids of the account's live sessions in a tenant. */
  listSessionIds(tenant: string, accountId: string, now: number): Promise<string[]>;
  /**
   * The grants under which the account holds a live, unused refresh token: one entry a grant,
   * with its client and when its first refresh token was issued (epoch seconds).
   */
  listRefreshGrants(tenant: string, accountId: string, now: number): Promise<RefreshGrant[]>;
  /**
   * Ends everything an account holds in a tenant: sessions, grants, codes and tokens (not
   * interactions, so a journey in progress can still finish), except the session to keep and
   * its grants with their codes and tokens. Returns how many rows went.
   */
  revokeAccount(tenant: string, accountId: string, keep?: KeptSession): Promise<number>;
  deleteExpiredModels(now: number): Promise<number>;
}

export interface RefreshGrant {
  grantId: string;
  clientId: string;
  since: number;
}

/** A session that stays, with the grants (and so the codes and tokens) that belong to it. */
export interface KeptSession {
  sessionId: string;
  grantIds: string[];
}

// Account ids are UUIDs, so a JSON text match on them cannot be fooled by quoting.
const isAccountId = (accountId: string) => /^[0-9a-f-]{36}$/.test(accountId);
const ofAccount = (accountId: string) => `%"accountId":"${accountId}"%`;

export function createOidcModelRepository(db: Kysely<Database>): OidcModelRepository {
  const live = (tenant: string, model: string, now: number) =>
    db
      .selectFrom('oidc_models')
      .selectAll()
      .where('tenant_slug', '=', tenant)
      .where('model', '=', model)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  // The statements oidc-provider's adapter issues on every request, compiled once.
  type Key = { tenant: string; model: string; id: string };
  type Lookup = { tenant: string; model: string; now: number };
  const upsert = precompile<{ [K in keyof OidcModelTable]: OidcModelTable[K] }>(
    db,
    ['tenant_slug', 'model', 'id', 'payload', 'grant_id', 'user_code', 'uid', 'expires_at', 'consumed_at'],
    (row) =>
      db
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
        ),
  );
  const findById = precompile<Lookup & { id: string }>(db, ['tenant', 'model', 'now', 'id'], (a) =>
    live(a.tenant, a.model, a.now).where('id', '=', a.id),
  );
  const findByUid = precompile<Lookup & { uid: string }>(db, ['tenant', 'model', 'now', 'uid'], (a) =>
    live(a.tenant, a.model, a.now).where('uid', '=', a.uid),
  );
  const consume = precompile<Key & { now: number }>(db, ['tenant', 'model', 'id', 'now'], (a) =>
    db
      .updateTable('oidc_models')
      .set({ consumed_at: a.now })
      .where('tenant_slug', '=', a.tenant)
      .where('model', '=', a.model)
      .where('id', '=', a.id),
  );
  const destroy = precompile<Key>(db, ['tenant', 'model', 'id'], (a) =>
    db
      .deleteFrom('oidc_models')
      .where('tenant_slug', '=', a.tenant)
      .where('model', '=', a.model)
      .where('id', '=', a.id),
  );
  const first = async (result: Promise<{ rows: unknown[] }>) =>
    (await result).rows[0] as OidcModelTable | undefined;
  return {
    async upsertModel(row) {
      await upsert(row);
    },
    findModel: (tenant, model, id, now) => first(findById({ tenant, model, now, id })),
    findModelByUid: (tenant, model, uid, now) => first(findByUid({ tenant, model, now, uid })),
    findModelByUserCode: (tenant, model, userCode, now) =>
      live(tenant, model, now).where('user_code', '=', userCode).executeTakeFirst(),
    async consumeModel(tenant, model, id, now) {
      await consume({ tenant, model, id, now });
    },
    async destroyModel(tenant, model, id) {
      await destroy({ tenant, model, id });
    },
    async listSessionIds(tenant, accountId, now) {
      if (!isAccountId(accountId)) return [];
      const rows = await live(tenant, 'Session', now)
        .where('payload', 'like', ofAccount(accountId))
        .execute();
      return rows.map((row) => row.id);
    },
    async revokeGrant(tenant, grantId) {
      await db
        .deleteFrom('oidc_models')
        .where('tenant_slug', '=', tenant)
        // A Grant's payload has no grantId (it is the row's id), so its grant_id column is empty.
        .where((eb) =>
          eb.or([eb('grant_id', '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)])]),
        )
        .execute();
    },
    async listRefreshGrants(tenant, accountId, now) {
      if (!isAccountId(accountId)) return [];
      const rows = await live(tenant, 'RefreshToken', now)
        .where('payload', 'like', ofAccount(accountId))
        .where('consumed_at', 'is', null)
        .execute();
      const grants = new Map<string, RefreshGrant>();
      for (const row of rows) {
        const token = JSON.parse(row.payload) as {
          grantId?: string;
          clientId?: string;
          iiat?: number;
          iat?: number;
        };
        if (!token.grantId || !token.clientId) continue;
        const since = token.iiat ?? token.iat ?? 0;
        const seen = grants.get(token.grantId);
        if (!seen || since < seen.since)
          grants.set(token.grantId, { grantId: token.grantId, clientId: token.clientId, since });
      }
      return [...grants.values()].sort((a, b) => b.since - a.since);
    },
    async revokeAccount(tenant, accountId, keep) {
      if (!isAccountId(accountId)) return 0;
      let query = db
        .deleteFrom('oidc_models')
        .where('tenant_slug', '=', tenant)
        .where('model', '!=', 'Interaction')
        .where('payload', 'like', ofAccount(accountId));
      if (keep) {
        const { sessionId, grantIds } = keep;
        query = query.where((eb) =>
          eb.not(
            eb.or([
              eb.and([eb('model', '=', 'Session'), eb('id', '=', sessionId)]),
              ...(grantIds.length > 0
                ? [
                    eb.and([eb('model', '=', 'Grant'), eb('id', 'in', grantIds)]),
                    // Not NULL-blind: a row without a grant must not make the whole test unknown.
                    eb.and([eb('grant_id', 'is not', null), eb('grant_id', 'in', grantIds)]),
                  ]
                : []),
            ]),
          ),
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
