// Every user-facing string exists in Norwegian Bokmål, Swedish and English; every error code
// a person can meet is a message key; translations keep the placeholders of the English text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES } from '../src/domain/errors.js';
import { pickLocale } from '../src/ui/i18n.js';
import { en } from '../src/ui/messages/en.js';
import { nb } from '../src/ui/messages/nb.js';
import { sv } from '../src/ui/messages/sv.js';

const catalogues = { nb, sv, en } as Record<string, Record<string, string>>;
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('nb, sv and en have exactly the same keys, none empty', () => {
  const keys = Object.keys(en).sort();
  for (const [locale, catalogue] of Object.entries(catalogues)) {
    assert.deepEqual(Object.keys(catalogue).sort(), keys, locale);
    for (const key of keys) assert.ok(catalogue[key]?.trim(), `${locale}: ${key} is empty`);
  }
});

test('every error code is a message key in every language', () => {
  for (const code of ERROR_CODES) {
    for (const [locale, catalogue] of Object.entries(catalogues))
      assert.ok(catalogue[code], `${locale} lacks ${code}`);
  }
});

test('translations use the same placeholders as the English text', () => {
  for (const key of Object.keys(en)) {
    const expected = placeholders(en[key as keyof typeof en]);
    for (const [locale, catalogue] of Object.entries(catalogues)) {
      assert.deepEqual(placeholders(catalogue[key]!), expected, `${locale}: ${key}`);
    }
  }
});

test('Norwegian and Swedish texts are translated, not copied from English', () => {
  const same = Object.keys(en).filter(
    (key) => en[key as keyof typeof en] === nb[key as keyof typeof nb] && !key.startsWith('lang.'),
  );
  // A few words are the same in every language (a product name); sentences are not.
  assert.ok(
    same.every((key) => !/\s/.test(en[key as keyof typeof en])),
    `untranslated in nb: ${same.join(', ')}`,
  );
});

test('language choice: explicit choice, then ui_locales, then Accept-Language, then the tenant default', () => {
  const all = ['nb', 'sv', 'en'] as const;
  assert.equal(pickLocale(all, {}), 'nb');
  assert.equal(pickLocale(['sv', 'en'], {}), 'sv');
  assert.equal(pickLocale(all, { acceptLanguage: 'de-DE, sv;q=0.8, en;q=0.9' }), 'en');
  assert.equal(pickLocale(all, { acceptLanguage: 'nn-NO' }), 'nb');
  assert.equal(pickLocale(all, { uiLocales: 'fr sv-FI', acceptLanguage: 'en' }), 'sv');
  assert.equal(pickLocale(all, { chosen: 'en', uiLocales: 'sv' }), 'en');
  assert.equal(
    pickLocale(['nb', 'en'], { chosen: 'sv' }),
    'nb',
    'a language the tenant does not offer is not used',
  );
});
