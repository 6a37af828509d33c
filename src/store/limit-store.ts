// The store behind the limits on sending codes and the waits after wrong guesses: one contract,
// kept in the database by default or in Redis when VAKT_REDIS_URL is set (redis-limit-store.ts).
// The services use only this interface, so both backends answer with the same figures.
import type { CodePlaceRepository } from './code-place-repository.js';
import type { ThrottleRepository } from './throttle-repository.js';

/** What codes are counted by: the destination, the asking IP address, the destination's country. */
export type CodeCounterScope = 'destination' | 'ip' | 'destination_country';

/** One counter of sent codes and the sliding windows it is limited by. */
export interface CodeCounter {
  by: CodeCounterScope;
  value: string;
  windows: { seconds: number; max: number }[];
}

/** A key guesses are counted by (`id:…`, `ip:…`), and its failures free of any wait. */
export interface GuessKey {
  key: string;
  free: number;
}

export interface GuessRule {
  /** The first wait, doubled with each failure after it, up to `maxWaitMs`. */
  firstWaitMs: number;
  maxWaitMs: number;
  forgetAfterMs: number;
}

/** The wait after `failures`: none while they are fewer than `free`, then 1 s, 2 s, 4 s … */
export function guessWait(rule: GuessRule, free: number, failures: number): number {
  const over = failures - free;
  return over < 0 ? 0 : Math.min(rule.maxWaitMs, rule.firstWaitMs * 2 ** over);
}

export interface LimitStore {
  /**
   * Takes a place for code `id` (made at `now`) in every window of every counter, or, when any
   * window is full, takes none and answers how many ms until one place frees: with `max` codes
   * in a window, a place frees when the max-th newest leaves it.
   */
  takeCodePlace(
    tenant: string,
    counters: CodeCounter[],
    id: string,
    now: number,
  ): Promise<number | undefined>;
  /** The code was not delivered: its place is given back, so a failed delivery costs nothing. */
  returnCodePlace(tenant: string, counters: CodeCounter[], id: string): Promise<void>;
  /**
   * Takes one guess on every key at once, before the guess is checked, so that guesses made
   * at the same moment cannot all pass a count none has reached yet. When any key must still
   * wait, takes none and answers the longest wait in ms. Otherwise each key counts one more
   * failure (from 1 again when its last is older than `rule.forgetAfterMs`) and must wait
   * `guessWait(rule, failures)` from now; answers undefined.
   */
  takeGuess(tenant: string, keys: GuessKey[], now: number, rule: GuessRule): Promise<number | undefined>;
  /**
   * The guesses were not wrong (right, or not a guess at all): each of `keys` gets its try back,
   * one failure less, and no wait from it (no wait at all, not one ending now: a take that read
   * the clock a moment before would see the rest of this "now" as a wait). The failures of the
   * `forget` keys are forgotten (the identifier after a right password). One change.
   */
  giveBackGuess(tenant: string, keys: string[], forget?: string[]): Promise<void>;
  /** Fails with a clear message when the backend cannot be reached (checked at start-up). */
  connect(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The database backend. A code's place is taken in code_places in one transaction with the
 * check (code-place-repository.ts), before the code is sent: a burst of requests at the same
 * moment cannot pass a nearly full window together, and a refused request writes nothing.
 */
export function createDatabaseLimitStore(repos: {
  places: CodePlaceRepository;
  throttles: ThrottleRepository;
}): LimitStore {
  return {
    takeCodePlace: (tenant, counters, id, now) =>
      repos.places.take(
        tenant,
        counters.map(({ by, value, windows }) => ({ scope: by, value, windows })),
        id,
        now,
      ),
    returnCodePlace: (tenant, _counters, id) => repos.places.giveBack(tenant, id),
    takeGuess: (tenant, keys, now, rule) => repos.throttles.takeGuess(tenant, keys, now, rule),
    giveBackGuess: (tenant, keys, forget) => repos.throttles.giveBack(tenant, keys, forget),
    connect: async () => {},
    close: async () => {},
  };
}
