// Phone numbers are shown the way people of the tenant's country write them, and stored as E.164:
// Norwegians write mobiles 934 56 789 (libphonenumber says 93 45 67 89), Swedes 070-123 45 67;
// a number from another country keeps its country code. Masked numbers keep only the last digits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderDemoPage } from '../src/demo/page.js';
import { displayIdentifier, maskIdentifier } from '../src/domain/identifiers.js';
import { buildPageContext } from '../src/server/http-context.js';

test('displayIdentifier: national grouping at home, the country code from abroad', () => {
  const cases: [stored: string, tenantCountry: string, shown: string][] = [
    ['+4793456789', 'NO', '934 56 789'],
    ['+4741234567', 'NO', '412 34 567'],
    ['+4722123456', 'NO', '22 12 34 56'],
    ['+4780012345', 'NO', '800 12 345'],
    ['+4793456789', 'SE', '+47 934 56 789'],
    ['+4722123456', 'SE', '+47 22 12 34 56'],
    ['+46701234567', 'SE', '070-123 45 67'],
    ['+4681234567', 'SE', '08-123 45 67'],
    ['+46701234567', 'NO', '+46 70 123 45 67'],
    ['+4520123456', 'NO', '+45 20 12 34 56'],
    ['+447911123456', 'NO', '+44 7911 123456'],
    ['not a number', 'NO', 'not a number'],
  ];
  for (const [stored, country, shown] of cases) {
    assert.equal(displayIdentifier('phone', stored, country), shown, `${stored} in a ${country} tenant`);
  }
  assert.equal(displayIdentifier('email', 'kari@example.com', 'NO'), 'kari@example.com');
});

test('maskIdentifier keeps only what the owner recognises', () => {
  assert.equal(maskIdentifier('phone', '+4793456789'), '+47 ••• •• 789');
  assert.equal(maskIdentifier('phone', '+46701234567'), '+46 ••• •• 567');
  assert.equal(maskIdentifier('email', 'kari@example.com'), 'k•••@example.com');
});

test('the demo app says who is logged in with the number as a Norwegian writes it', () => {
  const html = renderDemoPage({
    page: buildPageContext({ url: '/demo/a/', headers: { 'accept-language': 'en' } }, undefined),
    appName: 'Avisa',
    base: '/demo/a/',
    otherName: 'Magasinet',
    otherUrl: '/demo/b/',
    claims: { sub: 'abc', phone_number: '+4793456789' },
    credentials: { email: 'demo@vakt.example', password: 'x' },
    country: 'NO',
  });
  assert.match(html, /Logged in as 934 56 789/);
});
