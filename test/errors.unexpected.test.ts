// "An error has occurred": an unexpected failure under a tenant's address is a localised 500
// page with a support reference and that tenant's support contacts, never a stack trace.
// The failure is real: a route added through vakt's plugin hook throws while serving. The
// reference on the page is the one in the log line that keeps the error (ARCHITECTURE, Errors).
// Cites: seed 000 ("An error has occurred" … contact customer support), ASVS 16.5.x (errors
// handled without leaking details; the detail logged where support can find it).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from './helpers/databases.js';
import { type RunningVakt, startVakt, testTenant } from './helpers/vakt.js';

for (const kind of databaseKinds) {
  describe(`an unexpected error on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;
    /** Every JSON line vakt logged. */
    const log: string[] = [];

    before(async () => {
      running = await startVakt(kind, {
        env: { LOG_LEVEL: 'warn' },
        logDestination: { write: (line: string) => log.push(line) },
        config: {
          tenants: [testTenant({ support: { email: 'help@acme.example', phone: '+47 800 12 345' } })],
        },
        plugins: [
          (app) => {
            app.get('/t/:tenant/explode', async () => {
              throw new Error('database on fire: secret detail');
            });
          },
        ],
      });
    });
    after(() => running?.stop());

    test('a 500 page in the person’s language with a reference and the tenant’s support contacts', async () => {
      const response = await fetch(`${running.url}/t/acme/explode`, { headers: { 'accept-language': 'en' } });
      const body = await response.text();
      assert.equal(response.status, 500);
      assert.match(body, /An error has occurred\. Try again in a little while\./);
      assert.match(body, /Reference for customer support: [0-9a-f]{16}/);
      assert.match(body, /href="mailto:help@acme\.example"/);
      assert.match(body, /\+47 800 12 345/);
      assert.match(body, /href="\/t\/acme\/help\/error-occurred\?lang=en"/, 'and the help page for it');
      assert.doesNotMatch(body, /secret detail|\n\s+at /, 'no message or stack trace of the error');
    });

    test('under no tenant, the same page without contacts', async () => {
      const response = await fetch(`${running.url}/t/nosuchtenant/explode`, {
        headers: { 'accept-language': 'nb' },
      });
      const body = await response.text();
      assert.equal(response.status, 500);
      assert.match(body, /Referanse til kundeservice: [0-9a-f]{16}/);
      assert.doesNotMatch(body, /mailto:/);
    });

    test('ASVS 16.5.x: the reference on the page is in the log line with the error and its stack', async () => {
      const response = await fetch(`${running.url}/t/acme/explode`, { headers: { 'accept-language': 'sv' } });
      const reference = /Referens till kundtjänst: ([0-9a-f]{16})/.exec(await response.text())?.[1];
      assert.ok(reference, 'the page shows a reference');
      const lines = log
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => JSON.stringify(entry).includes(reference));
      assert.equal(lines.length, 1, `one log line names ${reference}`);
      const entry = lines[0] as {
        level: number;
        reference: string;
        url: string;
        err: Record<string, string>;
      };
      assert.equal(entry.reference, reference);
      assert.ok(entry.level >= 50, 'logged as an error');
      assert.equal(entry.url, '/t/acme/explode');
      assert.equal(entry.err.message, 'database on fire: secret detail');
      assert.match(entry.err.stack!, /\n\s+at /, 'with where it happened');
    });
  });
}
