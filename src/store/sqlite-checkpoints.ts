// SQLite WAL checkpoints off the event loop. With synchronous=NORMAL a commit only appends to
// the WAL; the checkpoint that copies the WAL back into the database file is where SQLite waits
// for the disk (fsync). Left automatic, it runs inside whichever commit crosses 1,000 pages, on
// the event loop, and every request behind it waits: measured here, it made an oidc_models upsert
// cost 225 µs of wall time against 70 µs without it (a loop of 20,000 upserts on this machine;
// `npm run bench` shows the effect on logins and refresh grants).
//
// So the server's connection turns automatic checkpoints off and a worker thread with its own
// connection runs PASSIVE checkpoints every second: PASSIVE never blocks the writer, and once a
// checkpoint has copied every frame the next commit starts the WAL again from its beginning, so
// it does not grow. If the worker stops for any reason, the connection turns automatic
// checkpoints back on: the WAL never grows without bound.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

const INTERVAL_MS = 1000;
/** SQLite's own default for wal_autocheckpoint, restored when the worker is gone. */
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

export function checkpointInBackground(sqlite: SQLite.Database, file: string): Checkpointer {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { module, file, intervalMs: INTERVAL_MS },
  });
  worker.unref();
  let stopping = false;
  sqlite.pragma('wal_autocheckpoint = 0');
  const restore = () => {
    if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${AUTOMATIC_PAGES}`);
  };
  worker.on('error', () => {});
  worker.on('exit', () => {
    if (!stopping) restore();
  });
  return {
    async stop() {
      stopping = true;
      // Unref'd so that it never keeps a process alive, but its exit must be waited for here.
      worker.ref();
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('stop');
      await exited;
    },
  };
}
