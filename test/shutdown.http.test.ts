// Stopping vakt while it serves (SIGTERM on `vakt start` calls the same stop()): a request in
// flight gets its whole answer, with Connection: close, and stop() does not then wait for the
// client's kept-alive connection to time out (72 s in Fastify), on SQLite and PostgreSQL.
// The request in flight is a login for an account whose imported argon2id hash is deliberately
// slow, so it is surely still being answered when stop() begins.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseKinds } from './helpers/databases.js';
import { alertText, formAction, formField, UserAgent } from './helpers/http-client.js';
import { authorizationUrl } from './helpers/login.js';
import { slowArgon2idHash } from './helpers/slow-hash.js';
import { startVakt, testTenant } from './helpers/vakt.js';

/** Far below the keep-alive timeout that held stop() before, far above a close's own work. */
const PATIENCE_MS = 20_000;

for (const kind of databaseKinds) {
  describe(`stopping a serving vakt on ${kind.name}`, { skip: kind.skip, timeout: 120_000 }, () => {
    test('a login in flight is answered, and stop() ends soon after it', async () => {
      const running = await startVakt(kind, {
        config: { tenants: [testTenant({ identifierKinds: ['email'] })] },
      });
      let stopped: Promise<void> | undefined;
      try {
        const created = await running.vakt.accounts.createAccount({
          tenant: 'acme',
          defaultCountry: 'NO',
          emails: ['slow@example.com'],
          passwordHash: await slowArgon2idHash('the slow one'),
          verified: true,
        });
        assert.ok(created.ok);
        const agent = new UserAgent({ 'accept-language': 'en', 'sec-fetch-site': 'same-origin' });
        const page = await agent.follow(authorizationUrl(`${running.url}/t/acme`), running.url);
        assert.equal(page.status, 200);

        const inFlight = agent.request(new URL(formAction(page.body, '/login'), running.url).href, {
          form: { csrf: formField(page.body, 'csrf'), identifier: 'slow@example.com', password: 'not it' },
        });
        let answered = false;
        void inFlight.finally(() => {
          answered = true;
        });
        await sleep(200);
        assert.equal(answered, false, 'the login must still be in flight when stop() begins');

        stopped = running.stop();
        const answer = await inFlight;
        assert.equal(answer.status, 401, 'the password was checked and the page sent in full');
        assert.match(alertText(answer), /Wrong email address or password/);
        assert.equal(answer.headers.get('connection'), 'close', 'the answer closes its connection');

        const outcome = await Promise.race([
          stopped.then(() => 'stopped'),
          sleep(PATIENCE_MS).then(() => 'still waiting'),
        ]);
        assert.equal(outcome, 'stopped', `stop() still waited ${PATIENCE_MS / 1000} s after the last answer`);
      } finally {
        await (stopped ?? running.stop());
      }
    });
  });
}
