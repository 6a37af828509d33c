// What every step of a journey inside an authorization request needs: the tenant, the
// interaction the URL names, the CSRF check, the page context and the way back to oidc-provider.
//
// Rules enforced here:
// - tenant: an unknown tenant is a localised 404, never a redirect.
// - interaction: the interaction cookie must exist and belong to the uid in the URL.
// - csrf: every POST carries the HMAC of its interaction uid, from a same-origin page.
// - sendErrorPage: an error page, once the interaction is known, is in the language of its
//   pages (a choice with the switch, then the relying party's ui_locales, then Accept-Language).
// - finish: a 303 back to oidc-provider, so the browser does not resend a form (RFC 9700 4.12).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AbandonedError, BusyError, type ErrorCode } from '../domain/errors.js';
import type { NormalisedIdentifier } from '../domain/identifiers.js';
import type { SecretBox } from '../domain/secrets.js';
import type { TenantSettings } from '../domain/tenants.js';
import type { ThrottleKey, ThrottleService } from '../domain/throttle.js';
import type { TenantRegistry, TenantRuntime } from '../oidc/registry.js';
import {
  buildPageContext,
  isSameOriginPost,
  rememberLanguageChoice,
  sendHtml,
} from '../server/http-context.js';
import type { PageContext } from '../ui/layout.js';
import { renderErrorPage } from '../ui/pages.js';

export type SendErrorPage = (
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  tenant?: TenantSettings,
) => FastifyReply;

export type Params = { tenant: string; uid: string };
export type Details = Awaited<ReturnType<TenantRuntime['provider']['interactionDetails']>>;
export type JourneyRequest = FastifyRequest<{ Params: Params }>;

/** A request that passed the tenant and interaction checks. */
export interface Journey {
  runtime: TenantRuntime;
  details: Details;
  /** `/t/<tenant>/interaction/<uid>`: every step's URL starts here. */
  base: string;
}

export interface KitDeps {
  registry: TenantRegistry;
  secrets: SecretBox;
  throttle: ThrottleService;
  production: boolean;
  sendErrorPage: SendErrorPage;
}

export function createJourneyKit(deps: KitDeps) {
  const { registry, secrets } = deps;
  const csrfFor = (uid: string) => secrets.mac('csrf', `interaction:${uid}`);
  /** The journey each request opened, so that its error pages speak the journey's language. */
  const opened = new WeakMap<FastifyRequest, Journey>();

  /**
   * An error page. Once `open` has found the interaction, it is in the language of the journey's
   * pages, and its language links go back into the journey: to the page itself when it answers
   * GET, to the interaction's current step when it answers a form.
   */
  const sendErrorPage: SendErrorPage = (request, reply, status, code, tenant) => {
    const journey = opened.get(request);
    if (!journey) return deps.sendErrorPage(request, reply, status, code, tenant);
    const back = request.method === 'GET' || request.method === 'HEAD' ? request.url : journey.base;
    const settings = journey.runtime.settings;
    return sendHtml(
      reply,
      status,
      renderErrorPage({ page: page(request, journey, back), error: code, support: settings.support }),
    );
  };

  function checkCsrf(request: JourneyRequest, runtime: TenantRuntime, reply: FastifyReply): boolean {
    const body = request.body as Record<string, unknown> | undefined;
    const token = typeof body?.csrf === 'string' ? body.csrf : '';
    const sameOrigin = isSameOriginPost(request, new URL(runtime.issuer).origin);
    if (sameOrigin && secrets.macEquals('csrf', `interaction:${request.params.uid}`, token)) return true;
    sendErrorPage(request, reply, 403, 'request.csrf', runtime.settings);
    return false;
  }

  /** The tenant and interaction of a request, or undefined once an error page was sent. */
  async function open(
    request: JourneyRequest,
    reply: FastifyReply,
    options: { post?: boolean } = {},
  ): Promise<Journey | undefined> {
    const runtime = await registry.getTenant(request.params.tenant);
    if (!runtime) {
      sendErrorPage(request, reply, 404, 'tenant.not_found');
      return undefined;
    }
    let details: Details | undefined;
    try {
      details = await runtime.provider.interactionDetails(request.raw, reply.raw);
    } catch {
      // No interaction cookie, or it expired: the same answer below.
    }
    if (!details || details.uid !== request.params.uid) {
      sendErrorPage(request, reply, 400, 'interaction.expired', runtime.settings);
      return undefined;
    }
    const journey = { runtime, details, base: `/t/${runtime.slug}/interaction/${details.uid}` };
    opened.set(request, journey);
    if (options.post && !checkCsrf(request, runtime, reply)) return undefined;
    return journey;
  }

  /** The page context; `path` is the page the language links return to. */
  function page(request: FastifyRequest, journey: Journey, path: string): PageContext {
    const context = buildPageContext(
      { url: request.url, headers: request.headers },
      journey.runtime.settings,
      journey.details.params.ui_locales as string | undefined,
    );
    return { ...context, path };
  }

  function clientName(journey: Journey): string {
    const id = String(journey.details.params.client_id);
    return journey.runtime.clients.get(id)?.name ?? id;
  }

  function html(reply: FastifyReply, status: number, body: string) {
    return sendHtml(reply, status, body);
  }

  /** Goes to `path` with GET (post/redirect/get: reloading a page never resends a form). */
  function seeOther(reply: FastifyReply, path: string) {
    return reply.code(303).header('cache-control', 'no-store').redirect(path, 303);
  }

  async function finish(reply: FastifyReply, journey: Journey, result: Record<string, unknown>) {
    // prompt=create is answered by any login, whether the person signed up or already had an account.
    const prompts = String(journey.details.params.prompt ?? '').split(' ');
    const answer = prompts.includes('create') ? { create: {}, ...result } : result;
    // What provider.interactionResult(…, { mergeWithLastSubmission: false }) does, on the
    // interaction `open` read, instead of reading it again: one statement less per step.
    const interaction = journey.details;
    interaction.result = answer;
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
    return seeOther(reply, interaction.returnTo);
  }

  /**
   * The key guesses are counted by for what was typed as an identifier. An identifier counts as
   * itself, normalised; text that is none (a typo, or a password typed into the wrong field) as
   * a keyed hash of it, so it is not stored as typed, and nothing in it (a NUL byte, which
   * PostgreSQL's text refuses) can break the statement that counts it.
   */
  function typedIdentifierKey(
    typed: { ok: true; value: NormalisedIdentifier } | { ok: false },
    text: string,
  ): ThrottleKey {
    return `id:${typed.ok ? typed.value.value : `typed/${deps.secrets.mac('throttle', text.toLowerCase())}`}`;
  }

  /** A person's address for telling them where the code went: the IP of the request. */
  const ipOf = (request: FastifyRequest) => request.ip;

  /** A choice made with the language switch (`?lang=`) is kept in a cookie. */
  const rememberLanguage = (request: FastifyRequest, reply: FastifyReply) =>
    rememberLanguageChoice(request, reply, deps.production);

  /**
   * Guess throttling (ASVS 6.3.1): takes a guess on these keys before it is checked, or answers
   * the seconds to wait, with Retry-After set (undefined when the request may go on). A guess
   * that turns out right, or not a guess, gives its try back (`throttle.giveBack`).
   */
  async function takeGuess(reply: FastifyReply, journey: Journey, keys: ThrottleKey[]) {
    const wait = await deps.throttle.take(journey.runtime.slug, keys);
    if (wait) reply.header('retry-after', String(wait));
    return wait;
  }

  return {
    open,
    page,
    clientName,
    html,
    seeOther,
    finish,
    csrfFor,
    ipOf,
    rememberLanguage,
    sendErrorPage,
    waitText,
    takeGuess,
    typedIdentifierKey,
    throttle: deps.throttle,
  };
}

export type JourneyKit = ReturnType<typeof createJourneyKit>;

/** "1 second", "30 seconds" or "2 minutes", in the page's language. */
export function waitText(page: PageContext, seconds: number): string {
  if (seconds === 1) return page.t('time.second');
  // From 90 seconds on, whole minutes: never fewer than 2.
  return seconds < 90
    ? page.t('time.seconds', { n: String(seconds) })
    : page.t('time.minutes', { n: String(Math.ceil(seconds / 60)) });
}

/**
 * The request's signal for a password hash: it aborts when the client closes the connection
 * before its answer was sent, and a hash still waiting its turn then leaves the line unmade.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  // Gone already (while an earlier step of the request awaited): its close has been and gone.
  if (reply.raw.destroyed && !reply.raw.writableFinished) controller.abort();
  else {
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
  }
  return controller.signal;
}

/**
 * Runs a password check for which a try was already taken on `keys`. A check that was never made
 * gives that try back to every key, so nothing counts against the person (ASVS 6.3.1): when its
 * client went away while it waited its turn (the AbandonedError is thrown on, for the error
 * handler's 499), and when too many checks waited already (answered `busy`, with when to come
 * back).
 */
export async function checkWithTakenTry<T>(
  throttle: ThrottleService,
  tenant: string,
  keys: ThrottleKey[],
  check: () => Promise<T>,
): Promise<{ busy: false; value: T } | { busy: true; retryAfterSeconds: number }> {
  try {
    return { busy: false, value: await check() };
  } catch (error) {
    if (!(error instanceof AbandonedError) && !(error instanceof BusyError)) throw error;
    await throttle.giveBack(tenant, keys);
    if (error instanceof AbandonedError) throw error;
    return { busy: true, retryAfterSeconds: error.retryAfterSeconds };
  }
}
