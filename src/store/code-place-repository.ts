// The places codes hold in the limits on sending codes (the database backend of LimitStore).
// The check and the taking are one transaction, and processes asking for the same counter queue
// for it: SQLite's transactions take its one write lock first (database.ts), and PostgreSQL
// takes a transaction-scoped advisory lock per counter, in one order, so none deadlock.
import type { Kysely } from 'kysely';
import { type Dialect, LOCK_SPACE, lockForTransaction } from './database.js';
import type { CodePlaceTable, Database } from './schema.js';

export interface CodePlaceCounter {
  scope: CodePlaceTable['scope'];
  value: string;
  windows: { seconds: number; max: number }[];
}

export interface CodePlaceRepository {
  /**
   * Takes a place for `codeId` at `now` in every counter, or none when a window is full: then
   * answers the ms until the max-th newest place leaves the fullest window.
   */
  take(
    tenant: string,
    counters: CodePlaceCounter[],
    codeId: string,
    now: number,
  ): Promise<number | undefined>;
  /** Gives the code's places back (its delivery failed). */
  giveBack(tenant: string, codeId: string): Promise<void>;
  /** Deletes places taken before `before`, in every tenant; answers how many. */
  deleteBefore(before: number): Promise<number>;
}

export function createCodePlaceRepository(db: Kysely<Database>, dialect: Dialect): CodePlaceRepository {
  return {
    async take(tenant, counters, codeId, now) {
      // A full window refuses on reads alone, without a lock or a transaction: a refused
      // request (the flood when someone hammers the form) stays cheap. A free one is read again
      // under the lock before the place is taken, since others may have taken the last places.
      const full = await longestWait(db, tenant, counters, now);
      if (full !== undefined) return full;
      return db.transaction().execute(async (trx) => {
        await lockForTransaction(
          trx,
          dialect,
          LOCK_SPACE.codePlaces,
          counters.map((c) => `${tenant}\n${c.scope}\n${c.value}`),
        );
        const wait = await longestWait(trx, tenant, counters, now);
        if (wait !== undefined) return wait;
        if (counters.length > 0) {
          await trx
            .insertInto('code_places')
            .values(
              counters.map(({ scope, value }) => ({
                tenant_slug: tenant,
                scope,
                value,
                code_id: codeId,
                taken_at: now,
              })),
            )
            .execute();
        }
        return undefined;
      });
    },
    async giveBack(tenant, codeId) {
      await db
        .deleteFrom('code_places')
        .where('tenant_slug', '=', tenant)
        .where('code_id', '=', codeId)
        .execute();
    },
    async deleteBefore(before) {
      const result = await db.deleteFrom('code_places').where('taken_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/** The ms until a place frees in the fullest window, or undefined when every window has room. */
async function longestWait(
  db: Kysely<Database>,
  tenant: string,
  counters: CodePlaceCounter[],
  now: number,
): Promise<number | undefined> {
  let wait = 0;
  for (const { scope, value, windows } of counters) {
    for (const window of windows) {
      const ms = window.seconds * 1000;
      // The max-th newest place in the window: while it is there, the window is full.
      const filling = await db
        .selectFrom('code_places')
        .select('taken_at')
        .where('tenant_slug', '=', tenant)
        .where('scope', '=', scope)
        .where('value', '=', value)
        .where('taken_at', '>', now - ms)
        .orderBy('taken_at', 'desc')
        .limit(1)
        .offset(window.max - 1)
        .executeTakeFirst();
      if (filling) wait = Math.max(wait, filling.taken_at + ms - now);
    }
  }
  return wait > 0 ? wait : undefined;
}
