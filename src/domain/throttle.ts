// Throttling of guesses (ASVS 6.3.1, NIST 800-63B): consecutive failures per typed identifier
// and per IP address earn growing waits; per account they are counted towards NIST's limit of
// 100, after which the password stops working until it is reset.
//
// A guess takes its try on the typed identifier and the address before it is checked, so
// guesses sent at the same moment cannot all pass a count none of them has raised yet; a right
// guess gives its try back. The typed-identifier and IP waits live in the limit store (the
// database, or Redis when configured). The account counts stay in the database whatever the
// store: a lock must last until the password is reset, which a cache that may restart empty or
// evict cannot promise.
import type { Repositories } from '../store/index.js';
import type { GuessRule, LimitStore } from '../store/limit-store.js';
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
const RULE: GuessRule = { firstWaitMs: 1000, maxWaitMs: MAX_WAIT_MS, forgetAfterMs: FORGET_AFTER_MS };

export interface ThrottleService {
  /**
   * Takes a guess on every key before it is checked (ASVS 6.3.1): answers the seconds to wait
   * when a key must (and takes nothing), or undefined when the guess may go on and has been
   * counted as a failure on every key. A guess that was right, or was not a guess, gives its
   * try back with `giveBack`; one that was wrong is already counted.
   */
  take(tenant: string, keys: ThrottleKey[]): Promise<number | undefined>;
  /** Gives `keys` their tries back and forgets the failures of `forget` (a right password's identifier). */
  giveBack(tenant: string, keys: ThrottleKey[], forget?: ThrottleKey[]): Promise<void>;
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
    async take(tenant, keys) {
      const wait = await limits.takeGuess(
        tenant,
        keys.map((key) => ({ key, free: FREE[key.startsWith('ip:') ? 'ip' : 'id'] })),
        clock.now(),
        RULE,
      );
      return wait === undefined ? undefined : Math.ceil(wait / 1000);
    },
    giveBack: (tenant, keys, forget) => limits.giveBackGuess(tenant, keys, forget),
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
