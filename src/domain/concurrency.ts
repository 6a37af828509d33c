// A gate that lets a fixed number of tasks run at once; the others wait their turn, first come
// first served. Password hashing goes through one (see passwords.ts): argon2id runs on libuv's
// thread pool, and more verifications at once than the machine has cores only makes each dearer.
// The line is bounded: once `maxWaiting` tasks wait, a newcomer is refused at once with a
// GateFullError, which says how long the line would take to clear. Under a flood, waiting longer
// buys no throughput, only latency for everyone and memory for the requests held open. A task
// may bring an AbortSignal: aborted while it waits (its request went away), it leaves the line
// without running, and the gate rejects with the signal's reason. A task already running runs on.

export interface Gate {
  readonly limit: number;
  /**
   * Runs `task` once a place is free, and frees the place when it settles, fulfilled or not.
   * Rejects with a GateFullError, without running `task`, when the line is full, and with
   * `signal.reason` when the signal is aborted before its turn.
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export interface GateOptions {
  /** How many tasks may wait for a place (default: no bound); 0 runs a task at once or never. */
  maxWaiting?: number;
}

export class GateFullError extends Error {
  override name = 'GateFullError';
  /** How long the tasks already in the gate would take to finish, at their recent pace. */
  constructor(readonly clearsInMs: number) {
    super(`the gate's line is full; it clears in about ${Math.round(clearsInMs)} ms`);
  }
}

interface Waiter {
  /** Its signal aborted: it left the line. */
  gone: boolean;
  go(): void;
}

/** The weight of the newest task's duration in the moving average the estimate uses. */
const PACE_WEIGHT = 0.1;

export function createGate(limit: number, { maxWaiting = Number.POSITIVE_INFINITY }: GateOptions = {}): Gate {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`a gate's limit must be a whole number ≥ 1, not ${limit}`);
  if (!(maxWaiting >= 0) || (Number.isFinite(maxWaiting) && !Number.isInteger(maxWaiting)))
    throw new RangeError(`a gate's line must be a whole number ≥ 0, not ${maxWaiting}`);
  let running = 0;
  // A queue that does not shift an array: under a burst thousands may wait. A waiter whose signal
  // aborted stays in the array, marked gone, and leave() steps over it.
  let waiting: Waiter[] = [];
  let head = 0;
  let inLine = 0;
  // A task's duration, as a moving average: no figure until one has finished.
  let pace = 0;

  function enter(signal: AbortSignal | undefined): Promise<void> | undefined {
    signal?.throwIfAborted();
    if (running < limit) {
      running++;
      return undefined;
    }
    if (inLine >= maxWaiting) {
      // Every task in the gate, running or waiting, is ahead of a newcomer.
      throw new GateFullError(((running + inLine) / limit) * pace);
    }
    inLine++;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { gone: false, go: resolve };
      if (signal) {
        const abort = () => {
          waiter.gone = true;
          inLine--;
          reject(signal.reason);
        };
        signal.addEventListener('abort', abort, { once: true });
        waiter.go = () => {
          signal.removeEventListener('abort', abort);
          resolve();
        };
      }
      waiting.push(waiter);
    });
  }

  function leave(): void {
    while (head < waiting.length) {
      // The place passes straight to the next in line, so a newcomer cannot take it first.
      const next = waiting[head++]!;
      if (head === waiting.length) {
        waiting = [];
        head = 0;
      } else if (head > 1024 && head * 2 > waiting.length) {
        waiting = waiting.slice(head);
        head = 0;
      }
      if (!next.gone) {
        inLine--;
        next.go();
        return;
      }
    }
    running--;
  }

  return {
    limit,
    async run(task, signal) {
      const turn = enter(signal);
      if (turn) await turn;
      const started = performance.now();
      try {
        return await task();
      } finally {
        const took = performance.now() - started;
        pace = pace === 0 ? took : pace + PACE_WEIGHT * (took - pace);
        leave();
      }
    },
  };
}
