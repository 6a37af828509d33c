// Fastify assembly: security headers, forwarded-header normalisation, tenant routing to
// oidc-provider, the hosted pages, error pages. Nothing here knows a SQL table.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import formbody from '@fastify/formbody';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { SLUG_PATTERN } from '../config/schema.js';
import type { Settings } from '../config/settings.js';
import type { DeliveryService } from '../delivery/types.js';
import type { AccountService } from '../domain/accounts.js';
import type { Clock } from '../domain/clock.js';
import { AbandonedError, AppError, BusyError, type ErrorCode } from '../domain/errors.js';
import type { CodeService } from '../domain/one-time-codes.js';
import type { PasswordHasher } from '../domain/passwords.js';
import type { SecretBox } from '../domain/secrets.js';
import type { TenantSettings } from '../domain/tenants.js';
import type { ThrottleService } from '../domain/throttle.js';
import { registerAccountPages } from '../flows/account.js';
import { registerCodeJourneys } from '../flows/codes.js';
import { registerInteractionRoutes } from '../flows/interaction.js';
import { createJourneyKit } from '../flows/kit.js';
import { createNewPasswordStep } from '../flows/new-password.js';
import { registerRecovery } from '../flows/recovery.js';
import { registerHelpRoutes } from '../help/routes.js';
import { createSessionEnder } from '../oidc/end-sessions.js';
import { boundedRequest, isFormBody, PROVIDER_BODY_LIMIT } from '../oidc/form-post-requests.js';
import { JSON_ENDPOINTS } from '../oidc/provider.js';
import type { TenantRegistry } from '../oidc/registry.js';
import type { OidcModelRepository } from '../store/oidc-model-repository.js';
import { renderErrorPage } from '../ui/pages.js';
import { buildPageContext } from './http-context.js';
import { MethodTable } from './methods.js';
import { setSecurityHeaders } from './security-headers.js';

export interface ServerDeps {
  settings: Settings;
  publicUrl: () => string;
  registry: TenantRegistry;
  accounts: AccountService;
  codes: CodeService;
  delivery: DeliveryService;
  hasher: PasswordHasher;
  clock: Clock;
  throttle: ThrottleService;
  oidcModels: OidcModelRepository;
  secrets: SecretBox;
  logger: Logger;
  /** Extra routes, such as the development demo and outbox. */
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
}

const STYLESHEET = readFileSync(new URL('../ui/static/vakt.css', import.meta.url));

/** The longest path segment the router matches to a route's parameter (`:uid`, `:tenant`). */
const MAX_PARAM_LENGTH = 200;

/** Sends a localised error page with the right status; unexpected errors get a support reference. */
export function sendErrorPage(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  tenant?: TenantSettings,
  extra: { reference?: string; detail?: string } = {},
): FastifyReply {
  const page = buildPageContext({ url: request.url, headers: request.headers }, tenant);
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(renderErrorPage({ page, error: code, ...extra, ...(tenant ? { support: tenant.support } : {}) }));
}

export async function createServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { settings, registry, logger } = deps;
  const production = settings.mode === 'production';
  /** The tenant a failed request was for, when it can still be found, for its name and support contacts. */
  async function tenantOf(request: FastifyRequest): Promise<TenantSettings | undefined> {
    const slug = /^\/t\/([^/?]+)/.exec(request.url)?.[1];
    // Only what could be a tenant's slug is looked up.
    if (!slug || !SLUG_PATTERN.test(slug)) return undefined;
    try {
      return (await registry.getTenant(slug))?.settings;
    } catch {
      return undefined;
    }
  }

  /**
   * A path the router could not take apart, so no route or hook saw the request: a bad
   * percent-encoding (400), or a segment longer than any route's parameter (only a tenant's slug
   * has no catch-all behind it, and no slug is that long: 404).
   */
  async function answerUnroutable(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    setSecurityHeaders(reply.raw, production);
    if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      const code = request.url.startsWith('/t/') ? 'tenant.not_found' : 'request.not_found';
      return sendErrorPage(request, reply, 404, code);
    }
    if (error.code === 'FST_ERR_BAD_URL') {
      return sendErrorPage(request, reply, 400, 'request.invalid', await tenantOf(request));
    }
    const reference = request.id;
    request.log.error({ err: error, reference, url: request.url }, 'unexpected error');
    return sendErrorPage(request, reply, 500, 'server.unexpected', undefined, { reference });
  }

  const app: FastifyInstance = Fastify({
    // Request lines are info; the server logs only warnings and errors (the hot path stays quiet).
    loggerInstance: logger.child(
      {},
      { level: logger.level === 'silent' ? 'silent' : 'warn' },
    ) as unknown as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    // The forwarded headers are rewritten below from the public URL, which is authoritative.
    trustProxy: production,
    requestIdHeader: false,
    genReqId: () => randomBytes(8).toString('hex'),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals, which would otherwise be Fastify's JSON without any header set.
    frameworkErrors: (error, request, reply) => {
      answerUnroutable(error, request, reply).catch(() => reply.raw.destroy());
    },
  });

  // Every route's methods, as it is registered, for 405's Allow and for OPTIONS; not the
  // catch-alls that hand the rest to oidc-provider, which take any method (config.catchAll).
  const methods = new MethodTable(MAX_PARAM_LENGTH);
  app.addHook('onRoute', (route) => {
    if (!(route.config as { catchAll?: boolean } | undefined)?.catchAll) methods.add(route.url, route.method);
  });

  app.addHook('onRequest', async (request, reply) => {
    const publicUrl = new URL(deps.publicUrl());
    request.raw.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    request.raw.headers['x-forwarded-host'] = publicUrl.host;
    setSecurityHeaders(reply.raw, production);
  });

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    // Its client went away while a password hash waited its turn (the hash was never made):
    // no one is left to answer, and it is no fault of the server's.
    if (error instanceof AbandonedError) return reply.code(499).send();
    // A refusal for load (BusyError) that no step turned into its own page: say when to come back.
    if (error instanceof BusyError) reply.header('retry-after', String(error.retryAfterSeconds));
    // The page is the tenant's (its name, its support contacts) whenever the tenant is known.
    const tenant = await tenantOf(request);
    if (error instanceof AppError) return sendErrorPage(request, reply, error.status, error.code, tenant);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendErrorPage(request, reply, 413, 'request.too_large', tenant);
    }
    if (error.statusCode === 415 || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendErrorPage(request, reply, 415, 'request.invalid', tenant);
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendErrorPage(request, reply, error.statusCode, 'request.invalid', tenant);
    }
    const reference = request.id;
    request.log.error({ err: error, reference, url: request.url }, 'unexpected error');
    // "An error has occurred": the reference that is in the log, and whom to give it to.
    return sendErrorPage(request, reply, 500, 'server.unexpected', tenant, { reference });
  });

  /**
   * A path that some route has, asked with a method that none of them takes: OPTIONS gets 204 and
   * the methods (RFC 9110 9.3.7), anything else 405 and the same Allow header (15.5.6).
   * Undefined where no route has the path.
   */
  function answerOtherMethod(request: FastifyRequest, reply: FastifyReply, tenant?: TenantSettings) {
    const allow = methods.allowFor(request.url.split('?')[0] ?? '');
    if (!allow) return undefined;
    reply.header('allow', allow);
    if (request.method === 'OPTIONS') return reply.code(204).send();
    return sendErrorPage(request, reply, 405, 'request.method_not_allowed', tenant);
  }

  app.setNotFoundHandler(
    (request, reply) =>
      answerOtherMethod(request, reply) ?? sendErrorPage(request, reply, 404, 'request.not_found'),
  );

  app.get('/static/vakt.css', (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET),
  );
  app.get('/healthz', async () => ({ status: 'ok' }));

  // Hosted pages with forms: parsed here, never in the provider's context below.
  await app.register(async (pages) => {
    // Their forms are URL-encoded, and nothing else is read: a JSON or text body is refused with
    // 415 before it is read (a body with no type too, as the provider's form POSTs are), and no
    // parser but the form's is left for one to reach.
    pages.removeAllContentTypeParsers();
    await pages.register(formbody, { bodyLimit: 16 * 1024 });
    pages.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'POST' || isFormBody(request.headers)) return;
      return sendErrorPage(request, reply, 415, 'request.invalid', await tenantOf(request));
    });
    const kit = createJourneyKit({
      registry,
      secrets: deps.secrets,
      throttle: deps.throttle,
      production,
      sendErrorPage,
    });
    const codeJourneys = registerCodeJourneys(pages, {
      kit,
      accounts: deps.accounts,
      codes: deps.codes,
      delivery: deps.delivery,
      hasher: deps.hasher,
    });
    registerInteractionRoutes(pages, { kit, accounts: deps.accounts, codeJourneys });
    registerHelpRoutes(pages, { registry, sendErrorPage });
    const endSessions = createSessionEnder({ registry, models: deps.oidcModels, clock: deps.clock });
    const setNewPassword = createNewPasswordStep({
      accounts: deps.accounts,
      delivery: deps.delivery,
      endSessions,
      log: logger,
    });
    registerAccountPages(pages, {
      registry,
      endSessions,
      models: deps.oidcModels,
      clock: deps.clock,
      accounts: deps.accounts,
      hasher: deps.hasher,
      secrets: deps.secrets,
      setNewPassword,
      production,
      sendErrorPage,
      throttle: deps.throttle,
    });
    registerRecovery(pages, {
      kit,
      accounts: deps.accounts,
      codes: deps.codes,
      codeJourneys,
      secrets: deps.secrets,
      clock: deps.clock,
      setNewPassword,
    });
  });

  // Everything else under /t/<tenant>/ is oidc-provider's. Its body is left unread for it.
  await app.register(async (oidc) => {
    oidc.removeAllContentTypeParsers();
    oidc.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const forward = async (request: FastifyRequest<{ Params: { tenant: string } }>, reply: FastifyReply) => {
      const runtime = await registry.getTenant(request.params.tenant);
      if (!runtime) return sendErrorPage(request, reply, 404, 'tenant.not_found');
      // A hosted page's path that its routes did not take with this method.
      const otherMethod = answerOtherMethod(request, reply, runtime.settings);
      if (otherMethod) return otherMethod;
      const prefix = `/t/${runtime.slug}`;
      const endpoint = request.url.split('?')[0]!.slice(prefix.length);
      // A body over the limit is 413 here: oidc-provider would read it and say 400.
      const bounded = await boundedRequest(request.raw, PROVIDER_BODY_LIMIT);
      if (bounded === 'gone') return reply.code(400).send();
      if (bounded === 'too_large') {
        // The rest of the body is not read: the connection ends with the answer.
        reply.header('connection', 'close');
        if (!JSON_ENDPOINTS.has(endpoint)) {
          return sendErrorPage(request, reply, 413, 'request.too_large', runtime.settings);
        }
        return reply
          .code(413)
          .header('cache-control', 'no-store')
          .send({ error: 'invalid_request', error_description: 'request body too large' });
      }
      const raw = bounded as typeof bounded & { originalUrl?: string };
      raw.originalUrl = raw.url;
      raw.url = raw.url!.slice(prefix.length) || '/';
      reply.hijack();
      runtime.handle(raw, reply.raw);
      return reply;
    };
    oidc.all('/t/:tenant', { config: { catchAll: true } }, forward);
    oidc.all('/t/:tenant/*', { config: { catchAll: true } }, forward);
  });

  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
