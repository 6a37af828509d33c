// Password hashing runs at most a fixed number of hashes at once (VAKT_HASH_CONCURRENCY, default
// the machine's cores); the others wait their turn, first come first served, and a hash that
// fails still gives its place to the next. Without the limit, every login in flight takes one of
// libuv's threads: 4 verifications at once on 2 cores cost each about a quarter more CPU than 2
// (docs/performance.md), and the token endpoint's signatures wait behind them. At most
// VAKT_HASH_QUEUE wait (default 64 per place); a newcomer beyond that is refused at once with a
// BusyError (503 and Retry-After at the pages, test/logins.busy.http.test.ts).
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { loadSettings, workerHashConcurrency } from '../src/config/settings.js';
import { createGate, GateFullError } from '../src/domain/concurrency.js';
import { BusyError } from '../src/domain/errors.js';
import { createPasswordHasher, WAITING_PER_PLACE } from '../src/domain/passwords.js';
import { runNode } from './helpers/process.js';

/** A task the test settles by hand, which records when it started. */
function pending(started: string[], name: string) {
  let settle!: { resolve: (value: string) => void; reject: (error: Error) => void };
  const task = () => {
    started.push(name);
    return new Promise<string>((resolve, reject) => {
      settle = { resolve, reject };
    });
  };
  return { task, settle: () => settle };
}

describe('a gate', () => {
  test('runs at most its limit at once, and the rest in the order they came', async () => {
    const gate = createGate(2);
    const started: string[] = [];
    const tasks = ['a', 'b', 'c', 'd', 'e'].map((name) => pending(started, name));
    const results = tasks.map((t) => gate.run(t.task));
    await tick();
    assert.deepEqual(started, ['a', 'b']);

    tasks[1]!.settle().resolve('B');
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c'], 'the place b left went to c, the first waiting');
    assert.equal(await results[1], 'B');

    // A task that fails frees its place too, and its caller gets the failure.
    tasks[0]!.settle().reject(new Error('a failed'));
    await assert.rejects(results[0]!, /a failed/);
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c', 'd']);

    // A newcomer does not overtake e, which is still waiting.
    const late = pending(started, 'late');
    const lateResult = gate.run(late.task);
    tasks[2]!.settle().resolve('C');
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c', 'd', 'e']);
    tasks[3]!.settle().resolve('D');
    tasks[4]!.settle().resolve('E');
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c', 'd', 'e', 'late']);
    late.settle().resolve('late');
    assert.deepEqual(await Promise.all([results[2], results[3], results[4], lateResult]), [
      'C',
      'D',
      'E',
      'late',
    ]);

    // Empty again: two tasks start at once, with no one to wait for.
    const again = [pending(started, 'x'), pending(started, 'y')];
    const againResults = again.map((t) => gate.run(t.task));
    await tick();
    assert.deepEqual(started.slice(-2), ['x', 'y']);
    for (const t of again) t.settle().resolve('done');
    await Promise.all(againResults);
  });

  test('a task that throws before it returns a promise frees its place', async () => {
    const gate = createGate(1);
    await assert.rejects(
      gate.run(() => {
        throw new Error('at once');
      }),
      /at once/,
    );
    assert.equal(await gate.run(async () => 'next'), 'next');
  });

  test('thousands waiting are served in order', async () => {
    const gate = createGate(3);
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 5000 }, (_, i) =>
        gate.run(async () => {
          order.push(i);
          await tick();
        }),
      ),
    );
    assert.deepEqual(
      order,
      Array.from({ length: 5000 }, (_, i) => i),
    );
  });

  test('a limit that is not a whole number from 1 is refused', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) assert.throws(() => createGate(limit), RangeError);
    for (const maxWaiting of [-1, 0.5, Number.NaN])
      assert.throws(() => createGate(1, { maxWaiting }), RangeError);
  });

  test('with a full line, a newcomer is refused at once and its task never runs', async () => {
    const gate = createGate(1, { maxWaiting: 2 });
    const started: string[] = [];
    const tasks = ['a', 'b', 'c'].map((name) => pending(started, name));
    const results = tasks.map((t) => gate.run(t.task));
    await tick();
    assert.deepEqual(started, ['a'], 'a runs, b and c wait');

    const refused = pending(started, 'refused');
    const error = await gate.run(refused.task).catch((e: unknown) => e);
    assert.ok(error instanceof GateFullError, String(error));
    assert.equal(error.clearsInMs, 0, 'no task has finished yet, so no pace to estimate with');
    await tick();
    assert.deepEqual(started, ['a'], 'the refused task did not run, and took no place');

    // One place frees: b runs, c waits, and one newcomer may wait again.
    tasks[0]!.settle().resolve('A');
    await tick();
    assert.deepEqual(started, ['a', 'b']);
    const late = pending(started, 'late');
    const lateResult = gate.run(late.task);
    const alsoRefused = await gate.run(async () => 'never').catch((e: unknown) => e);
    assert.ok(alsoRefused instanceof GateFullError);
    assert.ok(alsoRefused.clearsInMs > 0, 'with a task finished, the line has a pace');

    tasks[1]!.settle().resolve('B');
    await tick();
    tasks[2]!.settle().resolve('C');
    await tick();
    late.settle().resolve('late');
    assert.deepEqual(await Promise.all([...results, lateResult]), ['A', 'B', 'C', 'late']);
    assert.deepEqual(started, ['a', 'b', 'c', 'late']);
  });

  test('with no line at all, a task runs at once or not at all', async () => {
    const gate = createGate(1, { maxWaiting: 0 });
    const started: string[] = [];
    const first = pending(started, 'first');
    const running = gate.run(first.task);
    await tick();
    await assert.rejects(
      gate.run(async () => 'second'),
      GateFullError,
    );
    first.settle().resolve('first');
    assert.equal(await running, 'first');
    assert.equal(await gate.run(async () => 'third'), 'third');
  });
  test('a waiting task whose signal aborts leaves the line without running; a running one runs on', async () => {
    const gate = createGate(1, { maxWaiting: 2 });
    const started: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((name) => pending(started, name));
    const controllers = [new AbortController(), new AbortController()];
    const first = gate.run(a!.task, controllers[0]!.signal);
    const second = gate.run(b!.task, controllers[1]!.signal);
    await tick();
    assert.deepEqual(started, ['a']);

    // b's request goes away: b leaves the line, rejected with the signal's reason.
    controllers[1]!.abort();
    await assert.rejects(second, { name: 'AbortError' });
    // Its place in the line is free again: two may wait, not one.
    const third = gate.run(c!.task);
    const fourth = gate.run(async () => 'd');
    await assert.rejects(
      gate.run(async () => 'never'),
      GateFullError,
    );

    // a is running: its abort changes nothing.
    controllers[0]!.abort();
    a!.settle().resolve('A');
    await tick();
    c!.settle().resolve('C');
    assert.deepEqual(await Promise.all([first, third, fourth]), ['A', 'C', 'd']);
    assert.deepEqual(started, ['a', 'c'], 'b never ran');

    // A signal aborted before the gate is even asked: nothing runs.
    await assert.rejects(
      gate.run(async () => 'late', AbortSignal.abort()),
      { name: 'AbortError' },
    );
  });
});

describe('the password hasher', () => {
  test('runs as many at once as the machine has cores unless told', () => {
    assert.equal(createPasswordHasher().concurrency, availableParallelism());
    assert.equal(createPasswordHasher(undefined, { concurrency: 1 }).concurrency, 1);
  });

  test("leaves a thread of libuv's pool for other work, such as a signature", async () => {
    // A pool of 2 threads: with one verification at once, a PBKDF2 queued behind two finishes
    // first; with two at once (the control), it waits for a thread.
    const order = async (concurrency: number) => {
      const run = await runNode(['--import', 'tsx', 'test/helpers/hash-pool-probe.ts', String(concurrency)], {
        env: { ...process.env, UV_THREADPOOL_SIZE: '2' },
      });
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout) as string[];
    };
    const [one, two] = await Promise.all([order(1), order(2)]);
    assert.equal(one[0], 'pbkdf2', `one at a time: ${one.join(', ')}`);
    assert.notEqual(two[0], 'pbkdf2', `two at once: ${two.join(', ')}`);
  });

  test('one at a time, concurrent verifications still get each its own answer', async () => {
    const hasher = createPasswordHasher(undefined, { concurrency: 1 });
    const stored = await hasher.hash('riktig hest batteri');
    const attempts = ['riktig hest batteri', 'feil', 'riktig hest batteri', 'Riktig hest batteri'];
    assert.deepEqual(await Promise.all(attempts.map((password) => hasher.verify(stored, password))), [
      true,
      false,
      true,
      false,
    ]);
  });

  test('lets 64 per place wait unless told', () => {
    assert.equal(WAITING_PER_PLACE, 64);
    assert.equal(createPasswordHasher(undefined, { concurrency: 2 }).maxWaiting, 128);
    assert.equal(createPasswordHasher(undefined, { concurrency: 2, maxWaiting: 0 }).maxWaiting, 0);
  });

  test('with a full line, hash, verify and the dummy verify are refused, not answered', async () => {
    const refusals: BusyError[] = [];
    const hasher = createPasswordHasher(undefined, {
      concurrency: 1,
      maxWaiting: 0,
      onBusy: (error) => refusals.push(error),
    });
    const stored = await hasher.hash('riktig hest batteri');
    // The one place is taken by a hash; everything else is refused while it runs.
    const holding = hasher.hash('en annen');
    const answers = await Promise.allSettled([
      hasher.verify(stored, 'riktig hest batteri'),
      hasher.verify(stored, 'feil'),
      hasher.verifyDummy('feil'),
      hasher.hash('tredje'),
    ]);
    for (const answer of answers) {
      assert.equal(answer.status, 'rejected', 'a refusal is not a false');
      assert.ok(answer.reason instanceof BusyError, String(answer.reason));
      assert.equal(answer.reason.status, 503);
      assert.ok(answer.reason.retryAfterSeconds >= 1);
    }
    assert.equal(refusals.length, 4, 'each refusal is reported');
    await holding;
    // The line is free again, and a refused first dummy verify did not stay refused.
    assert.equal(await hasher.verify(stored, 'riktig hest batteri'), true);
    await hasher.verifyDummy('feil');
  });

  test('a hash that makes the verification fail frees the place for the next', async () => {
    const hasher = createPasswordHasher(undefined, { concurrency: 1 });
    const stored = await hasher.hash('riktig hest batteri');
    // Looks like argon2id to the dispatch, and makes the library throw.
    assert.equal(await hasher.verify('$argon2id$v=19$m=19456,t=2,p=1$broken', 'riktig hest batteri'), false);
    assert.equal(await hasher.verify(stored, 'riktig hest batteri'), true);
    await hasher.verifyDummy('riktig hest batteri');
    assert.equal(await hasher.verify(stored, 'riktig hest batteri'), true);
  });
});

describe('VAKT_HASH_CONCURRENCY', () => {
  const base = { VAKT_DATA_DIR: '.vakt-never-created', VAKT_SECRET: 'x'.repeat(32) };

  test('is read when set, and left to the machine when not', () => {
    assert.equal(loadSettings('test', { ...base, VAKT_HASH_CONCURRENCY: '3' }).hashConcurrency, 3);
    assert.equal(loadSettings('test', base).hashConcurrency, undefined);
  });

  test('VAKT_HASH_QUEUE is read when set, 0 included, and empty is unset', () => {
    assert.equal(loadSettings('test', { ...base, VAKT_HASH_QUEUE: '10' }).hashQueue, 10);
    assert.equal(loadSettings('test', { ...base, VAKT_HASH_QUEUE: '0' }).hashQueue, 0);
    assert.equal(loadSettings('test', { ...base, VAKT_HASH_QUEUE: '' }).hashQueue, undefined);
    assert.equal(loadSettings('test', base).hashQueue, undefined);
  });

  test('--workers N gives each worker its share of the cores, rounded up, at least 1', () => {
    assert.equal(workerHashConcurrency(1, 2), 2);
    assert.equal(workerHashConcurrency(2, 2), 1);
    assert.equal(workerHashConcurrency(4, 2), 1);
    assert.equal(workerHashConcurrency(3, 8), 3);
  });
});
