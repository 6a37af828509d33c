// Fastify assembly: security headers, forwarded-header normalisation, tenant routing to
// oidc-provider, the hosted pages, error pages. Nothing here knows a SQL table.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import formbody from '@fastify/formbody';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
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
    routerOptions: { maxParamLength: 200 },
  });

  // Every route's methods, as it is registered, for 405's Allow and for OPTIONS; not the
  // catch-alls that hand the rest to oidc-provider, which take any method (config.catchAll).
  const methods = new MethodTable();
  app.addHook('onRoute', (route) => {
    if (!(route.config as { catchAll?: boolean } | undefined)?.catchAll) methods.add(route.url, route.method);
  });

  app.addHook('onRequest', async (request, reply) => {
    const publicUrl = new URL(deps.publicUrl());
    request.raw.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    request.raw.headers['x-forwarded-host'] = publicUrl.host;
    setSecurityHeaders(reply.raw, production);
  });

  /** The tenant a failed request was for, when it can still be found, for its support contacts. */
  async function tenantOf(request: FastifyRequest): Promise<TenantSettings | undefined> {
    const slug = /^\/t\/([^/?]+)/.exec(request.url)?.[1];
    if (!slug) return undefined;
    try {
      return (await registry.getTenant(slug))?.settings;
    } catch {
      return undefined;
    }
  }

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    // Its client went away while a password hash waited its turn (the hash was never made):
    // no one is left to answer, and it is no fault of the server's.
    if (error instanceof AbandonedError) return reply.code(499).send();
    // A refusal for load (BusyError) that no step turned into its own page: say when to come back.
    if (error instanceof BusyError) reply.header('retry-after', String(error.retryAfterSeconds));
    if (error instanceof AppError) return sendErrorPage(request, reply, error.status, error.code);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendErrorPage(request, reply, 413, 'request.too_large');
    if (error.statusCode === 415 || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendErrorPage(request, reply, 415, 'request.invalid');
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendErrorPage(request, reply, error.statusCode, 'request.invalid');
    }
    const reference = request.id;
    request.log.error({ err: error, reference, url: request.url }, 'unexpected error');
    // "An error has occurred": the reference that is in the log, and whom to give it to.
    return sendErrorPage(request, reply, 500, 'server.unexpected', await tenantOf(request), { reference });
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
    await pages.register(formbody, { bodyLimit: 16 * 1024 });
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
      const raw = request.raw as typeof request.raw & { originalUrl?: string };
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
