// The frame of every hosted page: language, title, tenant name, language switch. No
// JavaScript and no third-party resources; the one stylesheet is served by vakt itself.
import type { Child, FC } from 'hono/jsx';
import type { Locale } from '../config/schema.js';
import type { IdentifierKind } from '../domain/identifiers.js';
import { catalogues, type Translate } from './i18n.js';

export interface PageContext {
  locale: Locale;
  t: Translate;
  tenantName: string;
  /** The tenant whose page this is, for links to its help pages. */
  tenantSlug?: string;
  /** What the tenant's people log in with; `t` words its messages for these too. */
  identifierKinds: readonly IdentifierKind[];
  /** Languages the tenant offers, for the switch. */
  locales: readonly Locale[];
  /** The current path, to build the language-switch links. */
  path: string;
}

/**
 * `languageSwitch={false}` leaves the switch out: on a page that only passes the browser on (the
 * auto-submit page), a link that asked for the page again would repeat the request behind it.
 */
export const Layout: FC<{ page: PageContext; title: string; languageSwitch?: boolean; children?: Child }> = ({
  page,
  title,
  languageSwitch = true,
  children,
}) => (
  <html lang={page.locale}>
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} – ${page.tenantName}`}</title>
      <link rel="stylesheet" href="/static/vakt.css" />
    </head>
    <body>
      <a class="skip" href="#main">
        {page.t('page.skip')}
      </a>
      <header>
        <span class="tenant">{page.tenantName}</span>
        {languageSwitch && page.locales.length > 1 ? (
          <nav aria-label={page.t('lang.switch')}>
            <ul class="languages">
              {page.locales.map((locale) => (
                <li>
                  {locale === page.locale ? (
                    <span aria-current="true" lang={locale}>
                      {catalogues[locale]['lang.name']}
                    </span>
                  ) : (
                    <a href={withQuery(page.path, 'lang', locale)} lang={locale} hreflang={locale}>
                      {catalogues[locale]['lang.name']}
                    </a>
                  )}
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
      </header>
      <main id="main">{children}</main>
    </body>
  </html>
);

function withQuery(path: string, key: string, value: string): string {
  const url = new URL(path, 'http://x');
  url.searchParams.set(key, value);
  return url.pathname + url.search;
}

export function renderDocument(node: unknown): string {
  return '<!doctype html>' + String(node);
}
