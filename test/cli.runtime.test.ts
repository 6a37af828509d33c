// Which code the `vakt` command runs (bin/vakt.js), seen as an operator sees it: in a checkout,
// `vakt start` runs the compiled dist/ when it is at least as new as every file in src/, and
// otherwise the TypeScript sources through tsx, saying so; every other command runs the sources;
// a package without src/ runs dist/; what it says itself is in the operator's language. The
// layouts are built in a scratch folder with a stand-in main module for each side, so the test
// sees the choice itself and nothing else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A checkout (or a package, without `src`) whose two main modules print which one ran. */
function layout(options: { src: boolean; dist: boolean; distNewer?: boolean }): string {
  const root = mkdtempSync(join(tmpdir(), 'vakt-runtime-'));
  roots.push(root);
  mkdirSync(join(root, 'bin'));
  copyFileSync('bin/vakt.js', join(root, 'bin', 'vakt.js'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  symlinkSync(resolve('node_modules'), join(root, 'node_modules'));
  const older = new Date(Date.now() - 60_000);
  const newer = new Date();
  if (options.src) {
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    const main = join(root, 'src', 'cli', 'main.ts');
    // A type annotation: only TypeScript (tsx) can run this file.
    writeFileSync(main, "const ran: string = 'ran sources';\nconsole.log(ran);\n");
    const at = options.distNewer ? older : newer;
    utimesSync(main, at, at);
  }
  if (options.dist) {
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    const main = join(root, 'dist', 'cli', 'main.js');
    writeFileSync(main, "console.log('ran compiled');\n");
    const at = options.distNewer ? newer : older;
    utimesSync(main, at, at);
  }
  return root;
}

/** Runs `vakt command` in `root`; in English unless `locale` says otherwise (see cli.locale). */
function run(root: string, command: string, locale: Record<string, string> = { LANG: 'C' }) {
  const { LC_ALL: _all, LC_MESSAGES: _messages, LANG: _lang, ...env } = process.env;
  const result = spawnSync(process.execPath, [join(root, 'bin', 'vakt.js'), command], {
    encoding: 'utf8',
    env: { ...env, NODE_NO_WARNINGS: '1', ...locale },
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

describe('which code `vakt` runs', () => {
  test('vakt start in a checkout runs dist/ when npm run build compiled the current sources', () => {
    const started = run(layout({ src: true, dist: true, distNewer: true }), 'start');
    assert.equal(started.stdout, 'ran compiled');
    assert.doesNotMatch(started.stderr, /running the TypeScript sources/);
  });

  test('vakt start runs the sources, and says so, when dist/ is older than src/ or missing', () => {
    for (const root of [
      layout({ src: true, dist: true, distNewer: false }),
      layout({ src: true, dist: false }),
    ]) {
      const started = run(root, 'start');
      assert.equal(started.stdout, 'ran sources');
      assert.match(started.stderr, /running the TypeScript sources; `npm run build` first/);
    }
  });

  test('every other command in a checkout runs the sources, even with a current dist/', () => {
    const dev = run(layout({ src: true, dist: true, distNewer: true }), 'dev');
    assert.equal(dev.stdout, 'ran sources');
    assert.equal(dev.stderr, '');
  });

  test('a package without src/ runs dist/; with neither it says what is wrong (exit 1)', () => {
    assert.equal(run(layout({ src: false, dist: true }), 'dev').stdout, 'ran compiled');
    const broken = run(layout({ src: false, dist: false }), 'start');
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /neither src\/ nor dist\/ is present/);
  });

  test("its own two lines follow the operator's language, as the rest of the command does", () => {
    const checkout = layout({ src: true, dist: false });
    const missing = layout({ src: false, dist: false });
    assert.match(run(checkout, 'start', { LANG: 'nb_NO.UTF-8' }).stderr, /kjører TypeScript-kildene/);
    assert.match(run(missing, 'start', { LANG: 'nb_NO.UTF-8' }).stderr, /verken src\/ eller dist\/ finnes/);
    const swedish = { LC_ALL: 'sv_SE.UTF-8', LANG: 'nb_NO.UTF-8' };
    assert.match(run(checkout, 'start', swedish).stderr, /kör TypeScript-källorna/);
    assert.match(run(missing, 'start', swedish).stderr, /varken src\/ eller dist\/ finns/);
  });
});
