// A logged-in person's own page for changing the password, at /t/<tenant>/account/password.
// Who is logged in comes from the tenant's single sign-on session (oidc-provider's session
// cookie); the current password is asked again (ASVS 6.2.3). Afterwards the person's verified
// addresses and numbers are told (ASVS 6.3.7), and, if asked, every other session ends with its
// grants and refresh tokens (ASVS 7.4.3) while this one stays.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../domain/accounts.js';
import { AbandonedError, BusyError, type ErrorCode } from '../domain/errors.js';
import { passwordPolicyFor } from '../domain/password-policy.js';
import type { PasswordHasher } from '../domain/passwords.js';
import type { SecretBox } from '../domain/secrets.js';
import type { ThrottleKey, ThrottleService } from '../domain/throttle.js';
import type { TenantRegistry, TenantRuntime } from '../oidc/registry.js';
import {
  buildPageContext,
  isSameOriginPost,
  rememberLanguageChoice,
  sendHtml,
} from '../server/http-context.js';
import { renderChangePasswordPage, renderPasswordChangedPage } from '../ui/journey-pages.js';
import { passwordField } from './codes.js';
import { clientGone, type SendErrorPage, waitText } from './kit.js';
import type { NewPasswordStep } from './new-password.js';

export interface AccountPageDeps {
  registry: TenantRegistry;
  accounts: AccountService;
  hasher: PasswordHasher;
  secrets: SecretBox;
  setNewPassword: NewPasswordStep;
  production: boolean;
  sendErrorPage: SendErrorPage;
  throttle: ThrottleService;
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
    if (!session?.accountId) return undefined;
    // A session whose account was deleted or disabled while a login raced its ending is none.
    if (!(await accounts.findAccountProfile(runtime.slug, session.accountId))) return undefined;
    return { accountId: session.accountId, sessionId: session.jti, uid: session.uid };
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
    return sendHtml(
      reply,
      status,
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
    if (
      !isSameOriginPost(request, new URL(runtime.issuer).origin) ||
      !secrets.macEquals('csrf', `account:${uid}`, typeof body.csrf === 'string' ? body.csrf : '')
    ) {
      return sendErrorPage(request, reply, 403, 'request.csrf', runtime.settings);
    }
    const current = typeof body.current_password === 'string' ? body.current_password : '';
    // Guessing the current password from a taken-over session is throttled as guessing at the
    // login page is (ASVS 6.3.1): per account and per address, the try taken before the check.
    const keys: ThrottleKey[] = [`id:account/${accountId}`, `ip:${request.ip}`];
    const wait = await deps.throttle.take(runtime.slug, keys);
    if (wait) {
      reply.header('retry-after', String(wait));
      const page = buildPageContext({ url: request.url, headers: request.headers }, runtime.settings);
      return show(request, reply, runtime, uid, 429, {
        error: 'account.throttled',
        errorVars: { wait: waitText(page, wait) },
      });
    }
    const gone = clientGone(reply);
    let right: boolean;
    try {
      right = await accounts.verifyPassword(runtime.slug, accountId, current, gone);
    } catch (error) {
      if (error instanceof AbandonedError) {
        // The client went away while the check waited its turn: it was never made.
        await deps.throttle.giveBack(runtime.slug, keys);
        throw error;
      }
      if (!(error instanceof BusyError)) throw error;
      // Too many password checks wait already: none was made, so the try goes back.
      await deps.throttle.giveBack(runtime.slug, keys);
      reply.header('retry-after', String(error.retryAfterSeconds));
      return show(request, reply, runtime, uid, 503, { error: 'server.busy' });
    }
    if (!right) return show(request, reply, runtime, uid, 401, { error: 'account.wrong_password' });
    await deps.throttle.giveBack(runtime.slug, [keys[1]!], [keys[0]!]);
    const page = buildPageContext({ url: request.url, headers: request.headers }, runtime.settings);
    const changed = await deps.setNewPassword({
      tenant: runtime.settings,
      accountId,
      password: passwordField(body),
      reason: 'change',
      locale: page.locale,
      endOtherSessions: body.end_sessions === 'on',
      keepSessionId: opened.sessionId,
      signal: gone,
    });
    if (!changed.ok) {
      if (changed.retryAfter) reply.header('retry-after', String(changed.retryAfter));
      return show(request, reply, runtime, uid, changed.status, {
        error: changed.error,
        errorVars: changed.vars,
      });
    }
    return sendHtml(reply, 200, renderPasswordChangedPage({ page }));
  });
}
