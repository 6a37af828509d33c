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

// Every id vakt and oidc-provider issue is URL-safe text. One with a NUL byte comes from a
// request (a token, code or client id sent as garbage) and names nothing; PostgreSQL would
// refuse it as a parameter, so it is answered here, as not found, on both databases.
const unissued = (id: string) => id.includes('\u0000');

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
      if (unissued(id)) return undefined;
      return toPayload(await repo.findModel(tenant, this.model, id, clock.now()));
    }

    async findByUid(uid: string) {
      if (unissued(uid)) return undefined;
      return toPayload(await repo.findModelByUid(tenant, this.model, uid, clock.now()));
    }

    async findByUserCode(userCode: string) {
      if (unissued(userCode)) return undefined;
      return toPayload(await repo.findModelByUserCode(tenant, this.model, userCode, clock.now()));
    }

    async consume(id: string): Promise<void> {
      if (unissued(id)) return;
      await repo.consumeModel(tenant, this.model, id, clock.now());
    }

    async destroy(id: string): Promise<void> {
      if (unissued(id)) return;
      await repo.destroyModel(tenant, this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      if (unissued(grantId)) return;
      await repo.revokeModelsByGrantId(tenant, grantId);
    }
  };
}
