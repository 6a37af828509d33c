// `npm test`: every test/**/*.test.ts through Node's own test runner (with tsx for TypeScript).
// Files run one at a time: several start servers and browsers, and this machine has two cores.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return findTests(path);
      return name.endsWith('.test.ts') || name.endsWith('.test.tsx') ? [path] : [];
    })
    .sort();
}

const filter = process.argv.slice(2);
const files = findTests('test').filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    // A test that hangs fails after 10 minutes instead of holding CI to its limit, and a file
    // whose tests are done ends even if something it started is still open.
    '--test-timeout=600000',
    '--test-force-exit',
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, NODE_NO_WARNINGS: '1' } },
);
process.exit(result.status ?? 1);
