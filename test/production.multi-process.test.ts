// Production: `vakt start` refuses development shortcuts, and several stateless processes on
// one database serve the same sessions — a login made through one is honoured by another.
// Cites: ARCHITECTURE "Scaling out", ASVS 3.3.x (Secure cookies in production).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { workerHashConcurrency } from '../src/config/settings.js';
import { databaseKinds, type TestDatabase } from './helpers/databases.js';
import { formAction, formField, UserAgent } from './helpers/http-client.js';
import { expectSilentRedirect, logInThroughPage } from './helpers/login.js';
import { freePort, startVaktProcess, startVaktProcesses, type VaktProcess } from './helpers/process.js';
import { LONGER_PASSES, slowArgon2idHash } from './helpers/slow-hash.js';
import { RP, TEST_SECRET, testTenant } from './helpers/vakt.js';

const PUBLIC_URL = 'https://id.vakt.test';

function authorizeUrl(base: string, state: string) {
  const url = new URL(`${base}/t/acme/auth`);
  url.search = new URLSearchParams({
    client_id: 'web',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: `${RP}/callback`,
    state,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString();
  return url.href;
}

test('vakt start refuses to run without VAKT_SECRET or with an http public URL', () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_NO_WARNINGS: '1',
    DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'vakt-')), 'x.db'),
  };
  delete env.VAKT_SECRET;
  const noSecret = spawnSync(process.execPath, ['bin/vakt.js', 'start'], {
    env: { ...env, VAKT_PUBLIC_URL: PUBLIC_URL },
    encoding: 'utf8',
  });
  assert.equal(noSecret.status, 2);
  assert.match(noSecret.stderr, /VAKT_SECRET/);
  const http = spawnSync(process.execPath, ['bin/vakt.js', 'start'], {
    env: { ...env, VAKT_SECRET: TEST_SECRET, VAKT_PUBLIC_URL: 'http://id.vakt.test' },
    encoding: 'utf8',
  });
  assert.equal(http.status, 2);
  assert.match(http.stderr, /VAKT_PUBLIC_URL must be set to an https:\/\/ URL/);
  assert.doesNotMatch(noSecret.stderr + http.stderr, /\n\s+at /, 'no stack trace');
});

// Production refuses to start when an accepted identifier kind has no way to send it a code;
// these processes are given channels (nothing is sent in these tests).
const DELIVERY = {
  VAKT_SMTP_URL: 'smtp://127.0.0.1:2525',
  VAKT_MAIL_FROM: 'Acme ID <id@acme.example>',
  VAKT_SMS_WEBHOOK_URL: 'https://sms.vakt.test/send',
};

test('vakt start refuses a tenant whose identifier kinds have no delivery channel, naming the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vakt-'));
  const config = join(dir, 'vakt.yaml');
  writeFileSync(config, stringify({ tenants: [testTenant()] }));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_NO_WARNINGS: '1',
    DATABASE_URL: join(dir, 'x.db'),
    VAKT_SECRET: TEST_SECRET,
    VAKT_PUBLIC_URL: PUBLIC_URL,
    VAKT_DATA_DIR: dir,
  };
  for (const name of Object.keys(DELIVERY)) delete env[name];
  const run = spawnSync(process.execPath, ['bin/vakt.js', 'start', '--config', config], {
    env,
    encoding: 'utf8',
  });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /tenants\[acme\]\.identifierKinds: "email"/);
  assert.match(run.stderr, /tenants\[acme\]\.identifierKinds: "phone"/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});

for (const kind of databaseKinds) {
  describe(`two vakt start processes on one ${kind.name} database`, { skip: kind.skip }, () => {
    let database: TestDatabase;
    let one: VaktProcess;
    let two: VaktProcess;

    before(async () => {
      database = await kind.create();
      const dir = mkdtempSync(join(tmpdir(), 'vakt-prod-'));
      const config = join(dir, 'vakt.yaml');
      writeFileSync(config, stringify({ tenants: [testTenant()] }));
      const env = {
        DATABASE_URL: database.url,
        VAKT_SECRET: TEST_SECRET,
        VAKT_PUBLIC_URL: PUBLIC_URL,
        VAKT_DATA_DIR: dir,
        ...DELIVERY,
      };
      // Both start at once: applying the same config and creating the first keys must not collide.
      const args = ['start', '--config', config];
      [one, two] = (await startVaktProcesses([
        { args, env, port: await freePort() },
        { args, env, port: await freePort() },
      ])) as [VaktProcess, VaktProcess];
      execFileSync(
        process.execPath,
        [
          'bin/vakt.js',
          'users',
          'create',
          '--tenant',
          'acme',
          '--email',
          'per@example.com',
          '--password-stdin',
        ],
        {
          env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
          input: 'correct horse battery staple\n',
        },
      );
    });

    after(async () => {
      await Promise.all([one?.stop(), two?.stop()]);
      await database?.drop();
    });

    test('a login through one process is a session on the other; cookies are Secure', async () => {
      const agent = new UserAgent().route(PUBLIC_URL, one.url);
      const { callback, loginPage } = await logInThroughPage(agent, authorizeUrl(PUBLIC_URL, 'one'), {
        identifier: 'per@example.com',
        password: 'correct horse battery staple',
      });
      assert.equal(callback.searchParams.get('state'), 'one');
      assert.equal(callback.searchParams.get('iss'), `${PUBLIC_URL}/t/acme`);
      assert.ok(callback.searchParams.get('code'));
      assert.ok(loginPage.headers.get('strict-transport-security'));

      // The same browser, now routed to the other process, is logged in already.
      agent.route(PUBLIC_URL, two.url);
      const silent = await expectSilentRedirect(agent, authorizeUrl(PUBLIC_URL, 'two'));
      assert.equal(silent.origin + silent.pathname, `${RP}/callback`);
      assert.equal(silent.searchParams.get('state'), 'two');
      assert.ok(silent.searchParams.get('code'));

      // Both processes publish the same keys.
      const [jwksOne, jwksTwo] = await Promise.all(
        [one, two].map(
          async (p) => (await (await fetch(`${p.url}/t/acme/jwks`)).json()) as { keys: { kid: string }[] },
        ),
      );
      assert.ok(jwksOne && jwksTwo);
      assert.deepEqual(jwksOne.keys.map((k) => k.kid).sort(), jwksTwo.keys.map((k) => k.kid).sort());
      assert.equal(jwksOne.keys.length, 2, 'one RS256 and one ES256 key, not one per process');
    });

    test('ASVS 3.3.x: cookies are Secure, HttpOnly and SameSite=Lax behind the https public URL; the session one a __Host- cookie', async () => {
      const agent = new UserAgent().route(PUBLIC_URL, one.url);
      const response = await agent.request(authorizeUrl(PUBLIC_URL, 'cookies'));
      const { redirect } = await logInThroughPage(agent, authorizeUrl(PUBLIC_URL, 'cookies'), {
        identifier: 'per@example.com',
        password: 'correct horse battery staple',
        remember: true,
      });
      const cookies = [...response.headers.getSetCookie(), ...redirect.headers.getSetCookie()];
      assert.ok(cookies.length > 0);
      for (const cookie of cookies) {
        assert.match(cookie, /; secure/i, cookie);
        assert.match(cookie, /; httponly/i, cookie);
        assert.match(cookie, /; samesite=lax/i, cookie);
        // A prefix the browser holds the cookie to: __Host- (Path=/, no Domain) or __Secure-.
        assert.match(cookie, /^__(Host|Secure)-/, cookie);
        assert.doesNotMatch(cookie, /; domain=/i, cookie);
      }
      const session = cookies.filter((cookie) => cookie.startsWith('__Host-vakt_acme_session'));
      assert.deepEqual(
        session.map((cookie) => cookie.split('=')[0]).sort(),
        ['__Host-vakt_acme_session', '__Host-vakt_acme_session.sig'],
        'the session cookie and its signature',
      );
      for (const cookie of session) assert.match(cookie, /; path=\/(;|$)/i, cookie);

      // The language switch's cookie too, and the choice holds on a later page.
      const switched = await agent.request(`${PUBLIC_URL}/t/acme/help?lang=en`);
      const language = switched.headers.getSetCookie();
      assert.equal(language.length, 1);
      assert.match(language[0]!, /^__Host-vakt_lang=en; Path=\/;.*; HttpOnly; Secure$/, language[0]);
      const later = await agent.request(`${PUBLIC_URL}/t/acme/help`, {
        headers: { 'accept-language': 'nb' },
      });
      assert.match(later.body, /<html lang="en"/, 'the choice outlives the page it was made on');
    });
  });
}

describe('vakt start --workers 2', { skip: databaseKinds[0]!.skip }, () => {
  async function startCluster() {
    const database = await databaseKinds[0]!.create();
    const dir = mkdtempSync(join(tmpdir(), 'vakt-workers-'));
    const config = join(dir, 'vakt.yaml');
    writeFileSync(config, stringify({ tenants: [testTenant()] }));
    const env = {
      DATABASE_URL: database.url,
      VAKT_SECRET: TEST_SECRET,
      VAKT_PUBLIC_URL: PUBLIC_URL,
      VAKT_DATA_DIR: dir,
      ...DELIVERY,
    };
    const cluster = await startVaktProcess(
      ['start', '--workers', '2', '--config', config],
      env,
      await freePort(),
    );
    const workerPids = () =>
      execFileSync('pgrep', ['-P', String(cluster.child.pid)], { encoding: 'utf8' })
        .trim()
        .split('\n');
    return { database, dir, env, cluster, workerPids };
  }

  /**
   * A login some worker is still answering: a wrong password for an imported account whose
   * password hash takes seconds to check. `answer` is wrapped so that awaiting this does not
   * wait for it.
   */
  async function slowLoginInFlight(
    dir: string,
    env: Record<string, string>,
    cluster: VaktProcess,
    passes?: number,
  ) {
    const slowAccount = join(dir, 'slow.jsonl');
    writeFileSync(
      slowAccount,
      `${JSON.stringify({
        emails: ['slow@example.com'],
        passwordHash: await slowArgon2idHash('the slow one', passes),
      })}\n`,
    );
    execFileSync(process.execPath, ['bin/vakt.js', 'users', 'import', slowAccount, '--tenant', 'acme'], {
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
    });
    const agent = new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' }).route(
      PUBLIC_URL,
      cluster.url,
    );
    const page = await agent.follow(authorizeUrl(PUBLIC_URL, 'slow'), PUBLIC_URL);
    assert.equal(page.status, 200);
    const inFlight = agent.request(new URL(formAction(page.body, '/login'), PUBLIC_URL).href, {
      form: { csrf: formField(page.body, 'csrf'), identifier: 'slow@example.com', password: 'not it' },
    });
    // Long enough for the request to reach a worker's hash, far shorter than the hash.
    await sleep(300);
    return { answer: inFlight };
  }

  function exitOf(cluster: VaktProcess) {
    return new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      cluster.child.once('exit', (code, signal) => resolve([code, signal])),
    );
  }

  test('serves logins from a cluster of worker processes', async () => {
    const { database, dir, env, cluster, workerPids } = await startCluster();
    try {
      const children = workerPids();
      assert.equal(children.length, 2, `two workers: ${children.join(',')}`);
      // Each worker hashes passwords on its share of the cores, not on all of them.
      for (const pid of children) {
        const environment = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        assert.ok(
          environment.includes(`VAKT_HASH_CONCURRENCY=${workerHashConcurrency(2)}`),
          `worker ${pid}: ${environment.filter((v) => v.startsWith('VAKT_HASH')).join(', ') || 'no VAKT_HASH_CONCURRENCY'}`,
        );
      }
      execFileSync(
        process.execPath,
        [
          'bin/vakt.js',
          'users',
          'create',
          '--tenant',
          'acme',
          '--phone',
          '+46 70 123 45 67',
          '--password-stdin',
        ],
        {
          env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
          input: 'another fine password',
        },
      );
      for (let i = 0; i < 4; i++) {
        const agent = new UserAgent().route(PUBLIC_URL, cluster.url);
        const { callback } = await logInThroughPage(agent, authorizeUrl(PUBLIC_URL, `w${i}`), {
          identifier: '+46701234567',
          password: 'another fine password',
        });
        assert.equal(callback.searchParams.get('state'), `w${i}`);
      }

      // SIGTERM to the primary while a worker is answering a login: the worker answers it, every
      // process exits of itself, with 0. Before, the primary died at once, and each worker with it
      // (a worker exits when its primary goes), dropping what it was answering.
      const inFlight = await slowLoginInFlight(dir, env, cluster);
      const exited = exitOf(cluster);
      cluster.child.kill('SIGTERM');
      const answer = await inFlight.answer;
      assert.equal(answer.status, 401, 'the login in flight was checked and answered in full');
      const outcome = await Promise.race([exited, sleep(20_000).then(() => 'still running' as const)]);
      assert.deepEqual(outcome, [0, null], 'the primary exits of itself, with 0, once its workers have');
      for (const pid of children) {
        assert.throws(() => process.kill(Number(pid), 0), /ESRCH/, `worker ${pid} has exited`);
      }
    } finally {
      await cluster.stop();
      await database.drop();
    }
  });

  test('exits with 1 when a worker does not stop cleanly, and says which', async () => {
    const { database, dir, env, cluster, workerPids } = await startCluster();
    try {
      const children = workerPids();
      // Twice the default passes: the hash must outlast the idle worker's stop on any machine.
      const inFlight = await slowLoginInFlight(dir, env, cluster, LONGER_PASSES);
      const exited = exitOf(cluster);
      cluster.child.kill('SIGTERM');
      // The idle worker stops at once; the one checking the slow hash is killed before it is done.
      const alive = () =>
        children.filter((pid) => {
          try {
            process.kill(Number(pid), 0);
            return true;
          } catch {
            return false;
          }
        });
      for (let waited = 0; alive().length > 1 && waited < 3000; waited += 20) await sleep(20);
      const killed = alive();
      for (const pid of killed) process.kill(Number(pid), 'SIGKILL');
      assert.equal(killed.length, 1, 'one worker was still answering the login');
      await inFlight.answer.catch(() => {});
      const outcome = await Promise.race([exited, sleep(20_000).then(() => 'still running' as const)]);
      assert.deepEqual(outcome, [1, null], 'the primary exits of itself, with 1');
      assert.match(cluster.output(), new RegExp(`worker ${killed[0]} did not stop cleanly \\(SIGKILL\\)`));
    } finally {
      await cluster.stop();
      await database.drop();
    }
  });
});
