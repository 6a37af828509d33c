// The login and consent journey inside an OpenID Connect authorization request.
//
// Rules this file enforces:
// - checkTenant: an unknown tenant is a localised 404, never a redirect.
// - checkInteraction: the interaction cookie must exist and belong to the uid in the URL.
// - checkCsrf: every POST carries the HMAC of its interaction uid (and a same-origin Origin).
// - checkLoginForm: identifier and password present and bounded; anything else is a 400 page.
// - verifyPassword: a wrong password and an unknown identifier give the same 401 page.
// - autoConsentFirstParty: a first-party client is never shown a consent screen.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccountService } from '../domain/accounts.js';
import type { ErrorCode } from '../domain/errors.js';
import type { SecretBox } from '../domain/secrets.js';
import type { TenantSettings } from '../domain/tenants.js';
import type { TenantRegistry, TenantRuntime } from '../oidc/registry.js';
import { buildPageContext, rememberLanguageChoice } from '../server/http-context.js';
import { renderConsentPage, renderLoginPage } from '../ui/pages.js';

type SendErrorPage = (
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  tenant?: TenantSettings,
) => FastifyReply;

interface InteractionDeps {
  registry: TenantRegistry;
  accounts: AccountService;
  secrets: SecretBox;
  production: boolean;
  sendErrorPage: SendErrorPage;
}

type Params = { tenant: string; uid: string };
type Details = Awaited<ReturnType<TenantRuntime['provider']['interactionDetails']>>;

const loginForm = z.object({
  csrf: z.string().max(200),
  identifier: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(1024),
  remember: z.literal('on').optional(),
});

const COUNTRY_NAMES: Record<string, Record<string, string>> = {
  nb: { NO: 'Norge', SE: 'Sverige', DK: 'Danmark', FI: 'Finland' },
  sv: { NO: 'Norge', SE: 'Sverige', DK: 'Danmark', FI: 'Finland' },
  en: { NO: 'Norway', SE: 'Sweden', DK: 'Denmark', FI: 'Finland' },
};

export function registerInteractionRoutes(app: FastifyInstance, deps: InteractionDeps): void {
  const { registry, accounts, secrets, sendErrorPage } = deps;
  const csrfFor = (uid: string) => secrets.mac('csrf', `interaction:${uid}`);

  async function checkTenant(request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) {
    const runtime = await registry.getTenant(request.params.tenant);
    if (!runtime) sendErrorPage(request, reply, 404, 'tenant.not_found');
    return runtime;
  }

  async function checkInteraction(
    runtime: TenantRuntime,
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
  ) {
    try {
      const details = await runtime.provider.interactionDetails(request.raw, reply.raw);
      if (details.uid === request.params.uid) return details;
    } catch {
      // No interaction cookie, or it expired: the same answer below.
    }
    sendErrorPage(request, reply, 400, 'interaction.expired', runtime.settings);
    return undefined;
  }

  function checkCsrf(
    request: FastifyRequest<{ Params: Params }>,
    runtime: TenantRuntime,
    reply: FastifyReply,
  ): boolean {
    const body = request.body as Record<string, unknown> | undefined;
    const token = typeof body?.csrf === 'string' ? body.csrf : '';
    // Browsers send Sec-Fetch-Site on every POST; with Referrer-Policy no-referrer a same-origin
    // form POST carries `Origin: null`, so Origin is only the fallback for clients without it.
    const site = request.headers['sec-fetch-site'];
    const origin = request.headers.origin;
    const sameOrigin =
      typeof site === 'string'
        ? site === 'same-origin'
        : !origin || origin === new URL(runtime.issuer).origin;
    if (sameOrigin && secrets.macEquals('csrf', `interaction:${request.params.uid}`, token)) return true;
    sendErrorPage(request, reply, 403, 'request.csrf', runtime.settings);
    return false;
  }

  function page(request: FastifyRequest, runtime: TenantRuntime, details: Details) {
    return buildPageContext(
      { url: request.url, headers: request.headers },
      runtime.settings,
      details.params.ui_locales as string | undefined,
    );
  }

  function clientName(runtime: TenantRuntime, details: Details): string {
    const id = String(details.params.client_id);
    return runtime.clients.get(id)?.name ?? id;
  }

  function showLogin(
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    runtime: TenantRuntime,
    details: Details,
    status: number,
    extra: { error?: ErrorCode; identifier?: string; remember?: boolean } = {},
  ) {
    const base = `/t/${runtime.slug}/interaction/${details.uid}`;
    // After a POST to …/login the language links must point at the interaction page itself.
    const ctx = { ...page(request, runtime, details), path: base };
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        renderLoginPage({
          page: ctx,
          action: `${base}/login`,
          abortAction: `${base}/abort`,
          csrf: csrfFor(details.uid),
          clientName: clientName(runtime, details),
          countryName:
            COUNTRY_NAMES[ctx.locale]?.[runtime.settings.defaultCountry] ?? runtime.settings.defaultCountry,
          identifier: extra.identifier ?? (details.params.login_hint as string | undefined) ?? '',
          ...(extra.remember !== undefined ? { remember: extra.remember } : {}),
          ...(extra.error ? { error: extra.error as never } : {}),
        }),
      );
  }

  async function grantConsent(runtime: TenantRuntime, details: Details): Promise<{ grantId: string }> {
    const { Grant } = runtime.provider;
    const promptDetails = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant = details.grantId
      ? ((await Grant.find(details.grantId)) ??
        new Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) }))
      : new Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
    if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
    if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    return { grantId: await grant.save() };
  }

  async function finish(
    request: FastifyRequest,
    reply: FastifyReply,
    runtime: TenantRuntime,
    result: Record<string, unknown>,
  ) {
    const returnTo = await runtime.provider.interactionResult(request.raw, reply.raw, result, {
      mergeWithLastSubmission: false,
    });
    // 303: the browser follows with GET and does not resend the password (RFC 9700 4.12).
    return reply.code(303).header('cache-control', 'no-store').redirect(returnTo, 303);
  }

  app.get<{ Params: Params }>('/t/:tenant/interaction/:uid', async (request, reply) => {
    const runtime = await checkTenant(request, reply);
    if (!runtime) return reply;
    const details = await checkInteraction(runtime, request, reply);
    if (!details) return reply;
    rememberLanguageChoice(request, reply, deps.production);
    if (details.prompt.name === 'login') return showLogin(request, reply, runtime, details, 200);
    if (details.prompt.name === 'consent') {
      if (runtime.clients.get(String(details.params.client_id))?.firstParty) {
        return finish(request, reply, runtime, { consent: await grantConsent(runtime, details) });
      }
      const ctx = page(request, runtime, details);
      const base = `/t/${runtime.slug}/interaction/${details.uid}`;
      const scopes = String(details.params.scope ?? '')
        .split(' ')
        .filter(Boolean);
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          renderConsentPage({
            page: ctx,
            action: `${base}/consent`,
            abortAction: `${base}/abort`,
            csrf: csrfFor(details.uid),
            clientName: clientName(runtime, details),
            scopes,
          }),
        );
    }
    return sendErrorPage(request, reply, 400, 'request.invalid', runtime.settings);
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/login', async (request, reply) => {
    const runtime = await checkTenant(request, reply);
    if (!runtime) return reply;
    const details = await checkInteraction(runtime, request, reply);
    if (!details || !checkCsrf(request, runtime, reply)) return reply;
    if (details.prompt.name !== 'login')
      return sendErrorPage(request, reply, 400, 'request.invalid', runtime.settings);
    const form = loginForm.safeParse(request.body);
    if (!form.success) {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const identifier = typeof body.identifier === 'string' ? body.identifier.slice(0, 254) : '';
      return showLogin(request, reply, runtime, details, 400, { error: 'login.missing_fields', identifier });
    }
    const { identifier, password, remember } = form.data;
    const result = await accounts.verifyPasswordLogin(
      runtime.slug,
      runtime.settings.defaultCountry,
      identifier,
      password,
    );
    if (!result.ok) {
      return showLogin(request, reply, runtime, details, 401, {
        error: result.error,
        identifier,
        remember: remember === 'on',
      });
    }
    return finish(request, reply, runtime, {
      login: { accountId: result.value.accountId, remember: remember === 'on', amr: ['pwd'] },
    });
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/consent', async (request, reply) => {
    const runtime = await checkTenant(request, reply);
    if (!runtime) return reply;
    const details = await checkInteraction(runtime, request, reply);
    if (!details || !checkCsrf(request, runtime, reply)) return reply;
    if (details.prompt.name !== 'consent')
      return sendErrorPage(request, reply, 400, 'request.invalid', runtime.settings);
    return finish(request, reply, runtime, { consent: await grantConsent(runtime, details) });
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/abort', async (request, reply) => {
    const runtime = await checkTenant(request, reply);
    if (!runtime) return reply;
    const details = await checkInteraction(runtime, request, reply);
    if (!details || !checkCsrf(request, runtime, reply)) return reply;
    return finish(request, reply, runtime, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    });
  });
}
