// `npm run bench:compare -- REV [ROUNDS]`: is this working tree faster or slower than REV?
//
// One bench run per side says little on a shared machine: its speed drifts over an hour by more
// than most changes move a figure (docs/performance.md). So this runs `npm run bench` on REV
// (a temporary git worktree, using this checkout's node_modules) and on this working tree in
// turn, ROUNDS times each (default 3), and prints each figure's median and range per side.
// A difference inside both ranges is noise. The BENCH_* variables are passed to every run, so
// `BENCH_PHASES=refresh BENCH_DATABASES=sqlite npm run bench:compare -- HEAD~1` compares one
// phase on one database.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Load {
  completed: number;
  perSecond: number;
  p99: number;
  server?: {
    cpuMs: number;
    requests?: Record<string, { count: number; cpuMs: number; statements?: number }>;
  };
  databaseCpuMs?: number;
}
interface Result {
  kind: string;
  idleRss: { compiled?: number; tsx?: number };
  [phase: string]: unknown;
}

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const [rev, roundsText = '3'] = process.argv.slice(2);
const rounds = Number(roundsText);
if (!rev || !Number.isInteger(rounds) || rounds < 1) {
  console.error('usage: npm run bench:compare -- REV [ROUNDS]   (REV: a commit, branch or tag; ROUNDS >= 1)');
  process.exit(2);
}
let commit: string;
try {
  commit = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], {
    cwd: repo,
    encoding: 'utf8',
  }).trim();
} catch {
  console.error(`bench:compare: ${rev} is not a commit in ${repo}`);
  process.exit(2);
}

const worktree = join(mkdtempSync(join(tmpdir(), 'vakt-bench-compare-')), 'tree');
execFileSync('git', ['worktree', 'add', '--detach', '--quiet', worktree, commit], { cwd: repo });
symlinkSync(join(repo, 'node_modules'), join(worktree, 'node_modules'));
const cleanUp = () => {
  spawnSync('git', ['worktree', 'remove', '--force', worktree], { cwd: repo });
  rmSync(dirname(worktree), { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanUp();
  process.exit(130);
});

/** One `npm run bench` in `dir`; its results file's entries. */
function runBench(dir: string, label: string, round: number): Result[] {
  console.log(`round ${round}/${rounds}: ${label} ...`);
  const run = spawnSync('node', ['--import', 'tsx', 'bench/bench.ts'], {
    cwd: dir,
    env: process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const file = /^results: (.+)$/m.exec(run.stdout ?? '')?.[1];
  if (run.status !== 0 || !file) {
    console.error(run.stdout, run.stderr);
    throw new Error(`the bench failed in ${dir} (exit ${run.status})`);
  }
  return (JSON.parse(readFileSync(file, 'utf8')) as { results: Result[] }).results;
}

const sides = [
  { label: `${rev} (${commit.slice(0, 7)})`, dir: worktree, runs: [] as Result[][] },
  { label: 'this working tree', dir: repo, runs: [] as Result[][] },
];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const side of sides) side.runs.push(runBench(side.dir, side.label, round));
  }
} finally {
  cleanUp();
}

const load = (r: Result, phase: string) => r[phase] as Load | undefined;
const perOp = (l: Load | undefined, ms: number | undefined) =>
  l && ms !== undefined && l.completed > 0 ? ms / l.completed : undefined;
const figures: [string, (r: Result) => number | undefined][] = [
  ['argon2id verify/s', (r) => load(r, 'argon2')?.perSecond],
  ['password logins/s', (r) => load(r, 'logins')?.perSecond],
  [
    '  share of the ceiling %',
    (r) => {
      const logins = load(r, 'logins')?.perSecond;
      const ceiling = load(r, 'argon2')?.perSecond;
      return logins !== undefined && ceiling ? (100 * logins) / ceiling : undefined;
    },
  ],
  ['  server CPU ms/login', (r) => perOp(load(r, 'logins'), load(r, 'logins')?.server?.cpuMs)],
  ['  postgres CPU ms/login', (r) => perOp(load(r, 'logins'), load(r, 'logins')?.databaseCpuMs)],
  ['refresh grants/s', (r) => load(r, 'refresh')?.perSecond],
  ['  server CPU ms/refresh', (r) => perOp(load(r, 'refresh'), load(r, 'refresh')?.server?.cpuMs)],
  ['  postgres CPU ms/refresh', (r) => perOp(load(r, 'refresh'), load(r, 'refresh')?.databaseCpuMs)],
  ['SMS codes/s', (r) => load(r, 'smsJourneys')?.perSecond],
  [
    '  server CPU ms/accepted send',
    (r) => perOp(load(r, 'acceptedSends'), load(r, 'acceptedSends')?.server?.cpuMs),
  ],
  [
    '  server CPU ms/refused send',
    (r) => perOp(load(r, 'refusedSends'), load(r, 'refusedSends')?.server?.cpuMs),
  ],
  [
    'idle RSS MB, compiled',
    (r) => (r.idleRss.compiled === undefined ? undefined : r.idleRss.compiled / 2 ** 20),
  ],
];

// The logins of one loop ('steps'), per login: the server's CPU in all and per kind of request,
// over the logins that reached the token endpoint (as bench.ts prints them).
const steps = (r: Result) => load(r, 'loginSteps');
const stepLogins = (r: Result) => steps(r)?.server?.requests?.['POST /token']?.count;
const perStepLogin = (r: Result, ms: number | undefined) => {
  const logins = stepLogins(r);
  return logins && ms !== undefined ? ms / logins : undefined;
};
figures.push(
  ['logins one at a time: server CPU ms/login', (r) => perStepLogin(r, steps(r)?.server?.cpuMs)],
  ['  postgres CPU ms/login', (r) => perStepLogin(r, steps(r)?.databaseCpuMs)],
  [
    '  postgres statements/login',
    (r) => {
      const counts = Object.values(steps(r)?.server?.requests ?? {}).map((k) => k.statements);
      return counts.some((n) => n !== undefined)
        ? perStepLogin(
            r,
            counts.reduce<number>((sum, n) => sum + (n ?? 0), 0),
          )
        : undefined;
    },
  ],
);
const requestKinds = new Set(
  sides.flatMap((side) => side.runs.flat().flatMap((r) => Object.keys(steps(r)?.server?.requests ?? {}))),
);
// bench/server.ts's key for the statements sent between requests holds no CPU of its own.
requestKinds.delete('outside requests');
for (const kind of [...requestKinds].sort()) {
  figures.push([`  ${kind}`, (r) => perStepLogin(r, steps(r)?.server?.requests?.[kind]?.cpuMs)]);
}

function summary(values: number[]): string {
  if (values.length === 0) return '—';
  const sorted = [...values].sort((a, b) => a - b);
  const median =
    sorted[Math.floor((sorted.length - 1) / 2)]! / 2 + sorted[Math.ceil((sorted.length - 1) / 2)]! / 2;
  const digits = median >= 100 ? 1 : 2;
  const range = sorted.length > 1 ? ` (${sorted[0]!.toFixed(digits)}–${sorted.at(-1)!.toFixed(digits)})` : '';
  return `${median.toFixed(digits)}${range}`;
}

const kinds = [...new Set(sides[1]!.runs.flat().map((r) => r.kind))];
console.log(`\nmedian (range) of ${rounds} run(s) per side, run in turn`);
for (const kind of kinds) {
  console.log(`\n== ${kind} ==`);
  console.log(`${''.padEnd(44)}${sides[0]!.label.padEnd(28)}${sides[1]!.label}`);
  for (const [name, pick] of figures) {
    const columns = sides.map((side) =>
      summary(
        side.runs
          .map((run) => run.find((r) => r.kind === kind))
          .flatMap((r) => {
            const value = r ? pick(r) : undefined;
            return value === undefined || Number.isNaN(value) ? [] : [value];
          }),
      ),
    );
    if (columns.every((c) => c === '—')) continue;
    console.log(`${name.padEnd(44)}${columns[0]!.padEnd(28)}${columns[1]}`);
  }
}
