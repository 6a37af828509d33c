// "An error has occurred": an unexpected failure under a tenant's address is a localised 500
// page with a support reference and that tenant's support contacts, never a stack trace.
// The failure is real: a route added through vakt's plugin hook throws while serving.
// Cites: seed 000 ("An error has occurred" … contact customer support), ASVS 16.5.x (errors
// handled without leaking details).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from './helpers/databases.js';
import { type RunningVakt, startVakt, testTenant } from './helpers/vakt.js';

for (const kind of databaseKinds) {
  describe(`an unexpected error on ${kind.name}`, { skip: kind.skip }, () => {
    let running: RunningVakt;

    before(async () => {
      running = await startVakt(kind, {
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
  });
}
