// `npm run bench:burst`: what a burst of password checks does to waiting, with the hash line
// bounded as vakt runs it (VAKT_HASH_QUEUE's default: 64 per place) and unbounded (as before it).
//
// For each line, a password hasher at vakt's defaults (argon2id at OWASP's parameters, as many
// at once as this machine has cores) is warmed with 10 verifies; then BURST_SIZE verifies
// (default 1000) are called at once, each timed from its call to its answer. It prints how many
// were served and refused, the waits of the served (p50, p99, max), the slowest refusal, and when
// the last answer came. No HTTP and no database: this is the line alone, the part of a login a
// burst makes wait (docs/performance.md, "A bounded line").
import { availableParallelism } from 'node:os';
import { BusyError } from '../src/domain/errors.js';
import { createPasswordHasher, WAITING_PER_PLACE } from '../src/domain/passwords.js';

const BURST_SIZE = Number(process.env.BURST_SIZE ?? 1000);
if (!Number.isInteger(BURST_SIZE) || BURST_SIZE < 1) {
  console.error(`BURST_SIZE must be a whole number from 1, not ${process.env.BURST_SIZE}`);
  process.exit(2);
}

function percentile(sorted: number[], p: number): string {
  if (sorted.length === 0) return '—';
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(0);
}

const cores = availableParallelism();
const lines: [string, number | undefined][] = [
  [
    `line ${WAITING_PER_PLACE * cores} (the default: ${WAITING_PER_PLACE} per place, ${cores} places)`,
    undefined,
  ],
  ['unbounded (as before the line had a bound)', Number.POSITIVE_INFINITY],
];
console.log(`${BURST_SIZE} argon2id verifies at once, ${cores} at a time:`);
for (const [label, maxWaiting] of lines) {
  const hasher = createPasswordHasher(undefined, maxWaiting === undefined ? {} : { maxWaiting });
  const stored = await hasher.hash('riktig hest batteri');
  for (let i = 0; i < 10; i++) await hasher.verify(stored, 'riktig hest batteri');
  const served: number[] = [];
  const refused: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: BURST_SIZE }, async () => {
      const called = performance.now();
      try {
        await hasher.verify(stored, 'riktig hest batteri');
        served.push(performance.now() - called);
      } catch (error) {
        if (!(error instanceof BusyError)) throw error;
        refused.push(performance.now() - called);
      }
    }),
  );
  const all = performance.now() - start;
  served.sort((a, b) => a - b);
  refused.sort((a, b) => a - b);
  console.log(`  ${label}:`);
  console.log(
    `    served ${served.length}, waited p50 ${percentile(served, 50)} / p99 ${percentile(served, 99)} / max ${percentile(served, 100)} ms`,
  );
  console.log(`    refused ${refused.length}, each within ${percentile(refused, 100)} ms`);
  console.log(`    the last answer after ${(all / 1000).toFixed(1)} s`);
}
