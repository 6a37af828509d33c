// Run by password-hashing.concurrency.test.ts in a child with UV_THREADPOOL_SIZE=2 (the pool's
// size is fixed at its first use, so the test process cannot change its own): two verifications
// through a hasher with the concurrency in argv[2], then a PBKDF2 of one round on the same pool.
// Prints the order in which the three finished, as JSON.
import { pbkdf2 } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { createPasswordHasher } from '../../src/domain/passwords.js';

// Dearer than OWASP's parameters, so that a verification takes tens of milliseconds and the
// one-round PBKDF2 on a free thread cannot lose the race by chance.
const hasher = createPasswordHasher(
  { memoryCost: 65536, timeCost: 3, parallelism: 1 },
  { concurrency: Number(process.argv[2]) },
);
const stored = await hasher.hash('riktig hest batteri');
const finished: string[] = [];
const verifications = [1, 2].map(async (n) => {
  await hasher.verify(stored, 'riktig hest batteri');
  finished.push(`verify ${n}`);
});
await tick();
const other = new Promise<void>((resolve, reject) =>
  pbkdf2('x', 'salt', 1, 32, 'sha256', (error) => {
    if (error) reject(error);
    finished.push('pbkdf2');
    resolve();
  }),
);
await Promise.all([...verifications, other]);
console.log(JSON.stringify(finished));
