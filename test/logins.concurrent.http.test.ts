// Many people logging in at the same moment from one address (an office, a mobile carrier's
// shared address) are not throttled: a guess takes its try on the address before it is checked,
// and a right one gives it back, so only wrong ones add up. On SQLite and PostgreSQL, over HTTP,
// on the real clock. Found by `npm run bench`: on PostgreSQL about one login in ten got 429,
// because a give-back set "no wait before now" and a login that had read the clock a moment
// earlier took the rest of that "now" for a wait.
// Cites: ASVS 6.3.1 (throttling must not lock out legitimate use).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from './helpers/databases.js';
import { formAction, formField, UserAgent } from './helpers/http-client.js';
import { authorizationUrl } from './helpers/login.js';
import { type RunningVakt, randomPassword, startVakt, testTenant } from './helpers/vakt.js';

const PEOPLE = 16;
const AT_ONCE = 8;
const EACH = 10;

for (const kind of databaseKinds) {
  describe(`concurrent logins from one address on ${kind.name}`, {
    skip: kind.skip,
    timeout: 120_000,
  }, () => {
    let running: RunningVakt;
    const password = randomPassword();

    before(async () => {
      running = await startVakt(kind, {
        config: { tenants: [testTenant({ slug: 'acme', identifierKinds: ['email'] })] },
      });
      for (let i = 0; i < PEOPLE; i++) {
        const created = await running.vakt.accounts.createAccount({
          tenant: 'acme',
          defaultCountry: 'NO',
          emails: [`person${i}@example.com`],
          password,
          verified: true,
        });
        assert.ok(created.ok);
      }
    });

    after(() => running?.stop());

    test(`${AT_ONCE} at a time, ${AT_ONCE * EACH} logins by ${PEOPLE} people: every one gets in`, async () => {
      let next = 0;
      const statuses: Record<number, number> = {};
      await Promise.all(
        Array.from({ length: AT_ONCE }, async () => {
          for (let i = 0; i < EACH; i++) {
            const agent = new UserAgent({ 'sec-fetch-site': 'same-origin' });
            const page = await agent.follow(authorizationUrl(`${running.url}/t/acme`), running.url);
            const response = await agent.request(new URL(formAction(page.body, '/login'), running.url).href, {
              form: {
                csrf: formField(page.body, 'csrf'),
                identifier: `person${next++ % PEOPLE}@example.com`,
                password,
              },
            });
            statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          }
        }),
      );
      assert.deepEqual(statuses, { 303: AT_ONCE * EACH });
    });
  });
}
