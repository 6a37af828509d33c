// Help pages per tenant (issue 4, part 8): every topic answers in Norwegian, Swedish and English,
// a tenant's config can replace a topic's text for that tenant alone, text from the config is
// escaped (a config file must never put script on a hosted page), a "see also" block is a link to
// the topic it names (never to a URL), and what does not exist is a localised 404. Over HTTP
// against a real vakt, on SQLite and PostgreSQL. The way back to a login: help.way-back.test.ts.
// Cites: seed 000 (the questions the pages answer), ASVS 5.3.3 (output encoding for HTML).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseDeploymentConfig } from '../src/config/load.js';
import { SUPPORTED_LOCALES } from '../src/config/schema.js';
import { ERROR_CODES } from '../src/domain/errors.js';
import {
  defaultHelpText,
  HELP_FOR_ERROR,
  HELP_TOPICS,
  type HelpBlock,
  helpLink,
  isTopicSlug,
  resolveHelpText,
} from '../src/help/topics.js';
import { catalogues } from '../src/ui/i18n.js';
import { databaseKinds } from './helpers/databases.js';
import { type RunningVakt, startVakt, testTenant } from './helpers/vakt.js';

/** What the JSX renderer makes of text. */
function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const h1 = (body: string) => /<h1>([\s\S]*?)<\/h1>/.exec(body)?.[1];
const langOf = (body: string) => /<html lang="([^"]+)"/.exec(body)?.[1];

/** The text of a block; a "see also" block has none of its own (its link shows a topic's title). */
const textOf = (block: HelpBlock): string[] =>
  typeof block === 'string' ? [block] : 'list' in block ? block.list : [];

/** The "See also:" paragraphs of a page: the words before the link, its href and its text. */
const seeAlso = (body: string) =>
  [...body.matchAll(/<p class="see-also">([^<]*)<a href="([^"]*)">([^<]*)<\/a><\/p>/g)].map((m) => ({
    lead: m[1]!.trim(),
    href: m[2]!.replace(/&amp;/g, '&'),
    text: m[3]!,
  }));

const OVERRIDE_TITLE = 'Lost your <script>alert(1)</script> password?';
const OVERRIDE_PARAGRAPH = 'Call Acme & Co on <b>800</b> and say "reset".';
const OVERRIDE_ITEM = "<img src=x onerror=alert(1)> it's fine";

describe('help text shipped with vakt', () => {
  test('every topic has nb, sv and en text, none empty, and nb and sv are translations', () => {
    for (const topic of HELP_TOPICS) {
      const en = defaultHelpText(topic, 'en');
      for (const locale of SUPPORTED_LOCALES) {
        const text = defaultHelpText(topic, locale);
        assert.ok(text.title.trim(), `${topic} ${locale}: title`);
        assert.ok(text.body.length > 0, `${topic} ${locale}: body`);
        for (const block of text.body) {
          if (typeof block === 'object' && 'see' in block) {
            assert.ok(isTopicSlug(block.see) && block.see !== topic, `${topic} ${locale}: sees ${block.see}`);
            continue;
          }
          const parts = textOf(block);
          assert.ok(parts.length > 0, `${topic} ${locale}: an empty list`);
          for (const part of parts) assert.ok(part.trim(), `${topic} ${locale}: an empty paragraph`);
          // A reference to another topic is a `{ see }` block, a link, not a quoted title in the text.
          for (const part of parts) {
            assert.doesNotMatch(
              part,
              /\b(Se|See) [«”“]/,
              `${topic} ${locale}: use { see: <topic> } for "${part}"`,
            );
          }
        }
        if (locale === 'en') continue;
        assert.notEqual(text.title, en.title, `${topic} ${locale}: title copied from English`);
        const english = new Set(en.body.flatMap(textOf));
        for (const block of text.body) {
          for (const part of textOf(block)) {
            assert.ok(!english.has(part), `${topic} ${locale}: "${part}" copied from English`);
          }
        }
      }
    }
  });

  test('every error message links to a topic that exists', () => {
    const codes = new Set<string>(ERROR_CODES);
    for (const [code, topic] of Object.entries(HELP_FOR_ERROR)) {
      assert.ok(codes.has(code), `${code} is not an error code`);
      assert.ok(isTopicSlug(topic), `${code} links to unknown topic ${topic}`);
    }
    assert.equal(helpLink('acme', 'forgot-password'), '/t/acme/help/forgot-password');
    assert.equal(helpLink('acme', 'forgot-password', 'sv'), '/t/acme/help/forgot-password?lang=sv');
  });

  test('the config refuses an unknown topic, an unknown language and markup-shaped blocks', () => {
    const withHelp = (help: unknown) => ({
      tenants: [{ slug: 'acme', displayName: 'Acme', help }],
    });
    assert.throws(() => parseDeploymentConfig(withHelp({ 'no-such-topic': {} })), /help/);
    assert.throws(
      () => parseDeploymentConfig(withHelp({ 'forgot-password': { de: { title: 'x' } } })),
      /help/,
    );
    assert.throws(
      () => parseDeploymentConfig(withHelp({ 'forgot-password': { en: { body: [{ html: '<b>x</b>' }] } } })),
      /help/,
    );
    // A "see also" names a topic that exists, and nothing else: the error names the field.
    assert.throws(
      () =>
        parseDeploymentConfig(
          withHelp({ 'forgot-password': { en: { body: ['Lost?', { see: 'no-such-topic' }] } } }),
        ),
      (error: Error) =>
        error.message.includes('tenants[acme].help.forgot-password.en.body[1].see') &&
        error.message.includes('"no-such-topic" is not a help topic'),
    );
    for (const block of [
      { see: 'https://evil.example' },
      { see: 'password-rules', href: '//evil' },
      { see: 7 },
    ]) {
      assert.throws(
        () => parseDeploymentConfig(withHelp({ 'forgot-password': { en: { body: [block] } } })),
        /help\.forgot-password\.en\.body\[0\]/,
        JSON.stringify(block),
      );
    }
    const seeing = parseDeploymentConfig(
      withHelp({ 'forgot-password': { sv: { body: [{ see: 'password-rules' }] } } }),
    );
    assert.deepEqual(resolveHelpText('forgot-password', 'sv', seeing.tenants[0]!).body, [
      { see: 'password-rules' },
    ]);

    const parsed = parseDeploymentConfig(withHelp({ 'forgot-password': { en: { title: 'Reset' } } }));
    // Only the title is given: the body stays the shipped one.
    const text = resolveHelpText('forgot-password', 'en', parsed.tenants[0]!);
    assert.equal(text.title, 'Reset');
    assert.deepEqual(text.body, defaultHelpText('forgot-password', 'en').body);
  });
});

for (const kind of databaseKinds) {
  describe(`help pages over HTTP on ${kind.name}`, { skip: kind.skip, timeout: 120_000 }, () => {
    let running: RunningVakt;

    before(async () => {
      running = await startVakt(kind, {
        config: {
          tenants: [
            testTenant({
              support: {
                email: 'help@acme.example',
                phone: '+47 800 12 345',
                url: 'https://acme.example/help',
              },
              help: {
                'forgot-password': {
                  en: { title: OVERRIDE_TITLE, body: [OVERRIDE_PARAGRAPH, { list: [OVERRIDE_ITEM] }] },
                },
                // A tenant's own cross-reference, to a topic whose title it has replaced.
                'password-rules': { en: { body: ['Any password will do.', { see: 'forgot-password' }] } },
              },
            }),
            testTenant({ slug: 'plain', displayName: 'Plain', support: {} }),
          ],
        },
      });
    });
    after(() => running?.stop());

    const get = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${running.url}${path}`, { headers, redirect: 'manual' }).then(async (response) => ({
        status: response.status,
        headers: response.headers,
        body: await response.text(),
      }));

    test('every topic renders in nb, sv and en with its title as the heading', async () => {
      for (const topic of HELP_TOPICS) {
        for (const locale of SUPPORTED_LOCALES) {
          const page = await get(`${helpLink('plain', topic)}?lang=${locale}`);
          assert.equal(page.status, 200, `${topic} ${locale}`);
          assert.match(page.headers.get('content-type') ?? '', /text\/html/);
          assert.equal(langOf(page.body), locale, `${topic} ${locale}`);
          const title = defaultHelpText(topic, locale).title;
          assert.equal(h1(page.body), escapeHtml(title), `${topic} ${locale}`);
          // The tenant's name is in the frame and in place of {tenant}; no placeholder leaks.
          assert.match(page.body, /<span class="tenant">Plain<\/span>/);
          assert.doesNotMatch(page.body, /\{tenant\}/);
        }
      }
    });

    test('the language follows Accept-Language, and the switch is remembered', async () => {
      const swedish = await get('/t/plain/help/no-code-received', { 'accept-language': 'sv-SE,sv;q=0.9' });
      assert.equal(langOf(swedish.body), 'sv');
      // The switch links to the same page in the other languages.
      assert.match(swedish.body, /href="\/t\/plain\/help\/no-code-received\?lang=en"/);
      assert.match(swedish.body, /href="\/t\/plain\/help\/no-code-received\?lang=nb"/);

      const switched = await get('/t/plain/help/no-code-received?lang=en', { 'accept-language': 'sv' });
      assert.equal(langOf(switched.body), 'en');
      const cookie = switched.headers.get('set-cookie')?.split(';')[0];
      assert.equal(cookie, 'vakt_lang=en');
      assert.match(switched.headers.get('set-cookie') ?? '', /; HttpOnly/, 'no script reads it');
      const later = await get('/t/plain/help', { 'accept-language': 'sv', cookie });
      assert.equal(langOf(later.body), 'en', 'the choice outlives the page it was made on');
    });

    test('the index lists every topic and the support contacts', async () => {
      const index = await get('/t/acme/help?lang=en');
      assert.equal(index.status, 200);
      assert.equal(h1(index.body), 'Help');
      for (const topic of HELP_TOPICS)
        assert.ok(index.body.includes(`href="${helpLink('acme', topic)}"`), topic);
      assert.match(index.body, /href="mailto:help@acme\.example"/);
      assert.match(index.body, /href="tel:\+4780012345"/);
      assert.match(index.body, /href="https:\/\/acme\.example\/help"/);
    });

    test('the support contacts are on the contact topic and at the foot of every topic', async () => {
      const contact = await get('/t/acme/help/contact-support?lang=nb');
      assert.match(contact.body, /href="mailto:help@acme\.example"/);
      const topic = await get('/t/acme/help/code-not-sent?lang=nb');
      assert.ok(topic.body.includes(escapeHtml(catalogues.nb['help.more'])));
      assert.match(topic.body, /href="mailto:help@acme\.example"/);
      assert.match(topic.body, /href="\/t\/acme\/help"/, 'a way back to all topics');
      // A tenant without contacts says where to turn instead of showing an empty list.
      const plain = await get('/t/plain/help/contact-support?lang=nb');
      assert.ok(plain.body.includes(escapeHtml(catalogues.nb['help.no_contacts'])));
      assert.doesNotMatch(plain.body, /mailto:/);
    });

    test('a config override replaces the text for that tenant only, escaped', async () => {
      const page = await get('/t/acme/help/forgot-password?lang=en');
      assert.equal(page.status, 200);
      assert.equal(h1(page.body), escapeHtml(OVERRIDE_TITLE));
      assert.ok(page.body.includes(`<p>${escapeHtml(OVERRIDE_PARAGRAPH)}</p>`));
      assert.ok(page.body.includes(`<li>${escapeHtml(OVERRIDE_ITEM)}</li>`));
      assert.ok(page.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.doesNotMatch(page.body, /<script|<img|<b>/, 'no markup from the config reaches the page');
      assert.ok(!page.body.includes(escapeHtml(defaultHelpText('forgot-password', 'en').title)));
      // The index shows the new title too.
      const index = await get('/t/acme/help?lang=en');
      assert.ok(index.body.includes(escapeHtml(OVERRIDE_TITLE)));

      // Other languages of the same tenant, and other tenants, keep the shipped text.
      const norwegian = await get('/t/acme/help/forgot-password?lang=nb');
      assert.equal(h1(norwegian.body), escapeHtml(defaultHelpText('forgot-password', 'nb').title));
      const other = await get('/t/plain/help/forgot-password?lang=en');
      assert.equal(h1(other.body), escapeHtml(defaultHelpText('forgot-password', 'en').title));
      assert.ok(!other.body.includes('Acme &amp; Co'));
    });

    test('a cross-reference is a link to the topic it names, titled in the page language', async () => {
      const lead = { nb: 'Se også:', sv: 'Se även:', en: 'See also:' } as const;
      for (const locale of SUPPORTED_LOCALES) {
        const page = await get(`/t/plain/help/forgot-password?lang=${locale}`);
        assert.equal(page.status, 200);
        assert.deepEqual(
          seeAlso(page.body),
          [
            {
              lead: lead[locale],
              href: helpLink('plain', 'no-code-received'),
              text: escapeHtml(defaultHelpText('no-code-received', locale).title),
            },
          ],
          locale,
        );
        assert.equal(catalogues[locale]['help.see_also'], lead[locale]);
        // The sentence that named the topic in words is gone.
        assert.doesNotMatch(page.body, /Se «|Se ”|See “/, locale);
        // And the link leads to that topic.
        const target = await get(`${seeAlso(page.body)[0]!.href}?lang=${locale}`);
        assert.equal(h1(target.body), escapeHtml(defaultHelpText('no-code-received', locale).title));
      }
      // From a tenant's config: titled as that tenant titles the topic, escaped.
      const own = await get('/t/acme/help/password-rules?lang=en');
      assert.deepEqual(seeAlso(own.body), [
        { lead: 'See also:', href: helpLink('acme', 'forgot-password'), text: escapeHtml(OVERRIDE_TITLE) },
      ]);
      assert.doesNotMatch(own.body, /<script/);
    });

    test('an unknown topic and an unknown tenant are localised 404 pages', async () => {
      const topic = await get('/t/acme/help/no-such-topic', { 'accept-language': 'sv' });
      assert.equal(topic.status, 404);
      assert.equal(langOf(topic.body), 'sv');
      assert.ok(topic.body.includes(escapeHtml(catalogues.sv['request.not_found'])));
      assert.match(topic.body, /<span class="tenant">Acme<\/span>/, 'in the frame of the tenant');

      const tenant = await get('/t/no-such-tenant/help', { 'accept-language': 'nb' });
      assert.equal(tenant.status, 404);
      assert.equal(langOf(tenant.body), 'nb');
      assert.ok(tenant.body.includes(escapeHtml(catalogues.nb['tenant.not_found'])));
      const tenantTopic = await get('/t/no-such-tenant/help/forgot-password', { 'accept-language': 'en' });
      assert.equal(tenantTopic.status, 404);
      assert.ok(tenantTopic.body.includes(escapeHtml(catalogues.en['tenant.not_found'])));
    });
  });
}
