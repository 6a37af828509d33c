// Counters of consecutive failures, one row per tenant and key, raised in one statement
// (insert … on conflict do update) so that concurrent failures are all counted.
import { type Kysely, sql } from 'kysely';
import { type Dialect, LOCK_SPACE, lockForTransaction, lockOrder } from './database.js';
import { type GuessKey, type GuessRule, guessWait } from './limit-store.js';
import { precompile } from './precompiled.js';
import type { Database } from './schema.js';

export interface ThrottleRow {
  key: string;
  failures: number;
  last_failure_at: number;
  blocked_until: number;
}

export interface ThrottleRepository {
  find(tenant: string, keys: string[]): Promise<ThrottleRow[]>;
  /**
   * Adds one failure to the key (starting again from 1 when the last one is older than
   * `forgetAfterMs`); `blockFor` gives the wait in ms after the new count.
   */
  recordFailure(
    tenant: string,
    key: string,
    now: number,
    blockFor: (failures: number) => number,
    forgetAfterMs?: number,
  ): Promise<number>;
  clear(tenant: string, keys: string[]): Promise<void>;
  /**
   * LimitStore.takeGuess in the database: one transaction, in which processes taking a guess
   * on the same key queue (SQLite's write lock; on PostgreSQL an advisory lock per key, in one
   * call to vakt_take_guess).
   */
  takeGuess(tenant: string, keys: GuessKey[], now: number, rule: GuessRule): Promise<number | undefined>;
  /** LimitStore.giveBackGuess: one failure less and no wait (a row at 0 goes); `forget`'s rows go. */
  giveBack(tenant: string, keys: string[], forget?: string[]): Promise<void>;
  /** Deletes every tenant's `id:` and `ip:` rows whose last failure is before `before`; never `account:` rows. */
  deleteIdleGuessKeys(before: number): Promise<number>;
}

export function createThrottleRepository(db: Kysely<Database>, dialect: Dialect): ThrottleRepository {
  /**
   * Every change to a guess key's row happens under its lock, held to the end of the
   * transaction: takeGuess reads a count and writes the next, and a give-back or a forget
   * between the two would be lost. On PostgreSQL an advisory lock per key, these keys in lock
   * space guessKeys; SQLite's transactions begin immediate, holding its one write lock.
   */
  const lockKeysOf = (tenant: string, keys: string[]) => lockOrder(keys.map((k) => `${tenant}\n${k}`));
  const lockKeys = (trx: Kysely<Database>, tenant: string, keys: string[]) =>
    lockForTransaction(trx, dialect, LOCK_SPACE.guessKeys, lockKeysOf(tenant, keys));

  // PostgreSQL: the take and the give-back are one call each to the functions of migration
  // 0007, which take the same locks and follow the same rules as SQLite's transactions below.
  type TakeArgs = {
    locks: string[];
    space: number;
    tenant: string;
    keys: string[];
    free: number[];
    now: number;
    first: number;
    max: number;
    forgetAfter: number;
  };
  const takeGuessCall = precompile<TakeArgs>(
    db,
    ['locks', 'space', 'tenant', 'keys', 'free', 'now', 'first', 'max', 'forgetAfter'],
    (a) => ({
      compile: () =>
        sql`select vakt_take_guess(${a.locks}::text[], ${a.space}, ${a.tenant}, ${a.keys}::text[],
          ${a.free}::integer[], ${a.now}, ${a.first}, ${a.max}, ${a.forgetAfter}) as wait`.compile(db),
    }),
  );
  type GiveBackArgs = { locks: string[]; space: number; tenant: string; keys: string[]; forget: string[] };
  const giveBackCall = precompile<GiveBackArgs>(db, ['locks', 'space', 'tenant', 'keys', 'forget'], (a) => ({
    compile: () =>
      sql`select vakt_give_back_guess(${a.locks}::text[], ${a.space}, ${a.tenant}, ${a.keys}::text[],
        ${a.forget}::text[])`.compile(db),
  }));

  return {
    async find(tenant, keys) {
      if (keys.length === 0) return [];
      return db
        .selectFrom('login_throttles')
        .select(['key', 'failures', 'last_failure_at', 'blocked_until'])
        .where('tenant_slug', '=', tenant)
        .where('key', 'in', keys)
        .execute();
    },
    async recordFailure(tenant, key, now, blockFor, forgetAfterMs) {
      const forgetBefore = forgetAfterMs === undefined ? 0 : now - forgetAfterMs;
      const row = await db
        .insertInto('login_throttles')
        .values({ tenant_slug: tenant, key, failures: 1, last_failure_at: now, blocked_until: now })
        .onConflict((oc) =>
          oc.columns(['tenant_slug', 'key']).doUpdateSet({
            failures: sql<number>`case when login_throttles.last_failure_at < ${forgetBefore} then 1 else login_throttles.failures + 1 end`,
            last_failure_at: now,
          }),
        )
        .returning('failures')
        .executeTakeFirstOrThrow();
      const wait = blockFor(row.failures);
      if (wait > 0) {
        await db
          .updateTable('login_throttles')
          .set({ blocked_until: now + wait })
          .where('tenant_slug', '=', tenant)
          .where('key', '=', key)
          .execute();
      }
      return row.failures;
    },
    async clear(tenant, keys) {
      if (keys.length === 0) return;
      await db.transaction().execute(async (trx) => {
        await lockKeys(trx, tenant, keys);
        await trx
          .deleteFrom('login_throttles')
          .where('tenant_slug', '=', tenant)
          .where('key', 'in', keys)
          .execute();
      });
    },
    async takeGuess(tenant, keys, now, rule) {
      if (keys.length === 0) return undefined;
      if (dialect === 'postgres') {
        const { rows } = await takeGuessCall({
          locks: lockKeysOf(
            tenant,
            keys.map((k) => k.key),
          ),
          space: LOCK_SPACE.guessKeys,
          tenant,
          keys: keys.map((k) => k.key),
          free: keys.map((k) => k.free),
          now,
          first: rule.firstWaitMs,
          max: rule.maxWaitMs,
          forgetAfter: rule.forgetAfterMs,
        });
        // bigint arrives as a string.
        const wait = Number((rows[0] as { wait: string | number }).wait);
        return wait > 0 ? wait : undefined;
      }
      // SQLite: the transaction's write lock keeps every other change out until it ends.
      return db.transaction().execute(async (trx) => {
        const rows = await trx
          .selectFrom('login_throttles')
          .select(['key', 'failures', 'last_failure_at', 'blocked_until'])
          .where('tenant_slug', '=', tenant)
          .where(
            'key',
            'in',
            keys.map((k) => k.key),
          )
          .execute();
        const recent = new Map(
          rows.filter((r) => r.last_failure_at >= now - rule.forgetAfterMs).map((r) => [r.key, r]),
        );
        const wait = Math.max(0, ...[...recent.values()].map((r) => r.blocked_until - now));
        if (wait > 0) return wait;
        await trx
          .insertInto('login_throttles')
          .values(
            keys.map(({ key, free }) => {
              const failures = (recent.get(key)?.failures ?? 0) + 1;
              const next = guessWait(rule, free, failures);
              // No wait is 0, not "until now": another request's clock may read a moment earlier.
              return {
                tenant_slug: tenant,
                key,
                failures,
                last_failure_at: now,
                blocked_until: next > 0 ? now + next : 0,
              };
            }),
          )
          .onConflict((oc) =>
            oc.columns(['tenant_slug', 'key']).doUpdateSet((eb) => ({
              failures: eb.ref('excluded.failures'),
              last_failure_at: eb.ref('excluded.last_failure_at'),
              blocked_until: eb.ref('excluded.blocked_until'),
            })),
          )
          .execute();
        return undefined;
      });
    },
    async giveBack(tenant, keys, forget = []) {
      if (keys.length === 0 && forget.length === 0) return;
      if (dialect === 'postgres') {
        await giveBackCall({
          locks: lockKeysOf(tenant, [...keys, ...forget]),
          space: LOCK_SPACE.guessKeys,
          tenant,
          keys,
          forget,
        });
        return;
      }
      // SQLite, under the transaction's write lock.
      await db.transaction().execute(async (trx) => {
        // Forgotten keys, and keys whose one failure is given back, go; the others count one less.
        await trx
          .deleteFrom('login_throttles')
          .where('tenant_slug', '=', tenant)
          .where((eb) =>
            eb.or([
              ...(forget.length ? [eb('key', 'in', forget)] : []),
              ...(keys.length ? [eb.and([eb('key', 'in', keys), eb('failures', '<=', 1)])] : []),
            ]),
          )
          .execute();
        if (keys.length === 0) return;
        await trx
          .updateTable('login_throttles')
          .set({ failures: sql<number>`failures - 1`, blocked_until: 0 })
          .where('tenant_slug', '=', tenant)
          .where('key', 'in', keys)
          .execute();
      });
    },
    async deleteIdleGuessKeys(before) {
      const result = await db
        .deleteFrom('login_throttles')
        .where((eb) => eb.or([eb('key', 'like', 'id:%'), eb('key', 'like', 'ip:%')]))
        .where('last_failure_at', '<', before)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
