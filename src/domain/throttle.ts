// Throttling of guesses (ASVS 6.3.1, NIST 800-63B): consecutive failures per typed identifier
// and per IP address earn growing waits; per account they are counted towards NIST's limit of
// 100, after which the password stops working until it is reset.
//
// The typed-identifier and IP waits live in the limit store (the database, or Redis when
// configured). The account counts stay in the database whatever the store: a lock must last
// until the password is reset, which a cache that may restart empty or evict cannot promise.
import type { Repositories } from '../store/index.js';
import type { LimitStore } from '../store/limit-store.js';
import type { Clock } from './clock.js';

export const ACCOUNT_FAILURE_LIMIT = 100;
const MAX_WAIT_MS = 15 * 60 * 1000;
/** A key that has not failed for this long starts counting again (shared addresses forget). */
const FORGET_AFTER_MS = 60 * 60 * 1000;
/** Rows of `id:` and `ip:` keys idle this long are deleted by the sweep (long past forgetting). */
export const STALE_THROTTLE_MS = Math.max(FORGET_AFTER_MS, 24 * 60 * 60 * 1000);

/** Free failures before waits start, by kind of key. */
const FREE: Record<'id' | 'ip', number> = { id: 5, ip: 20 };

export type ThrottleKey = `id:${string}` | `ip:${string}`;

/** After the last free failure 1 s, doubling with each further one, at most 15 minutes. */
export function waitAfter(kind: 'id' | 'ip', failures: number): number {
  const over = failures - FREE[kind];
  return over < 0 ? 0 : Math.min(MAX_WAIT_MS, 1000 * 2 ** over);
}

export interface ThrottleService {
  /**
   * Seconds until every key may try again (undefined when none must wait), and which keys
   * have failures to forget after a success.
   */
  waitFor(tenant: string, keys: ThrottleKey[]): Promise<{ wait: number | undefined; failing: ThrottleKey[] }>;
  failed(tenant: string, keys: ThrottleKey[]): Promise<void>;
  succeeded(tenant: string, keys: ThrottleKey[]): Promise<void>;
  /** Consecutive wrong passwords of an account. */
  accountFailures(tenant: string, accountId: string): Promise<number>;
  accountFailed(tenant: string, accountId: string | undefined): Promise<void>;
  accountSucceeded(tenant: string, accountId: string): Promise<void>;
  /**
   * Deletes database rows of `id:`/`ip:` keys idle for a day; account rows stay while they hold
   * failures (NIST's lock). Answers how many went.
   */
  deleteStale(): Promise<number>;
}

export function createThrottleService(deps: {
  repos: Repositories;
  limits: LimitStore;
  clock: Clock;
}): ThrottleService {
  const { repos, limits, clock } = deps;
  return {
    async waitFor(tenant, keys) {
      const now = clock.now();
      const rows = (await limits.findGuessFailures(tenant, keys)).filter(
        (r) => now - r.last_failure_at < FORGET_AFTER_MS,
      );
      const until = Math.max(0, ...rows.map((r) => r.blocked_until));
      return {
        wait: until > now ? Math.ceil((until - now) / 1000) : undefined,
        failing: rows.map((r) => r.key as ThrottleKey),
      };
    },
    async failed(tenant, keys) {
      const now = clock.now();
      for (const key of keys) {
        const kind = key.startsWith('ip:') ? 'ip' : 'id';
        await limits.recordGuessFailure(
          tenant,
          key,
          now,
          (failures) => waitAfter(kind, failures),
          FORGET_AFTER_MS,
        );
      }
    },
    succeeded: (tenant, keys) => limits.clearGuessFailures(tenant, keys),
    async accountFailures(tenant, accountId) {
      const [row] = await repos.throttles.find(tenant, [`account:${accountId}`]);
      return row?.failures ?? 0;
    },
    async accountFailed(tenant, accountId) {
      // An unknown identifier writes too (one shared row), so both answers cost the same.
      await repos.throttles.recordFailure(
        tenant,
        accountId ? `account:${accountId}` : 'account:nobody',
        clock.now(),
        () => 0,
      );
    },
    accountSucceeded: (tenant, accountId) => repos.throttles.clear(tenant, [`account:${accountId}`]),
    deleteStale: () => repos.throttles.deleteIdleGuessKeys(clock.now() - STALE_THROTTLE_MS),
  };
}
