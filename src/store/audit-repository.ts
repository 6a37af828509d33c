// The audit trail: every security event, append-only.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface AuditEvent {
  tenant: string;
  accountId?: string | null;
  type: string;
  at: number;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRepository {
  recordEvent(event: AuditEvent): Promise<void>;
  listEvents(tenant: string, options?: { accountId?: string; type?: string }): Promise<AuditEvent[]>;
}

export function createAuditRepository(db: Kysely<Database>): AuditRepository {
  return {
    async recordEvent(event) {
      await db
        .insertInto('audit_events')
        .values({
          tenant_slug: event.tenant,
          account_id: event.accountId ?? null,
          type: event.type,
          at: event.at,
          ip: event.ip ?? null,
          detail: event.detail ? JSON.stringify(event.detail) : null,
        })
        .execute();
    },
    async listEvents(tenant, options = {}) {
      let query = db.selectFrom('audit_events').selectAll().where('tenant_slug', '=', tenant);
      if (options.accountId) query = query.where('account_id', '=', options.accountId);
      if (options.type) query = query.where('type', '=', options.type);
      const rows = await query.orderBy('id').execute();
      return rows.map((r) => ({
        tenant: r.tenant_slug,
        accountId: r.account_id,
        type: r.type,
        at: r.at,
        ip: r.ip,
        detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : undefined,
      }));
    },
  };
}
