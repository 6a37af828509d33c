// A gate that lets a fixed number of tasks run at once; the others wait their turn, first come
// first served. Password hashing goes through one (see passwords.ts): argon2id runs on libuv's
// thread pool, and more verifications at once than the machine has cores only makes each dearer.

export interface Gate {
  readonly limit: number;
  /** Runs `task` once a place is free, and frees the place when it settles, fulfilled or not. */
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function createGate(limit: number): Gate {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`a gate's limit must be a whole number ≥ 1, not ${limit}`);
  let running = 0;
  // A queue that does not shift an array: under a burst thousands may wait.
  let waiting: Array<() => void> = [];
  let head = 0;

  function enter(): Promise<void> | undefined {
    if (running < limit) {
      running++;
      return undefined;
    }
    return new Promise((resolve) => waiting.push(resolve));
  }

  function leave(): void {
    if (head < waiting.length) {
      // The place passes straight to the next in line, so a newcomer cannot take it first.
      const next = waiting[head++]!;
      if (head === waiting.length) {
        waiting = [];
        head = 0;
      } else if (head > 1024 && head * 2 > waiting.length) {
        waiting = waiting.slice(head);
        head = 0;
      }
      next();
    } else {
      running--;
    }
  }

  return {
    limit,
    async run(task) {
      const turn = enter();
      if (turn) await turn;
      try {
        return await task();
      } finally {
        leave();
      }
    },
  };
}
