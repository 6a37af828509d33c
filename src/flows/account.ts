// A logged-in person's own pages. Who is logged in comes from the tenant's single sign-on
// session (oidc-provider's session cookie), and each change asks for the current password again.
// - /t/<tenant>/account/password changes the password (ASVS 6.2.3). Afterwards the person's
//   verified addresses and numbers are told (ASVS 6.3.7), and, if asked, every other session
//   ends with its grants and refresh tokens (ASVS 7.4.3) while this one stays.
// - /t/<tenant>/account/sessions lists where the account is logged in, and logs out one other
//   browser or all of them (ASVS 7.5.2). It also lists the apps holding a refresh token, which
//   outlives a logout (offline access), and removes an app's access (ASVS 10.4.9). A session or
//   grant is named on the page by a keyed hash of its id, never by the id: a session's id is the
//   value of that browser's session cookie.
// Opened without a login, each says where to log in (401), with help. An empty password field is
// said to be empty (400) and takes no guess.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../domain/accounts.js';
import type { Clock } from '../domain/clock.js';
import type { ErrorCode } from '../domain/errors.js';
import { displayIdentifier } from '../domain/identifiers.js';
import { passwordPolicyFor } from '../domain/password-policy.js';
import type { PasswordHasher } from '../domain/passwords.js';
import type { SecretBox } from '../domain/secrets.js';
import type { ThrottleKey, ThrottleService } from '../domain/throttle.js';
import { helpLink, resolveHelpText } from '../help/topics.js';
import { accountSessions, type EndSessions } from '../oidc/end-sessions.js';
import { touchSession } from '../oidc/provider.js';
import type { TenantRegistry, TenantRuntime } from '../oidc/registry.js';
import {
  buildPageContext,
  isSameOriginPost,
  rememberLanguageChoice,
  sendHtml,
} from '../server/http-context.js';
import type { OidcModelRepository } from '../store/oidc-model-repository.js';
import {
  type AppListing,
  renderChangePasswordPage,
  renderLoginRequiredPage,
  renderPasswordChangedPage,
  renderSessionsPage,
  type SessionListing,
  type SessionsNotice,
} from '../ui/journey-pages.js';
import { passwordField } from './codes.js';
import { checkWithTakenTry, clientGone, type SendErrorPage, waitText } from './kit.js';
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
  endSessions: EndSessions;
  models: OidcModelRepository;
  clock: Clock;
}

type Params = { tenant: string };

/** Why a re-authentication did not pass, as the page shows it. */
interface Refusal {
  status: number;
  error: ErrorCode;
  errorVars?: Record<string, string>;
  retryAfter?: number;
}

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
      showLoginRequired(request, reply, runtime);
      return undefined;
    }
    return { runtime, ...session };
  }

  /**
   * No login here: a page that says so and where to log in, not an error. A login starts at an
   * app (an authorization request names a client and its redirect URI, and vakt is no client of
   * its own); its single sign-on session is what these pages take.
   */
  function showLoginRequired(request: FastifyRequest, reply: FastifyReply, runtime: TenantRuntime) {
    const page = buildPageContext({ url: request.url, headers: request.headers }, runtime.settings);
    return sendHtml(
      reply,
      401,
      renderLoginRequiredPage({
        page,
        helpHref: helpLink(runtime.slug, 'login-problems', page.locale),
        helpTitle: resolveHelpText('login-problems', page.locale, runtime.settings).title,
      }),
    );
  }

  async function currentSession(runtime: TenantRuntime, request: FastifyRequest, reply: FastifyReply) {
    const { provider } = runtime;
    const ctx = provider.createContext(request.raw, reply.raw);
    const id = ctx.cookies.get(provider.cookieName('session'), { signed: true });
    const session = id ? await provider.Session.find(id) : undefined;
    if (!session?.accountId) return undefined;
    // A session whose account was deleted or disabled while a login raced its ending is none.
    if (!(await accounts.findAccountProfile(runtime.slug, session.accountId))) return undefined;
    // Using these pages is using the session, as signing in to an app is (ASVS 7.3.1).
    await touchSession(provider, runtime.settings, ctx, session);
    // The cookie went onto the raw response, whose Set-Cookie Fastify's own headers would
    // replace (the language switch's, say): hand it over to the reply instead.
    const cookies = reply.raw.getHeader('set-cookie');
    reply.raw.removeHeader('set-cookie');
    for (const cookie of [cookies ?? []].flat()) reply.header('set-cookie', String(cookie));
    return { accountId: session.accountId, sessionId: session.jti, uid: session.uid };
  }

  const csrfFor = (uid: string) => secrets.mac('csrf', `account:${uid}`);

  /** The CSRF check of every form here; false once the error page was sent. */
  function checkCsrf(
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    runtime: TenantRuntime,
    uid: string,
  ): boolean {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (
      isSameOriginPost(request, new URL(runtime.issuer).origin) &&
      secrets.macEquals('csrf', `account:${uid}`, typeof body.csrf === 'string' ? body.csrf : '')
    )
      return true;
    sendErrorPage(request, reply, 403, 'request.csrf', runtime.settings);
    return false;
  }

  /**
   * Checks the current password typed in `body` before a change; undefined when it is right.
   * Guessing it from a taken-over session is throttled as guessing at the login page is (ASVS
   * 6.3.1): per account and per address, the try taken before the check.
   */
  async function reauthenticate(
    request: FastifyRequest,
    runtime: TenantRuntime,
    accountId: string,
    body: Record<string, unknown>,
    gone: AbortSignal,
  ): Promise<Refusal | undefined> {
    const current = typeof body.current_password === 'string' ? body.current_password : '';
    // Nothing typed is no guess: said as such (not "wrong"), and no try is taken.
    if (current === '') return { status: 400, error: 'account.current_password_missing' };
    const keys: ThrottleKey[] = [`id:account/${accountId}`, `ip:${request.ip}`];
    const wait = await deps.throttle.take(runtime.slug, keys);
    if (wait) {
      const page = buildPageContext({ url: request.url, headers: request.headers }, runtime.settings);
      return {
        status: 429,
        error: 'account.throttled',
        errorVars: { wait: waitText(page, wait) },
        retryAfter: wait,
      };
    }
    const checked = await checkWithTakenTry(deps.throttle, runtime.slug, keys, () =>
      accounts.verifyPassword(runtime.slug, accountId, current, gone),
    );
    if (checked.busy) return { status: 503, error: 'server.busy', retryAfter: checked.retryAfterSeconds };
    if (!checked.value) return { status: 401, error: 'account.wrong_password' };
    await deps.throttle.giveBack(runtime.slug, [keys[1]!], [keys[0]!]);
    return undefined;
  }

  /** A verified identifier as the person writes it: emails first, as listVerifiedIdentifiers sorts. */
  async function usernameOf(runtime: TenantRuntime, accountId: string): Promise<string> {
    const [first] = await accounts.listVerifiedIdentifiers(accountId);
    return first ? displayIdentifier(first.kind, first.value, runtime.settings.defaultCountry) : '';
  }

  async function show(
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    opened: { runtime: TenantRuntime; accountId: string; uid: string },
    status: number,
    extra: { error?: ErrorCode; errorVars?: Record<string, string> } = {},
  ) {
    const { runtime } = opened;
    const page = buildPageContext({ url: request.url, headers: request.headers }, runtime.settings);
    return sendHtml(
      reply,
      status,
      renderChangePasswordPage({
        page,
        action: `/t/${runtime.slug}/account/password`,
        csrf: csrfFor(opened.uid),
        passwordPolicy: passwordPolicyFor(runtime.settings),
        username: await usernameOf(runtime, opened.accountId),
        ...(extra.error ? { error: extra.error, errorVars: extra.errorVars } : {}),
      }),
    );
  }

  app.get<{ Params: Params }>('/t/:tenant/account/password', async (request, reply) => {
    const opened = await open(request, reply);
    if (!opened) return reply;
    rememberLanguageChoice(request, reply, deps.production);
    return show(request, reply, opened, 200);
  });

  app.post<{ Params: Params }>('/t/:tenant/account/password', async (request, reply) => {
    const opened = await open(request, reply);
    if (!opened) return reply;
    const { runtime, accountId, uid } = opened;
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (!checkCsrf(request, reply, runtime, uid)) return reply;
    const gone = clientGone(reply);
    const refused = await reauthenticate(request, runtime, accountId, body, gone);
    if (refused) {
      if (refused.retryAfter) reply.header('retry-after', String(refused.retryAfter));
      return show(request, reply, opened, refused.status, refused);
    }
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
      return show(request, reply, opened, changed.status, {
        error: changed.error,
        errorVars: changed.vars,
      });
    }
    const told = changed.told.map((i) => displayIdentifier(i.kind, i.value, runtime.settings.defaultCountry));
    return sendHtml(reply, 200, renderPasswordChangedPage({ page, told }));
  });

  /** Where the account is logged in: this session first, then the newest logins. */
  async function listSessions(runtime: TenantRuntime, accountId: string, currentId: string) {
    return (await accountSessions(deps, runtime, accountId))
      .map((session) => ({
        id: session.jti,
        listing: {
          ref: secrets.mac('session-refs', session.jti),
          current: session.jti === currentId,
          loginMs: (session.loginTs ?? 0) * 1000,
          apps: Object.keys(session.authorizations ?? {}).map(
            (clientId) => runtime.clients.get(clientId)?.name ?? clientId,
          ),
        } satisfies SessionListing,
      }))
      .sort(
        (a, b) =>
          Number(b.listing.current) - Number(a.listing.current) || b.listing.loginMs - a.listing.loginMs,
      );
  }

  /** The apps holding a refresh token of the account: each names its grant by a keyed hash. */
  async function listApps(runtime: TenantRuntime, accountId: string) {
    const grants = await deps.models.listRefreshGrants(runtime.slug, accountId, deps.clock.now());
    return grants.map((grant) => ({
      grantId: grant.grantId,
      listing: {
        ref: `app:${secrets.mac('session-refs', `grant:${grant.grantId}`)}`,
        name: runtime.clients.get(grant.clientId)?.name ?? grant.clientId,
        sinceMs: grant.since * 1000,
      } satisfies AppListing,
    }));
  }

  async function showSessions(
    request: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    opened: { runtime: TenantRuntime; accountId: string; sessionId: string; uid: string },
    status: number,
    extra: Partial<Refusal> & { notice?: SessionsNotice } = {},
  ) {
    const { runtime } = opened;
    const page = buildPageContext({ url: request.url, headers: request.headers }, runtime.settings);
    const sessions = await listSessions(runtime, opened.accountId, opened.sessionId);
    if (extra.retryAfter) reply.header('retry-after', String(extra.retryAfter));
    return sendHtml(
      reply,
      status,
      renderSessionsPage({
        page,
        action: `/t/${runtime.slug}/account/sessions`,
        csrf: csrfFor(opened.uid),
        sessions: sessions.map((s) => s.listing),
        apps: (await listApps(runtime, opened.accountId)).map((a) => a.listing),
        now: deps.clock.now(),
        ...(extra.error ? { error: extra.error, errorVars: extra.errorVars } : {}),
        ...(extra.notice ? { notice: extra.notice } : {}),
      }),
    );
  }

  app.get<{ Params: Params }>('/t/:tenant/account/sessions', async (request, reply) => {
    const opened = await open(request, reply);
    if (!opened) return reply;
    rememberLanguageChoice(request, reply, deps.production);
    return showSessions(request, reply, opened, 200);
  });

  // One form: the current password, and a button per other session (`end` = its ref) or for
  // all of them (`end` = others). This session is ended by logging out, not here.
  app.post<{ Params: Params }>('/t/:tenant/account/sessions', async (request, reply) => {
    const opened = await open(request, reply);
    if (!opened) return reply;
    const { runtime, accountId, sessionId, uid } = opened;
    if (!checkCsrf(request, reply, runtime, uid)) return reply;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const end = typeof body.end === 'string' ? body.end : '';
    if (!end) return showSessions(request, reply, opened, 400, { error: 'request.invalid' });
    const refused = await reauthenticate(request, runtime, accountId, body, clientGone(reply));
    if (refused) return showSessions(request, reply, opened, refused.status, refused);
    if (end.startsWith('app:')) {
      // Removing an app's access revokes its grant: the refresh token, and every token under it.
      const chosen = (await listApps(runtime, accountId)).find((a) =>
        secrets.macEquals('session-refs', `grant:${a.grantId}`, end.slice('app:'.length)),
      );
      if (chosen) await deps.models.revokeGrant(runtime.slug, chosen.grantId);
      return showSessions(request, reply, opened, 200, { notice: { removed: chosen?.listing.name } });
    }
    if (end === 'others') {
      const ended = await deps.endSessions(runtime.slug, accountId, { keep: sessionId });
      return showSessions(request, reply, opened, 200, { notice: { ended } });
    }
    const chosen = (await listSessions(runtime, accountId, sessionId)).find(
      (s) => !s.listing.current && secrets.macEquals('session-refs', s.id, end),
    );
    // A session that ended meanwhile (or a made-up ref) is no longer there to end.
    const ended = chosen ? await deps.endSessions(runtime.slug, accountId, { only: chosen.id }) : 0;
    return showSessions(request, reply, opened, 200, { notice: { ended, one: true } });
  });
}
