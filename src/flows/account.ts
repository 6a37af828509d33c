// A logged-in person's own page for changing the password, at /t/<tenant>/account/password.
// Who is logged in comes from the tenant's single sign-on session (oidc-provider's session
// cookie); the current password is asked again (ASVS 6.2.3). Afterwards the person's verified
// addresses and numbers are told (ASVS 6.3.7), and, if asked, every other session ends with its
// grants and refresh tokens (ASVS 7.4.3) while this one stays.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DeliveryService } from '../delivery/types.js';
import type { AccountService } from '../domain/accounts.js';
import type { ErrorCode } from '../domain/errors.js';
import { checkNewPassword, passwordPolicyFor, policyVars } from '../domain/password-policy.js';
import type { PasswordHasher } from '../domain/passwords.js';
import type { SecretBox } from '../domain/secrets.js';
import type { TenantRegistry, TenantRuntime } from '../oidc/registry.js';
import { buildPageContext, rememberLanguageChoice } from '../server/http-context.js';
import type { OidcModelRepository } from '../store/oidc-model-repository.js';
import { renderChangePasswordPage, renderPasswordChangedPage } from '../ui/journey-pages.js';
import { passwordField } from './codes.js';
import type { SendErrorPage } from './kit.js';

export interface AccountPageDeps {
  registry: TenantRegistry;
  accounts: AccountService;
  hasher: PasswordHasher;
  secrets: SecretBox;
  delivery: DeliveryService;
  oidcModels: OidcModelRepository;
  production: boolean;
  sendErrorPage: SendErrorPage;
}

type Params = { tenant: string };

export function registerAccountPages(app: FastifyInstance, deps: AccountPageDeps): void {
  const { registry, accounts, secrets, sendErrorPage } = deps;

  /** The tenant and the logged-in account, or undefined once an error page was sent. */
  async function open(request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) {
    const runtime = await registry.getTenant(request.params.tenant);
    if (!runtime) {
      sendErrorPage(request, reply, 404, 'tenant.not_found');
      return undefined;
    }
    const session = await currentSession(runtime, request, reply);
    if (!session) {
      sendErrorPage(request, reply, 401, 'account.login_required', runtime.settings);
      return undefined;
    }
    return { runtime, ...session };
  }

  async function currentSession(runtime: TenantRuntime, request: FastifyRequest, reply: FastifyReply) {
    const { provider } = runtime;
    const ctx = provider.createContext(request.raw, reply.raw);
    const id = ctx.cookies.get(provider.cookieName('session'), { signed: true });
    const session = id ? await provider.Session.find(id) : undefined;
    return session?.accountId
      ? { accountId: session.accountId, sessionId: session.jti, uid: session.uid }
      : undefined;
  }

  const csrfFor = (uid: string) => secrets.mac('csrf', `account:${uid}`);

  function show(
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    runtime: TenantRuntime,
    uid: string,
    status: number,
    extra: { error?: ErrorCode; errorVars?: Record<string, string> } = {},
  ) {
    const page = buildPageContext({ url: request.url, headers: request.headers }, runtime.settings);
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        renderChangePasswordPage({
          page,
          action: `/t/${runtime.slug}/account/password`,
          csrf: csrfFor(uid),
          passwordPolicy: passwordPolicyFor(runtime.settings),
          ...(extra.error ? { error: extra.error, errorVars: extra.errorVars } : {}),
        }),
      );
  }

  app.get<{ Params: Params }>('/t/:tenant/account/password', async (request, reply) => {
    const opened = await open(request, reply);
    if (!opened) return reply;
    rememberLanguageChoice(request, reply, deps.production);
    return show(request, reply, opened.runtime, opened.uid, 200);
  });

  app.post<{ Params: Params }>('/t/:tenant/account/password', async (request, reply) => {
    const opened = await open(request, reply);
    if (!opened) return reply;
    const { runtime, accountId, uid } = opened;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const site = request.headers['sec-fetch-site'];
    const sameOrigin = typeof site === 'string' ? site === 'same-origin' : true;
    if (
      !sameOrigin ||
      !secrets.macEquals('csrf', `account:${uid}`, typeof body.csrf === 'string' ? body.csrf : '')
    ) {
      return sendErrorPage(request, reply, 403, 'request.csrf', runtime.settings);
    }
    const current = typeof body.current_password === 'string' ? body.current_password : '';
    const password = passwordField(body);
    if (!(await accounts.verifyPassword(runtime.slug, accountId, current))) {
      return show(request, reply, runtime, uid, 401, { error: 'account.wrong_password' });
    }
    const policy = passwordPolicyFor(runtime.settings);
    const identifiers = await accounts.listVerifiedIdentifiers(accountId);
    const checked = checkNewPassword(password, policy, {
      identifiers: identifiers.map((i) => i.value),
      tenantName: runtime.settings.displayName,
    });
    if (!checked.ok)
      return show(request, reply, runtime, uid, 400, { error: checked.error, errorVars: policyVars(policy) });
    try {
      await accounts.setPassword(runtime.slug, accountId, password, 'change');
    } catch (error) {
      request.log.error({ err: error }, 'password change failed');
      return show(request, reply, runtime, uid, 503, { error: 'password.update_failed' });
    }
    if (body.end_sessions === 'on') {
      await deps.oidcModels.revokeAccount(runtime.slug, accountId, opened.sessionId);
    }
    const page = buildPageContext({ url: request.url, headers: request.headers }, runtime.settings);
    await Promise.all(
      identifiers.map((i) =>
        deps.delivery.sendNotice({
          tenant: runtime.settings,
          channel: i.kind === 'email' ? 'email' : 'sms',
          to: i.value,
          locale: page.locale,
          notice: 'password_changed',
        }),
      ),
    );
    return reply
      .code(200)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderPasswordChangedPage({ page }));
  });
}
