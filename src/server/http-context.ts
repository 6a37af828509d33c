// What every hosted page needs from a request: its language, the tenant's frame, cookies.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IDENTIFIER_KINDS, type Locale, SUPPORTED_LOCALES } from '../config/schema.js';
import type { TenantSettings } from '../domain/tenants.js';
import { pickLocale, toLocale, translator } from '../ui/i18n.js';
import type { PageContext } from '../ui/layout.js';

/** The language switch's cookie; in production (https) a __Host- cookie, as the session's is. */
export const LANGUAGE_COOKIE = 'vakt_lang';
const SECURE_LANGUAGE_COOKIE = `__Host-${LANGUAGE_COOKIE}`;

export function readCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index < 1) continue;
    const name = part.slice(0, index).trim();
    try {
      cookies.set(name, decodeURIComponent(part.slice(index + 1).trim()));
    } catch {
      // A malformed cookie is ignored, not an error page.
    }
  }
  return cookies;
}

export interface PageRequest {
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function buildPageContext(
  request: PageRequest,
  tenant:
    | (Pick<TenantSettings, 'displayName' | 'locales'> &
        Partial<Pick<TenantSettings, 'identifierKinds'>> & { slug?: string })
    | undefined,
  uiLocales?: string,
): PageContext {
  const url = new URL(request.url, 'http://x');
  const offered: readonly Locale[] = tenant?.locales ?? SUPPORTED_LOCALES;
  const locale = pickLocale(offered, {
    chosen: url.searchParams.get('lang') ?? chosenLanguage(readCookies(header(request.headers.cookie))),
    uiLocales: uiLocales ?? url.searchParams.get('ui_locales') ?? undefined,
    acceptLanguage: header(request.headers['accept-language']),
  });
  const identifierKinds = tenant?.identifierKinds ?? IDENTIFIER_KINDS;
  return {
    locale,
    t: translator(locale, identifierKinds),
    identifierKinds,
    tenantName: tenant?.displayName ?? 'vakt',
    ...(tenant?.slug ? { tenantSlug: tenant.slug } : {}),
    locales: offered,
    path: url.pathname + url.search,
  };
}

/** Remembers a choice made with the language switch. */
export function rememberLanguageChoice(request: FastifyRequest, reply: FastifyReply, secure: boolean): void {
  const cookie = languageChoiceCookie((request.query as Record<string, unknown> | undefined)?.lang, secure);
  if (cookie) reply.header('set-cookie', cookie);
}

/** The Set-Cookie value that keeps `chosen` (a language switch's `lang=`), if it names a language. */
export function languageChoiceCookie(chosen: unknown, secure: boolean): string | undefined {
  const locale = typeof chosen === 'string' ? toLocale(chosen) : undefined;
  if (!locale) return undefined;
  return secure
    ? `${SECURE_LANGUAGE_COOKIE}=${locale}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly; Secure`
    : `${LANGUAGE_COOKIE}=${locale}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly`;
}

function chosenLanguage(cookies: Map<string, string>): string | undefined {
  return cookies.get(SECURE_LANGUAGE_COOKIE) ?? cookies.get(LANGUAGE_COOKIE);
}

/** A hosted page: HTML, never cached (it carries a CSRF token and personal details). */
export function sendHtml(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}

/**
 * Whether a form POST came from a page of this origin. Browsers send Sec-Fetch-Site on every
 * POST; with Referrer-Policy no-referrer a same-origin form POST carries `Origin: null`, so
 * Origin is only the fallback for clients without Sec-Fetch-Site.
 */
export function isSameOriginPost(request: FastifyRequest, origin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin';
  const sent = request.headers.origin;
  return !sent || sent === origin;
}
