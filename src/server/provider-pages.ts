// The pages oidc-provider renders itself (errors, logout, the auto-submit form), drawn with vakt's
// templates, in the language of the request they answer, with language links back to themselves.
//
// Rules enforced here:
// - pageFor: a page that answers GET links to its own URL with lang=; one that answers a POST
//   cannot be asked for again without its form, so its language links lead to the help pages.
// - logoutLanguage: the language a logout was asked in (ui_locales, or a lang= choice on the
//   question) goes on to the confirm endpoint and the "logged out" page (carryToLoggedOut), to
//   which oidc-provider passes none of the logout request's parameters.
// - replaceAutoSubmit: oidc-provider's English auto-submit page gives way to vakt's, whose one
//   inline script the Content-Security-Policy allows by its hash (allowingAutoSubmit).
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TenantSettings } from '../domain/tenants.js';
import { helpIndexLink } from '../help/topics.js';
import type { ProviderPages, RawRequestInfo } from '../oidc/provider.js';
import { toLocale } from '../ui/i18n.js';
import type { PageContext } from '../ui/layout.js';
import {
  AUTO_SUBMIT_SCRIPT,
  renderAutoSubmitPage,
  renderErrorPage,
  renderLoggedOutPage,
  renderLogoutPage,
} from '../ui/pages.js';
import { buildPageContext, languageChoiceCookie } from './http-context.js';

/** A request to a tenant's provider: its path under the public URL (`/t/<tenant>/auth`) and method. */
interface RequestPlace {
  path: string;
  method: string;
}

/**
 * Each provider request's place, by the request's headers object. The renderers get a request only
 * as RawRequestInfo (query and headers, provider.ts's requestInfo), whose `headers` are the
 * request's own; `localiseProviderPages` records the place before oidc-provider runs.
 */
const places = new WeakMap<object, RequestPlace>();

function pageFor(tenant: TenantSettings, request: RawRequestInfo): PageContext {
  const query = request.query.toString();
  const page = buildPageContext({ url: `/?${query}`, headers: request.headers }, tenant);
  const place = places.get(request.headers);
  const asksAgain = place && (place.method === 'GET' || place.method === 'HEAD');
  if (!asksAgain) return { ...page, path: helpIndexLink(tenant.slug) };
  return { ...page, path: query ? `${place.path}?${query}` : place.path };
}

/**
 * The language parameters of `query` that a logout carries on: `lang` (the switch's choice) and
 * the first of `ui_locales` that the tenant offers, each as one of its locales, nothing else.
 */
function logoutLanguage(tenant: TenantSettings, query: URLSearchParams): URLSearchParams {
  const offered = (tag: string) => {
    const locale = toLocale(tag);
    return locale && tenant.locales.includes(locale) ? locale : undefined;
  };
  const carried = new URLSearchParams();
  const chosen = offered(query.get('lang') ?? '');
  if (chosen) carried.set('lang', chosen);
  const asked = (query.get('ui_locales') ?? '').split(/\s+/).map(offered).find(Boolean);
  if (asked) carried.set('ui_locales', asked);
  return carried;
}

function withQuery(url: string, params: URLSearchParams): string {
  if (params.size === 0) return url;
  const target = new URL(url);
  for (const [key, value] of params) target.searchParams.set(key, value);
  return target.href;
}

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;');

export const providerPages: ProviderPages = {
  renderError(tenant, request, out) {
    // The OAuth error code helps the relying party's developer; the sentence helps the person.
    const detail = out.error_description ? `${out.error}: ${out.error_description}` : out.error;
    return renderErrorPage({
      page: pageFor(tenant, request),
      error: out.error === 'server_error' ? 'server.unexpected' : 'oauth.error',
      detail,
      support: tenant.support,
    });
  },
  renderLogout(tenant, request, form) {
    // oidc-provider's form posts to the confirm endpoint: its action gets the page's language.
    const carried = logoutLanguage(tenant, request.query);
    const carrying = form.replace(
      / action="([^"]*)"/,
      (_match, action: string) => ` action="${escapeAttribute(withQuery(unescapeHtml(action), carried))}"`,
    );
    return renderLogoutPage({ page: pageFor(tenant, request), form: carrying });
  },
  renderLoggedOut(tenant, request) {
    return renderLoggedOutPage({ page: pageFor(tenant, request) });
  },
  renderRequestError(tenant, request, error) {
    return renderErrorPage({ page: pageFor(tenant, request), error, support: tenant.support });
  },
};

/** What `localiseProviderPages` uses of oidc-provider's (Koa) context. */
export interface ProviderRequestContext {
  method: string;
  /** The path under the issuer (`/auth`). */
  path: string;
  querystring: string;
  /** The request's public URL (oidc-provider runs with `proxy`, behind vakt's forwarded headers). */
  href: string;
  status: number;
  body: unknown;
  req: IncomingMessage;
  response: { get(field: string): string };
  set(field: string, value: string): void;
  append(field: string, value: string): void;
  oidc?: { params?: Record<string, unknown> | undefined } | undefined;
}

/**
 * Middleware for a tenant's provider (`provider.use`), before everything else: it records where
 * each request went, for the language links of the pages above, and after oidc-provider has
 * answered, carries a logout's language on to the "logged out" page and replaces oidc-provider's
 * auto-submit page with vakt's.
 */
export function localiseProviderPages(tenant: TenantSettings) {
  const prefix = `/t/${tenant.slug}`;
  return async function providerPagesInLanguage(
    ctx: ProviderRequestContext,
    next: () => Promise<unknown>,
  ): Promise<void> {
    places.set(ctx.req.headers, { path: `${prefix}${ctx.path}`, method: ctx.method });
    // A language chosen with one of these pages' links is kept, as on vakt's own pages.
    if (ctx.method === 'GET' && ctx.querystring.includes('lang=')) {
      const cookie = languageChoiceCookie(
        new URLSearchParams(ctx.querystring).get('lang'),
        new URL(ctx.href).protocol === 'https:',
      );
      if (cookie) ctx.append('set-cookie', cookie);
    }
    await next();
    if (ctx.method === 'POST' && ctx.path === '/session/end/confirm' && ctx.status === 303) {
      carryToLoggedOut(ctx);
    } else if (isStockAutoSubmit(ctx.body)) {
      replaceAutoSubmit(ctx, ctx.body);
    }
  };

  /** The confirm endpoint's redirect to the "logged out" page, not one to a relying party. */
  function carryToLoggedOut(ctx: ProviderRequestContext) {
    const location = ctx.response.get('location');
    if (!location) return;
    const origin = new URL(ctx.href).origin;
    const target = new URL(location, origin);
    if (target.origin !== origin || target.pathname !== `${prefix}/session/end/success`) return;
    ctx.set('location', withQuery(target.href, logoutLanguage(tenant, new URLSearchParams(ctx.querystring))));
  }

  function replaceAutoSubmit(ctx: ProviderRequestContext, stock: string) {
    const form = parseStockAutoSubmit(stock);
    // A page of another shape (a new oidc-provider) is left as it is: it works, in English.
    if (!form) return;
    const query = new URLSearchParams(ctx.querystring);
    const uiLocales = ctx.oidc?.params?.ui_locales;
    if (typeof uiLocales === 'string' && !query.has('ui_locales')) query.set('ui_locales', uiLocales);
    const origin = new URL(ctx.href).origin;
    const target = new URL(form.action, origin);
    const action =
      target.origin === origin && target.pathname === `${prefix}/session/end/confirm`
        ? withQuery(form.action, logoutLanguage(tenant, query))
        : form.action;
    ctx.body = renderAutoSubmitPage({
      page: buildPageContext({ url: `/?${query.toString()}`, headers: ctx.req.headers }, tenant),
      action,
      fields: form.fields,
    });
    const policy = ctx.response.get('content-security-policy');
    if (policy) ctx.set('content-security-policy', allowingAutoSubmit(policy));
  }
}

/** oidc-provider's auto-submit page (lib/response_modes/form_post.js), as oidc-provider 9 writes it. */
function isStockAutoSubmit(body: unknown): body is string {
  return (
    typeof body === 'string' &&
    body.startsWith('<!DOCTYPE html>') &&
    body.includes('<title>Submitting Callback</title>')
  );
}
const STOCK_ACTION = /<form method="post" action="([^"]*)">/;
const STOCK_FIELD = /<input type="hidden" name="([^"]*)" value="([^"]*)"\/>/g;

/** Undoes oidc-provider's htmlSafe. */
function unescapeHtml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function parseStockAutoSubmit(
  html: string,
): { action: string; fields: Array<readonly [string, string]> } | undefined {
  const action = STOCK_ACTION.exec(html)?.[1];
  if (action === undefined) return undefined;
  const fields = [...html.matchAll(STOCK_FIELD)].map(
    ([, name = '', value = '']) => [unescapeHtml(name), unescapeHtml(value)] as const,
  );
  return { action: unescapeHtml(action), fields };
}

const AUTO_SUBMIT_HASH = `'sha256-${createHash('sha256').update(AUTO_SUBMIT_SCRIPT).digest('base64')}'`;

/**
 * The page's policy with vakt's auto-submit script allowed by its hash, in place of the hashes
 * oidc-provider added for the script of its own page, which is no longer there.
 */
function allowingAutoSubmit(policy: string): string {
  const directives = policy
    .split(';')
    .map((directive) => directive.trim().split(/\s+/))
    .filter((words) => words[0]);
  const scriptSrc = directives.find(([name]) => name === 'script-src');
  if (scriptSrc) {
    const kept = scriptSrc.filter((source) => !source.startsWith("'sha256-"));
    scriptSrc.splice(0, scriptSrc.length, ...kept, AUTO_SUBMIT_HASH);
  } else {
    directives.push(['script-src', AUTO_SUBMIT_HASH]);
  }
  return directives.map((words) => words.join(' ')).join('; ');
}
