// One-time codes: written when asked for, live once sent, checked with an attempt counter that
// is raised in the database before each comparison, so concurrent guesses cannot overrun it.
import type { Kysely } from 'kysely';
import type { Database, OneTimeCodeTable } from './schema.js';

export type OneTimeCodeRow = OneTimeCodeTable;

export interface OneTimeCodeRepository {
  insertCode(row: OneTimeCodeRow): Promise<void>;
  /** The code went out: it becomes the journey's live code, and earlier ones stop working. */
  markSent(
    row: Pick<OneTimeCodeRow, 'id' | 'tenant_slug' | 'journey' | 'purpose'>,
    now: number,
  ): Promise<void>;
  deleteCode(id: string): Promise<void>;
  /** The journey's current code: sent and not replaced by a newer one, used or not. */
  findLatestSent(tenant: string, journey: string, purpose: string): Promise<OneTimeCodeRow | undefined>;
  /**
   * Takes one attempt if any is left and the code is live; returns the attempt number taken, or
   * undefined when none could be (used, superseded, expired or out of attempts).
   */
  takeAttempt(id: string, now: number): Promise<number | undefined>;
  /** Marks the code used; false when another request used it first. */
  consume(id: string, now: number): Promise<boolean>;
  /** Whether this hash matches a code sent to the same destination for another journey. */
  existsForOtherJourney(
    tenant: string,
    destination: string,
    codeHash: string,
    journey: string,
    since: number,
  ): Promise<boolean>;
  findById(id: string): Promise<OneTimeCodeRow | undefined>;
  deleteOlderThan(before: number): Promise<number>;
  /** Drops what codes made before `before` carried (payload_encrypted); the rows stay. */
  forgetPayloadsBefore(before: number): Promise<number>;
}

export function createOneTimeCodeRepository(db: Kysely<Database>): OneTimeCodeRepository {
  return {
    async insertCode(row) {
      await db.insertInto('one_time_codes').values(row).execute();
    },
    async markSent(row, now) {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('one_time_codes')
          .set({ superseded_at: now })
          .where('tenant_slug', '=', row.tenant_slug)
          .where('journey', '=', row.journey)
          .where('purpose', '=', row.purpose)
          .where('id', '!=', row.id)
          .where('superseded_at', 'is', null)
          .execute();
        await trx.updateTable('one_time_codes').set({ sent_at: now }).where('id', '=', row.id).execute();
      });
    },
    async deleteCode(id) {
      await db.deleteFrom('one_time_codes').where('id', '=', id).execute();
    },
    findLatestSent: (tenant, journey, purpose) =>
      db
        .selectFrom('one_time_codes')
        .selectAll()
        .where('tenant_slug', '=', tenant)
        .where('journey', '=', journey)
        .where('purpose', '=', purpose as OneTimeCodeRow['purpose'])
        .where('sent_at', 'is not', null)
        .where('superseded_at', 'is', null)
        .orderBy('sent_at', 'desc')
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst(),
    async takeAttempt(id, now) {
      const row = await db
        .updateTable('one_time_codes')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where((eb) => eb('attempts', '<', eb.ref('max_attempts')))
        .where('consumed_at', 'is', null)
        .where('superseded_at', 'is', null)
        .where('sent_at', 'is not', null)
        .where('expires_at', '>', now)
        .returning('attempts')
        .executeTakeFirst();
      return row?.attempts;
    },
    async consume(id, now) {
      const result = await db
        .updateTable('one_time_codes')
        .set({ consumed_at: now })
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async existsForOtherJourney(tenant, destination, codeHash, journey, since) {
      const row = await db
        .selectFrom('one_time_codes')
        .select('id')
        .where('tenant_slug', '=', tenant)
        .where('destination', '=', destination)
        .where('code_hash', '=', codeHash)
        .where('journey', '!=', journey)
        .where('created_at', '>=', since)
        .where('sent_at', 'is not', null)
        .executeTakeFirst();
      return row !== undefined;
    },
    findById: (id) => db.selectFrom('one_time_codes').selectAll().where('id', '=', id).executeTakeFirst(),
    async deleteOlderThan(before) {
      const result = await db
        .deleteFrom('one_time_codes')
        .where('created_at', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async forgetPayloadsBefore(before) {
      const result = await db
        .updateTable('one_time_codes')
        .set({ payload_encrypted: null })
        .where('created_at', '<', before)
        .where('payload_encrypted', 'is not', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
