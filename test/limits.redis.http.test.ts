// The limits on several vakt instances sharing one Redis (VAKT_REDIS_URL), over HTTP. Each
// instance has a database of its own, so only Redis can carry a count from one to the other.
// Also: a Redis that goes away fails requests closed with the generic error page (no code sent,
// no password checked, no stack trace) and they work again when it is back; a bad or
// unreachable VAKT_REDIS_URL stops start-up with a message naming it.
// Cites: ASVS 2.4.1 (anti-automation on sending codes, shared by every process), ASVS 6.6.3
// (rate limits with Retry-After), ASVS 6.3.1 (throttling after repeated failures), ASVS 16.5.x
// (errors handled without leaking details).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createManualClock } from '../src/domain/clock.js';
import { sqlite } from './helpers/databases.js';
import { alertText, formAction, formField, type Response, UserAgent } from './helpers/http-client.js';
import { authorizationUrl } from './helpers/login.js';
import { type Mailbox, startMailbox } from './helpers/mailbox.js';
import { runVakt } from './helpers/process.js';
import { createTestRedis, redisSkip, type TestRedis } from './helpers/redis.js';
import { type RunningVakt, randomPassword, startVakt } from './helpers/vakt.js';

const STACK_TRACE = /\n\s+at /;

/** A TCP relay to Redis that the test can cut and restore, as a network outage would. */
async function startRelay(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const open = () =>
    new Promise<void>((resolve) => {
      server = createServer((socket) => {
        const upstream = connect(Number(target.port || 6379), target.hostname);
        for (const s of [socket, upstream]) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => sockets.delete(s));
        }
        socket.pipe(upstream).pipe(socket);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  await open();
  return {
    url: () => `redis://127.0.0.1:${port}`,
    async cut() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server!.close(resolve));
    },
    restore: open,
  };
}

describe('limits shared by two vakt instances on one Redis', { skip: redisSkip, timeout: 120_000 }, () => {
  const clock = createManualClock();
  let redis: TestRedis;
  let mailbox: Mailbox;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  const instances: RunningVakt[] = [];

  before(async () => {
    redis = await createTestRedis();
    mailbox = await startMailbox();
    relay = await startRelay(new URL(redis.url));
    const env = { VAKT_SMTP_URL: mailbox.url, VAKT_MAIL_FROM: 'Acme ID <id@acme.example>' };
    for (const url of [redis.url, redis.url, relay.url()]) {
      instances.push(
        await startVakt(sqlite, {
          clock,
          redisKeyPrefix: redis.prefix,
          env: { ...env, VAKT_REDIS_URL: url },
        }),
      );
    }
  });

  after(async () => {
    for (const running of instances) await running.stop();
    await relay?.cut();
    await mailbox?.close();
    await redis?.drop();
  });

  const english = () => new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });

  async function loginPage(agent: UserAgent, running: RunningVakt) {
    const page = await agent.follow(authorizationUrl(`${running.url}/t/acme`), running.url);
    assert.equal(page.status, 200);
    return page;
  }

  async function submit(
    agent: UserAgent,
    running: RunningVakt,
    page: Response,
    contains: string,
    form: object,
  ) {
    const action = new URL(formAction(page.body, contains), running.url).href;
    return agent.request(action, { form: { csrf: formField(page.body, 'csrf'), ...form } });
  }

  /** A new sign-up on this instance, up to posting the form: 303 when the code was sent. */
  async function signUp(running: RunningVakt, identifier: string) {
    const agent = english();
    const login = await loginPage(agent, running);
    const link = /href="([^"]*\/signup)" id="create-account"/.exec(login.body);
    assert.ok(link, 'the login page links to sign-up');
    const page = await agent.request(new URL(link[1]!, running.url).href);
    return submit(agent, running, page, '/signup', { identifier, password: randomPassword() });
  }

  async function wrongPassword(running: RunningVakt, identifier: string) {
    const agent = english();
    return submit(agent, running, await loginPage(agent, running), '/login', {
      identifier,
      password: 'not-the-password',
    });
  }

  test('ASVS 2.4.1 / 6.6.3: codes asked for through instance 1 and 2 share one limit: the 4th gets 429 and Retry-After on both', async () => {
    const [one, two] = instances as [RunningVakt, RunningVakt];
    const before = mailbox.messages.length;
    for (const running of [one, two, one]) {
      assert.equal((await signUp(running, 'shared@example.com')).status, 303);
      clock.advance(60_000);
    }
    for (const running of [two, one]) {
      const refused = await signUp(running, 'shared@example.com');
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '420', 'the first code leaves the 10 minutes in 7');
      assert.match(
        alertText(refused),
        /^You have requested too many codes in too short a time\. Wait 7 minutes/,
      );
    }
    assert.equal(mailbox.messages.length - before, 3, 'three codes went out, no more');
    assert.equal(await redis.client.zcard(`${redis.prefix}codes:acme:destination:shared@example.com`), 3);
    clock.advance(420_000);
    assert.equal((await signUp(two, 'shared@example.com')).status, 303, 'then the window moved on for both');
  });

  test('ASVS 6.3.1: wrong passwords through both instances add up to one wait for the typed identifier', async () => {
    const [one, two] = instances as [RunningVakt, RunningVakt];
    for (let i = 0; i < 5; i++) {
      assert.equal(
        (await wrongPassword(i % 2 ? two : one, 'guessed@example.com')).status,
        401,
        `try ${i + 1}`,
      );
    }
    for (const running of [one, two]) {
      const waited = await wrongPassword(running, 'guessed@example.com');
      assert.equal(waited.status, 429);
      assert.equal(waited.headers.get('retry-after'), '1');
    }
  });

  test('Redis gone: sign-up and login fail closed with the generic error page, nothing sent; back again when Redis is', async () => {
    const three = instances[2]!;
    assert.equal((await signUp(three, 'outage@example.com')).status, 303, 'works through the relay');
    const before = mailbox.messages.length;
    await relay.cut();
    for (const response of [
      await signUp(three, 'outage@example.com'),
      await wrongPassword(three, 'outage@example.com'),
    ]) {
      assert.equal(response.status, 500);
      assert.match(response.body, /An error has occurred\. Try again in a little while\./);
      assert.match(response.body, /Reference for customer support: [0-9a-f]{16}/);
      assert.doesNotMatch(response.body, STACK_TRACE);
      assert.doesNotMatch(response.body, /redis|ECONNREFUSED|Stream isn/i, 'no detail of the failure');
    }
    assert.equal(mailbox.messages.length, before, 'no code was sent without its limit');
    await relay.restore();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await signUp(three, 'outage-back@example.com')).status;
      if (status === 303) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(status, 303, 'the instance reconnected by itself');
  });
});

describe('a bad VAKT_REDIS_URL stops start-up, naming the setting', { concurrency: true }, () => {
  const start = (redisUrl: string) =>
    runVakt(['dev'], {
      VAKT_REDIS_URL: redisUrl,
      PORT: '0',
      VAKT_DATA_DIR: mkdtempSync(join(tmpdir(), 'vakt-data-')),
    });

  test('not a redis:// URL: exit 2 and the variable named, the value not echoed', async () => {
    const run = await start('http://user:hunter2@cache.internal');
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /VAKT_REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    assert.doesNotMatch(run.stderr, /hunter2|\n\s+at /);
  });

  test('nothing answers there: exit 2, the variable and the host named, no password, no stack trace', async () => {
    const run = await start('redis://:hunter2@127.0.0.1:1');
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /VAKT_REDIS_URL: Redis did not answer at 127\.0\.0\.1:1 \(connect ECONNREFUSED/);
    assert.doesNotMatch(run.stderr, /hunter2|\n\s+at /);
  });
});
