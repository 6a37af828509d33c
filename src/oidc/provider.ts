// One oidc-provider per tenant, at `<public URL>/t/<slug>`. Everything oidc-provider needs from
// vakt comes in through `TenantProviderDeps`; the rest of the code never sees its types.
import Provider, {
  type ClientMetadata,
  type Configuration,
  errors,
  interactionPolicy,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { AccountService } from '../domain/accounts.js';
import type { Clock } from '../domain/clock.js';
import type { PrivateJwk } from '../domain/signing-keys.js';
import type { RegisteredClient, TenantSettings } from '../domain/tenants.js';
import { allowHeader } from '../server/methods.js';
import { localiseProviderPages } from '../server/provider-pages.js';
import type { OidcModelRepository } from '../store/oidc-model-repository.js';
import { createAdapterClass } from './adapter.js';
import { answerFormPost, FORM_POST_ENDPOINTS } from './form-post-requests.js';

export interface RawRequestInfo {
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

/** Page renderers, given by the server so that this module knows no templates. */
export interface ProviderPages {
  renderError(
    tenant: TenantSettings,
    request: RawRequestInfo,
    out: { error: string; error_description?: string },
  ): string;
  renderLogout(tenant: TenantSettings, request: RawRequestInfo, form: string): string;
  renderLoggedOut(tenant: TenantSettings, request: RawRequestInfo): string;
  /** A path the provider does not serve, or one of its endpoints asked with a method it does not take. */
  renderRequestError(
    tenant: TenantSettings,
    request: RawRequestInfo,
    error: 'request.not_found' | 'request.method_not_allowed' | 'request.invalid' | 'request.too_large',
  ): string;
}

/**
 * The methods each of the provider's endpoints takes: oidc-provider's default routes, for the
 * features enabled below, and POST at the authorization and logout endpoints, which vakt answers
 * before oidc-provider sees it (form-post-requests.ts). HEAD comes with GET, and OPTIONS with
 * every endpoint (allowHeader). test/http.bad-input.test.ts holds the list to what is served.
 */
export const ENDPOINT_METHODS: ReadonlyArray<readonly [path: RegExp, methods: readonly string[]]> = [
  [/^\/\.well-known\/openid-configuration$/, ['GET']],
  [/^\/auth$/, ['GET', 'POST']],
  [/^\/auth\/[^/]+$/, ['GET']],
  [/^\/token$/, ['POST']],
  [/^\/me$/, ['GET', 'POST']],
  [/^\/jwks$/, ['GET']],
  [/^\/request$/, ['POST']],
  [/^\/token\/introspection$/, ['POST']],
  [/^\/token\/revocation$/, ['POST']],
  [/^\/session\/end$/, ['GET', 'POST']],
  [/^\/session\/end\/confirm$/, ['POST']],
  [/^\/session\/end\/success$/, ['GET']],
];

/**
 * The endpoints that a relying party's code calls, rather than a browser: these answer in JSON
 * (OAuth errors included), the others with pages.
 */
export const JSON_ENDPOINTS: ReadonlySet<string> = new Set([
  '/.well-known/openid-configuration',
  '/jwks',
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/request',
  '/me',
]);

export interface TenantProviderDeps {
  issuer: string;
  tenant: TenantSettings;
  clients: RegisteredClient[];
  jwks: PrivateJwk[];
  cookieKeys: string[];
  accounts: AccountService;
  models: OidcModelRepository;
  clock: Clock;
  pages: ProviderPages;
  production: boolean;
  log: { warn(details: object, message: string): void; info(details: object, message: string): void };
}

/**
 * Seconds something that is saved anew at each use may live from now: the idle time, but no
 * later than its absolute time after it began (`startTs`, epoch seconds), which no use moves.
 * A session is saved at every request that carries it (ASVS 7.3.1, 7.3.2), and a refresh token
 * is replaced at each use by one that keeps the first one's start (10.4.8). At least 1, as
 * oidc-provider asks.
 */
export function secondsLeft(
  lifetimes: { idle?: number | undefined; absolute: number },
  startTs: number | undefined,
  nowMs: number,
): number {
  const now = Math.floor(nowMs / 1000);
  const untilAbsolute = startTs === undefined ? lifetimes.absolute : startTs + lifetimes.absolute - now;
  return Math.max(1, Math.min(lifetimes.idle ?? lifetimes.absolute, untilAbsolute));
}

/** The session cookie's options (oidc-provider's `cookies.long`). */
const SESSION_COOKIE = { httpOnly: true, sameSite: 'lax', signed: true } as const;

type Session = InstanceType<Provider['Session']>;

/**
 * Saves a session that one of vakt's own pages used, as oidc-provider does after each of its
 * requests: its idle time starts again (within the absolute limit), and a remembered login's
 * cookie expires with it. `ctx` is the provider's context for the page's request and response.
 */
export async function touchSession(
  provider: Provider,
  tenant: TenantSettings,
  ctx: { cookies: { set(name: string, value: string, options: object): unknown } },
  session: Session,
): Promise<void> {
  await session.save(secondsLeft(tenant.sessions, session.loginTs, Date.now()));
  ctx.cookies.set(provider.cookieName('session'), session.jti, {
    ...SESSION_COOKIE,
    ...(session.transient || !session.exp ? {} : { expires: new Date(session.exp * 1000) }),
  });
}

export const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'phone'] as const;

function toClientMetadata(client: RegisteredClient): ClientMetadata {
  return {
    client_id: client.id,
    client_name: client.name ?? client.id,
    ...(client.secret
      ? { client_secret: client.secret, token_endpoint_auth_method: 'client_secret_basic' as const }
      : { token_endpoint_auth_method: 'none' as const }),
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code' as const],
    // Every ID token says when the person last authenticated, asked for or not: a relying party
    // needs it to ask for a fresh login before a sensitive step (max_age, prompt=login).
    require_auth_time: true,
    ...(client.idTokenSigningAlg ? { id_token_signed_response_alg: client.idTokenSigningAlg } : {}),
    ...(client.backchannelLogoutUri
      ? { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: true }
      : {}),
  };
}

function requestInfo(
  ctx: Pick<KoaContextWithOIDC, 'querystring' | 'req'> & Partial<KoaContextWithOIDC>,
): RawRequestInfo {
  const query = new URLSearchParams(ctx.querystring);
  const uiLocales = (ctx.oidc?.params?.ui_locales as string | undefined) ?? undefined;
  if (uiLocales && !query.has('ui_locales')) query.set('ui_locales', uiLocales);
  return { query, headers: ctx.req.headers };
}

export function createTenantProvider(deps: TenantProviderDeps): Provider {
  const { tenant, accounts, production } = deps;
  const clientsById = new Map(deps.clients.map((c) => [c.id, c]));
  const lifetime = (
    clientId: string | undefined,
    key: keyof RegisteredClient['tokenLifetimes'],
    fallback: number,
  ) => (clientId ? clientsById.get(clientId)?.tokenLifetimes[key] : undefined) ?? fallback;

  const configuration: Configuration = {
    adapter: createAdapterClass(tenant.slug, deps.models, deps.clock),
    clients: deps.clients.map(toClientMetadata),
    jwks: { keys: deps.jwks as never },
    cookies: {
      keys: deps.cookieKeys,
      // Per-tenant names: tenants share a host, and one tenant's session is not another's. In
      // production (https) the session cookie is a __Host- cookie: Secure, Path=/ and no Domain,
      // so no other host under the same site can set or replace it (RFC 6265bis 4.1.3.2). The
      // interaction and resume cookies live on their own paths, which __Host- does not allow,
      // so they get __Secure-.
      names: {
        session: `${production ? '__Host-' : ''}vakt_${tenant.slug}_session`,
        interaction: `${production ? '__Secure-' : ''}vakt_${tenant.slug}_interaction`,
        resume: `${production ? '__Secure-' : ''}vakt_${tenant.slug}_resume`,
      },
      long: { ...SESSION_COOKIE },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    scopes: [...SCOPES],
    claims: {
      // oidc-provider's own defaults, and amr (RFC 8176: pwd, otp, sms) in every ID token through
      // the openid scope, so a relying party can tell how the person authenticated.
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
      iss: null,
      openid: ['sub', 'amr'],
      profile: ['name', 'given_name', 'family_name', 'locale', 'updated_at'],
      email: ['email', 'email_verified'],
      phone: ['phone_number', 'phone_number_verified'],
    },
    responseTypes: ['code'],
    // What a client configured for vakt can use: a secret (in the header or the body) or none
    // (public, PKCE). Discovery lists no method that no client could be registered for.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    pkce: {
      // RFC 9700: PKCE is required for public clients; oidc-provider only accepts S256.
      required: (_ctx, client) => client.clientAuthMethod === 'none',
    },
    rotateRefreshToken: true,
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
    },
    features: {
      devInteractions: { enabled: false },
      // A client learns about, and revokes, only the tokens issued to it: its clients are relying
      // parties, none of them a resource server entitled to read others' tokens. Introspecting
      // another's token answers {"active":false}, as for an unknown one (RFC 7662, 2.2);
      // revoking one is refused (RFC 7009, 2.1).
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (token.clientId !== client.clientId) {
            throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
          }
          return true;
        },
      },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      // No resource indicators (RFC 8707): vakt's access tokens are for its own UserInfo. With the
      // feature on but unconfigured, any `resource` parameter wrote oidc-provider's warning to the
      // log; off, the parameter is ignored as an unknown one.
      resourceIndicators: { enabled: false },
      userinfo: { enabled: true },
      claimsParameter: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = deps.pages.renderLogout(tenant, requestInfo(ctx), form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = deps.pages.renderLoggedOut(tenant, requestInfo(ctx));
        },
      },
    },
    ttl: {
      AccessToken: (ctx, _token, client) =>
        lifetime(client?.clientId ?? ctx?.oidc?.client?.clientId, 'accessToken', 3600),
      IdToken: (ctx, _token, client) =>
        lifetime(client?.clientId ?? ctx?.oidc?.client?.clientId, 'idToken', 3600),
      AuthorizationCode: (ctx, _token, client) =>
        lifetime(client?.clientId ?? ctx?.oidc?.client?.clientId, 'authorizationCode', 60),
      // Both count from a time oidc-provider took from Date, so their time left is counted by
      // Date too: a session from its login, and a refresh token from `iiat`, when the first
      // refresh token of its authorization was issued (a rotated one keeps it).
      Session: (_ctx, session) => secondsLeft(tenant.sessions, session.loginTs, Date.now()),
      RefreshToken: (ctx, token, client) => {
        const clientId = client?.clientId ?? ctx?.oidc?.client?.clientId;
        const idle = lifetime(clientId, 'refreshToken', 14 * 24 * 3600);
        const absolute = lifetime(clientId, 'refreshTokenAbsolute', 365 * 24 * 3600);
        return secondsLeft({ idle, absolute }, token.iiat, Date.now());
      },
      Interaction: 30 * 60,
      Grant: 365 * 24 * 3600,
    },
    // Initiating User Registration via OpenID Connect 1.0 asks the OP to advertise prompt=create.
    discovery: {
      prompt_values_supported: ['none', 'login', 'consent', ...(tenant.signup ? ['create'] : [])],
    },
    interactions: {
      policy: interactionPolicyFor(tenant),
      url: (_ctx, interaction) => `${new URL(deps.issuer).pathname}/interaction/${interaction.uid}`,
    },
    async loadExistingGrant(ctx) {
      // A first-party client is the deployment's own: its grant is implied, so no consent screen.
      const { client, session } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId =
        (ctx.oidc.result?.consent as { grantId?: string } | undefined)?.grantId ??
        session.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!clientsById.get(client.clientId)?.firstParty) return existing;
      const grant =
        existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      const claims = [...ctx.oidc.requestParamClaims];
      if (claims.length > 0) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
    async findAccount(_ctx, sub) {
      const profile = await accounts.findAccountProfile(tenant.slug, sub);
      if (!profile) return undefined;
      return {
        accountId: profile.id,
        async claims() {
          const email = profile.emails[0];
          const phone = profile.phones[0];
          return {
            sub: profile.id,
            ...(profile.name ? { name: profile.name } : {}),
            ...(profile.givenName ? { given_name: profile.givenName } : {}),
            ...(profile.familyName ? { family_name: profile.familyName } : {}),
            ...(profile.locale ? { locale: profile.locale } : {}),
            updated_at: Math.floor(profile.updatedAt / 1000),
            ...(email ? { email: email.value, email_verified: email.verified } : {}),
            ...(phone ? { phone_number: phone.value, phone_number_verified: phone.verified } : {}),
          };
        },
      };
    },
    // oidc-provider refuses outgoing requests (back-channel logout) to loopback and private
    // addresses, against SSRF. Development's demo apps live on localhost, so only there it is off.
    fetch: (url, options) => {
      const init = options as RequestInit & { dispatcher?: unknown };
      if (!deps.production) delete init.dispatcher;
      return globalThis.fetch(url, init);
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = deps.pages.renderError(
        tenant,
        requestInfo(ctx),
        out as { error: string; error_description?: string },
      );
    },
  };

  const provider = new Provider(deps.issuer, configuration);
  // The public URL is authoritative; the server sets the forwarded headers from it.
  provider.proxy = true;
  // vakt's own pages in the request's language, in place of oidc-provider's (provider-pages.ts).
  provider.use(localiseProviderPages(tenant));
  // A form POST to the authorization or logout endpoint: sent on by GET (form-post-requests.ts).
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST' || !FORM_POST_ENDPOINTS.has(ctx.path)) return next();
    const answer = await answerFormPost(ctx.req, `${deps.issuer}${ctx.path}`);
    ctx.set('cache-control', 'no-store');
    if (answer.kind === 'gone') {
      ctx.status = 400;
      return;
    }
    if (answer.kind === 'redirect') {
      ctx.status = 303;
      ctx.redirect(answer.location);
      return;
    }
    // The rest of a body too large is not read: the connection ends with the answer.
    if (answer.status === 413) ctx.set('connection', 'close');
    ctx.status = answer.status;
    ctx.type = 'html';
    ctx.body = deps.pages.renderRequestError(tenant, requestInfo(ctx), answer.error);
  });
  // What no route of oidc-provider answered gets vakt's error page, not Koa's bare "Not Found":
  // 405 with Allow for an endpoint asked with another method (RFC 9110 15.5.6), else 404. An
  // OPTIONS that is not a CORS preflight oidc-provider answers gets 204 and Allow (9.3.7).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    const methods = ENDPOINT_METHODS.find(([path]) => path.test(ctx.path))?.[1];
    if (methods) {
      ctx.set('allow', allowHeader(methods));
      if (ctx.method === 'OPTIONS') {
        ctx.status = 204;
        return;
      }
    }
    ctx.status = methods ? 405 : 404;
    ctx.type = 'html';
    ctx.body = deps.pages.renderRequestError(
      tenant,
      requestInfo(ctx),
      methods ? 'request.method_not_allowed' : 'request.not_found',
    );
  });
  provider.on('backchannel.error', (_ctx, error, client) =>
    deps.log.warn({ tenant: tenant.slug, client: client.clientId, err: error }, 'back-channel logout failed'),
  );
  provider.on('server_error', (_ctx, error) =>
    deps.log.warn({ tenant: tenant.slug, err: error }, 'provider error'),
  );
  return provider;
}

/**
 * The standard login and consent prompts, and, where the tenant lets people sign up,
 * `prompt=create` (Initiating User Registration via OpenID Connect 1.0): it comes first, so a
 * relying party's "Create account" button lands on the sign-up page even for a logged-in person.
 */
function interactionPolicyFor(tenant: TenantSettings) {
  const policy = interactionPolicy.base();
  // A session whose account is gone (deleted or disabled, by `vakt users`, while a login raced
  // the ending of its sessions) is no login: the person logs in again, or prompt=none answers
  // login_required. oidc-provider would take the session's account id alone for a login.
  policy
    .get('login')!
    .checks.add(
      new interactionPolicy.Check(
        'account_gone',
        'End-User authentication is required',
        'login_required',
        (ctx) =>
          ctx.oidc.session?.accountId && !ctx.oidc.account
            ? interactionPolicy.Check.REQUEST_PROMPT
            : interactionPolicy.Check.NO_NEED_TO_PROMPT,
      ),
      0,
    );
  if (tenant.signup) policy.add(new interactionPolicy.Prompt({ name: 'create', requestable: true }), 0);
  return policy;
}
