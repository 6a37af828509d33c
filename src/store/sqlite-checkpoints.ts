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
// automatic checkpoints off. PASSIVE never blocks the writer, and once a checkpoint has copied
// every frame the next commit starts the WAL again from its beginning, so it does not grow. A
// worker costs about 16 MB, so it only runs while there is work for it: after QUIET_SECONDS of
// little writing it stops and SQLite's automatic checkpoints take over again, as they do when
// the worker stops for any other reason. The WAL never grows without bound.
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

// CommonJS, evaluated in the worker: better-sqlite3 is a native CommonJS module.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
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

export interface Checkpointer {
  stop(): Promise<void>;
}

export function checkpointInBackground(
  sqlite: SQLite.Database,
  file: string,
  options: { quietSeconds?: number } = {},
): Checkpointer {
  const quietSeconds = options.quietSeconds ?? QUIET_SECONDS;
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const totalChanges = sqlite.prepare('select total_changes() as n').pluck();
  let worker: Worker | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let lastChanges = totalChanges.get() as number;
  let quiet = 0;

  const automatic = (on: boolean) => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${on ? AUTOMATIC_PAGES : 0}`);
  };

  function start() {
    const started = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module, file, intervalMs: INTERVAL_MS },
    });
    started.unref();
    started.on('error', () => {});
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
