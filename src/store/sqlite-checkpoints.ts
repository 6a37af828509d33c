// SQLite WAL checkpoints off the event loop while the server is busy writing. With
// synchronous=NORMAL a commit only appends to the WAL; the checkpoint that copies the WAL back
// into the database file is where SQLite waits for the disk (fsync). Left automatic, it runs
// inside whichever commit crosses 1,000 pages, on the event loop, and every request behind it
// waits: a loop of 20,000 oidc_models upserts on this machine took 225 µs of wall time each with
// automatic checkpoints and 69 µs without; under `npm run bench` refresh grants went from 568/s
// to 793/s with the checkpoints moved off the loop.
//
// So, while the connection changes more than BUSY_CHANGES rows a second, a worker thread with its
// own connection runs PASSIVE checkpoints every second and the server's connection turns
// automatic checkpoints off. PASSIVE never blocks the writer, and that is also why it alone
// cannot keep the WAL small: the WAL starts again from its beginning only when a write finds
// every frame copied, and under steady writes some always arrive while the worker copies. Left
// so, the WAL grew by 40 MB a second under refresh grants (4.2 GB after 100 s, beside a 126 MB
// database), and each grant cost more: 1.22 ms of server CPU over 10 s of load, 1.63 ms over 90 s.
// So when the worker finds FINISH_FRAMES or more in the WAL, the server's own connection then
// checkpoints the few hundred frames that arrived while the worker copied. That runs on the event
// loop, so none of this process's writes can slip in, and the next commit starts the WAL again.
// It blocked the loop for 5-18 ms once a second under refresh grants, where the worker copied
// 5,000-11,000 frames. Other processes on the same file (`--workers N`) can still write between;
// should the WAL reach RESTART_FRAMES all the same, the worker follows its PASSIVE checkpoint with
// a RESTART one, which holds every writer back (they wait in SQLite's busy handler) while it
// copies the little that came meanwhile, and then lets the next commit start the WAL again.
//
// A worker costs about 16 MB, so it only runs while there is work for it: after QUIET_SECONDS of
// little writing it stops and SQLite's automatic checkpoints take over again, as they do when
// the worker stops for any other reason. When the WAL starts again, a file grown past
// WAL_SIZE_LIMIT by a burst is cut back to it (journal_size_limit).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

const INTERVAL_MS = 1000;
/** Rows changed in a second that make it worth a worker. */
const BUSY_CHANGES = 50;
/** Seconds below BUSY_CHANGES after which the worker stops. */
export const QUIET_SECONDS = 60;
/** SQLite's own default for wal_autocheckpoint. */
const AUTOMATIC_PAGES = 1000;
/** Frames in the WAL (16 MiB of 4 KiB pages) from which the server's connection finishes a checkpoint. */
const FINISH_FRAMES = 4096;
/** The size a WAL file is cut back to when it starts again (bytes). */
export const WAL_SIZE_LIMIT = 64 * 1024 * 1024;
/** Frames in the WAL (64 MiB of 4 KiB pages) from which the worker forces it to start again. */
const RESTART_FRAMES = 16_384;

/** What `pragma wal_checkpoint` answers: frames in the WAL, and frames copied to the file. */
interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

// CommonJS, evaluated in the worker: better-sqlite3 is a native CommonJS module.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const checkpoint = () => {
  try {
    const done = db.pragma('wal_checkpoint(PASSIVE)')[0];
    // Past restartFrames the server's finishing has not been enough (other processes write
    // between): RESTART holds every writer back while it copies what came during the PASSIVE
    // one, and makes the next commit start the WAL again.
    if (done.log >= workerData.restartFrames) db.pragma('wal_checkpoint(RESTART)');
    // Tells the server how far it got: the server's connection copies the rest.
    else parentPort.postMessage(done);
  } catch {
    // Busy or locked: the next tick tries again.
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/** Tests' overrides of when the worker stops, and of when a checkpoint is finished or forced. */
export interface CheckpointOptions {
  quietSeconds?: number;
  finishFrames?: number;
  restartFrames?: number;
}

export interface Checkpointer {
  stop(): Promise<void>;
}

export function checkpointInBackground(
  sqlite: SQLite.Database,
  file: string,
  options: CheckpointOptions = {},
): Checkpointer {
  const quietSeconds = options.quietSeconds ?? QUIET_SECONDS;
  const finishFrames = options.finishFrames ?? FINISH_FRAMES;
  const restartFrames = options.restartFrames ?? RESTART_FRAMES;
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const totalChanges = sqlite.prepare('select total_changes() as n').pluck();
  let worker: Worker | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let lastChanges = totalChanges.get() as number;
  let quiet = 0;

  /**
   * Copies what the worker's checkpoint left, on this connection: no write of this process can
   * come between, so the next commit starts the WAL again. Skipped inside a transaction (SQLite
   * refuses it there); the worker's next round comes back to it.
   */
  function finishCheckpoint() {
    if (!sqlite.open || sqlite.inTransaction) return;
    try {
      sqlite.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or locked (another process): the next round tries again.
    }
  }

  const automatic = (on: boolean) => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${on ? AUTOMATIC_PAGES : 0}`);
  };

  function start() {
    const started = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module, file, intervalMs: INTERVAL_MS, restartFrames },
    });
    started.unref();
    started.on('error', () => {});
    // `log` counts the frames when the worker began; more came while it copied, even when it
    // copied all it saw.
    started.on('message', (done: CheckpointResult) => {
      if (done.log >= finishFrames) finishCheckpoint();
    });
    exited = new Promise((resolve) => started.once('exit', resolve));
    started.once('exit', () => {
      if (worker === started) worker = undefined;
      automatic(true);
    });
    worker = started;
    automatic(false);
  }

  async function stopWorker() {
    const running = worker;
    if (!running) return;
    worker = undefined;
    automatic(true);
    // Unref'd so that it never keeps a process alive, but its exit is waited for here.
    running.ref();
    running.postMessage('stop');
    await exited;
  }

  const watch = setInterval(() => {
    if (!sqlite.open) return;
    const changes = totalChanges.get() as number;
    const busy = changes - lastChanges >= BUSY_CHANGES;
    lastChanges = changes;
    quiet = busy ? 0 : quiet + 1;
    if (busy && !worker) start();
    else if (worker && quiet >= quietSeconds) void stopWorker();
  }, INTERVAL_MS);
  watch.unref();

  return {
    async stop() {
      clearInterval(watch);
      await stopWorker();
    },
  };
}
