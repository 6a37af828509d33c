// oidc-provider's storage adapter over the oidc_models table: every process sees the same
// sessions, interactions, codes and tokens.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../domain/clock.js';
import type { OidcModelRepository } from '../store/oidc-model-repository.js';
import type { OidcModelTable } from '../store/schema.js';

function toPayload(row: OidcModelTable | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  return row.consumed_at ? { ...payload, consumed: Math.floor(row.consumed_at / 1000) } : payload;
}

export function createAdapterClass(tenant: string, repo: OidcModelRepository, clock: Clock) {
  return class VaktAdapter implements Adapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      await repo.upsertModel({
        tenant_slug: tenant,
        model: this.model,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expires_at: expiresIn ? clock.now() + expiresIn * 1000 : null,
        consumed_at: null,
      });
    }

    async find(id: string) {
      return toPayload(await repo.findModel(tenant, this.model, id, clock.now()));
    }

    async findByUid(uid: string) {
      return toPayload(await repo.findModelByUid(tenant, this.model, uid, clock.now()));
    }

    async findByUserCode(userCode: string) {
      return toPayload(await repo.findModelByUserCode(tenant, this.model, userCode, clock.now()));
    }

    async consume(id: string): Promise<void> {
      await repo.consumeModel(tenant, this.model, id, clock.now());
    }

    async destroy(id: string): Promise<void> {
      await repo.destroyModel(tenant, this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await repo.revokeModelsByGrantId(tenant, grantId);
    }
  };
}
