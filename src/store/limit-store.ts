// The store behind the limits on sending codes and the waits after wrong guesses: one contract,
// kept in the database by default or in Redis when VAKT_REDIS_URL is set (redis-limit-store.ts).
// The services use only this interface, so both backends answer with the same figures.
import type { CodePlaceRepository } from './code-place-repository.js';
import type { ThrottleRepository, ThrottleRow } from './throttle-repository.js';

/** What codes are counted by: the destination, the asking IP address, the destination's country. */
export type CodeCounterScope = 'destination' | 'ip' | 'destination_country';

/** One counter of sent codes and the sliding windows it is limited by. */
export interface CodeCounter {
  by: CodeCounterScope;
  value: string;
  windows: { seconds: number; max: number }[];
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
  /** Failures on record for these keys (`id:…`, `ip:…`). */
  findGuessFailures(tenant: string, keys: string[]): Promise<ThrottleRow[]>;
  /**
   * One more failure (counting from 1 again when the last is older than `forgetAfterMs`); `waitAfter`
   * gives the wait in ms after the new count. Returns the count.
   */
  recordGuessFailure(
    tenant: string,
    key: string,
    now: number,
    waitAfter: (failures: number) => number,
    forgetAfterMs: number,
  ): Promise<number>;
  clearGuessFailures(tenant: string, keys: string[]): Promise<void>;
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
    findGuessFailures: (tenant, keys) => repos.throttles.find(tenant, keys),
    recordGuessFailure: (tenant, key, now, waitAfter, forgetAfterMs) =>
      repos.throttles.recordFailure(tenant, key, now, waitAfter, forgetAfterMs),
    clearGuessFailures: (tenant, keys) => repos.throttles.clear(tenant, keys),
    connect: async () => {},
    close: async () => {},
  };
}
