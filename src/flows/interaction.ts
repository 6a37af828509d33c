// The login and consent steps inside an OpenID Connect authorization request.
//
// Rules this file enforces (beside those of kit.ts):
// - loginForm: identifier and password present and bounded; anything else is a 400 page.
// - malformedIdentifier: text that cannot be an email address or mobile number is nobody's, so
//   saying so tells nothing (400, the sign-up's message): no guess is taken, no password hashed.
// - verifyPassword: a wrong password and an unknown identifier give the same 401 page.
// - busy: when too many password checks wait (VAKT_HASH_QUEUE), the form comes back at once with
//   503 and Retry-After, and the guess taken for it is given back.
// - proveImported: a password that is right for an account with an unproved identifier (an
//   operator's import) sends a code there before the login completes (see codes.ts).
// - autoConsentFirstParty: a first-party client is never shown a consent screen.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { AccountService } from '../domain/accounts.js';
import type { ErrorCode } from '../domain/errors.js';
import { normaliseIdentifier } from '../domain/identifiers.js';
import type { ThrottleKey } from '../domain/throttle.js';
import { renderConsentPage, renderLoginPage } from '../ui/pages.js';
import {
  type CodeJourneys,
  field,
  identifierQuery,
  MALFORMED_IDENTIFIER,
  TYPED_IDENTIFIER_MAX,
} from './codes.js';
import { countryWords } from './country-names.js';
import {
  checkWithTakenTry,
  clientGone,
  type Journey,
  type JourneyKit,
  type JourneyRequest,
  type Params,
} from './kit.js';

interface InteractionDeps {
  kit: JourneyKit;
  accounts: AccountService;
  codeJourneys: CodeJourneys;
}

const loginForm = z.object({
  csrf: z.string().max(200),
  identifier: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(1024),
  remember: z.literal('on').optional(),
});

export function registerInteractionRoutes(app: FastifyInstance, deps: InteractionDeps): void {
  const { kit, accounts, codeJourneys } = deps;

  function showLogin(
    request: JourneyRequest,
    reply: FastifyReply,
    journey: Journey,
    status: number,
    extra: {
      error?: ErrorCode;
      identifier?: string;
      remember?: boolean;
      errorVars?: Record<string, string> | undefined;
      errorField?: 'identifier' | 'password';
    } = {},
  ) {
    const { runtime, details, base } = journey;
    // The language links always lead to the login page itself, also after a POST.
    const ctx = kit.page(request, journey, `${base}/login`);
    const query = request.query as Record<string, unknown> | undefined;
    const prefill = typeof query?.identifier === 'string' ? query.identifier.slice(0, 254) : undefined;
    const identifier = extra.identifier ?? prefill ?? (details.params.login_hint as string | undefined) ?? '';
    return kit.html(
      reply,
      status,
      renderLoginPage({
        page: ctx,
        action: `${base}/login`,
        abortAction: `${base}/abort`,
        csrf: kit.csrfFor(details.uid),
        clientName: kit.clientName(journey),
        country: countryWords(ctx.locale, runtime.settings.defaultCountry),
        identifier,
        ...(extra.remember !== undefined ? { remember: extra.remember } : {}),
        ...(extra.error
          ? { error: extra.error, errorVars: extra.errorVars, errorField: extra.errorField }
          : {}),
        ...(runtime.settings.signup ? { signupHref: `${base}/signup` } : {}),
        // What was typed goes along, so the person need not type it again.
        forgotHref: `${base}/forgot${identifierQuery(identifier)}`,
      }),
    );
  }

  async function grantConsent(journey: Journey): Promise<{ grantId: string }> {
    const { details } = journey;
    const { Grant } = journey.runtime.provider;
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

  const loginOrCreate = (journey: Journey) =>
    journey.details.prompt.name === 'login' || journey.details.prompt.name === 'create';

  app.get<{ Params: Params }>('/t/:tenant/interaction/:uid', async (request, reply) => {
    const journey = await kit.open(request, reply);
    if (!journey) return reply;
    const { runtime, details, base } = journey;
    kit.rememberLanguage(request, reply);
    if (details.prompt.name === 'create') return kit.seeOther(reply, `${base}/signup`);
    if (details.prompt.name === 'login') return showLogin(request, reply, journey, 200);
    if (details.prompt.name === 'consent') {
      if (runtime.clients.get(String(details.params.client_id))?.firstParty) {
        return kit.finish(reply, journey, { consent: await grantConsent(journey) });
      }
      const ctx = kit.page(request, journey, base);
      const scopes = String(details.params.scope ?? '')
        .split(' ')
        .filter(Boolean);
      return kit.html(
        reply,
        200,
        renderConsentPage({
          page: ctx,
          action: `${base}/consent`,
          abortAction: `${base}/abort`,
          csrf: kit.csrfFor(details.uid),
          clientName: kit.clientName(journey),
          scopes,
        }),
      );
    }
    return kit.sendErrorPage(request, reply, 400, 'request.invalid', runtime.settings);
  });

  app.get<{ Params: Params }>('/t/:tenant/interaction/:uid/login', async (request, reply) => {
    const journey = await kit.open(request, reply);
    if (!journey) return reply;
    if (!loginOrCreate(journey)) return kit.seeOther(reply, journey.base);
    kit.rememberLanguage(request, reply);
    return showLogin(request, reply, journey, 200);
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/login', async (request, reply) => {
    const journey = await kit.open(request, reply, { post: true });
    if (!journey) return reply;
    const { runtime } = journey;
    if (!loginOrCreate(journey))
      return kit.sendErrorPage(request, reply, 400, 'request.invalid', runtime.settings);
    // Before anything is counted or hashed: text that is no identifier is nobody's.
    const text = field(request.body, 'identifier', TYPED_IDENTIFIER_MAX)?.trim();
    const read = text
      ? codeJourneys.readIdentifier(journey, text, kit.page(request, journey, journey.base).locale)
      : undefined;
    if (text && read && !read.ok && MALFORMED_IDENTIFIER.has(read.error)) {
      return showLogin(request, reply, journey, 400, {
        error: read.error,
        errorVars: read.vars,
        identifier: text,
        remember: field(request.body, 'remember', 2) === 'on',
        errorField: 'identifier',
      });
    }
    const form = loginForm.safeParse(request.body);
    if (!form.success) {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const identifier = typeof body.identifier === 'string' ? body.identifier.slice(0, 254) : '';
      return showLogin(request, reply, journey, 400, {
        error: 'login.missing_fields',
        identifier,
        // The first field left empty is the one to fill in.
        errorField: identifier.trim() ? 'password' : 'identifier',
      });
    }
    const { identifier, password, remember } = form.data;
    // Waits grow per typed identifier (known or not: no enumeration) and per IP address.
    const typed = normaliseIdentifier(identifier, runtime.settings.defaultCountry);
    const keys: ThrottleKey[] = [kit.typedIdentifierKey(typed, identifier), `ip:${kit.ipOf(request)}`];
    const wait = await kit.takeGuess(reply, journey, keys);
    if (wait) {
      return showLogin(request, reply, journey, 429, {
        error: 'login.throttled',
        errorVars: { wait: kit.waitText(kit.page(request, journey, journey.base), wait) },
        identifier,
        remember: remember === 'on',
      });
    }
    const checked = await checkWithTakenTry(kit.throttle, runtime.slug, keys, () =>
      accounts.verifyPasswordLogin(
        runtime.slug,
        runtime.settings.defaultCountry,
        identifier,
        password,
        clientGone(reply),
      ),
    );
    if (checked.busy) {
      reply.header('retry-after', String(checked.retryAfterSeconds));
      return showLogin(request, reply, journey, 503, {
        error: 'server.busy',
        identifier,
        remember: remember === 'on',
      });
    }
    const result = checked.value;
    if (!result.ok) {
      // Counted already, when the guess was taken. A disabled account's right password is no
      // failed authentication, but a refusal (403).
      return showLogin(request, reply, journey, result.error === 'login.disabled' ? 403 : 401, {
        error: result.error,
        identifier,
        remember: remember === 'on',
        // Which of the two was wrong is not said; the password is where the person types again.
        ...(result.error === 'login.disabled' ? {} : { errorField: 'password' as const }),
      });
    }
    // A success forgets the identifier's failures, not the address's: one's own account must
    // not reset the count of guesses at others'. The address gets back the try this one took.
    await kit.throttle.giveBack(runtime.slug, [keys[1]!], [keys[0]!]);
    const { accountId, toVerify } = result.value;
    if (toVerify) {
      const sent = await codeJourneys.startVerification(request, reply, journey, {
        accountId,
        identifier: toVerify,
        remember: remember === 'on',
      });
      if (!sent.ok) {
        return showLogin(request, reply, journey, sent.status, {
          error: sent.error,
          errorVars: sent.vars,
          identifier,
          remember: remember === 'on',
        });
      }
      return kit.seeOther(reply, `${journey.base}/verify`);
    }
    return kit.finish(reply, journey, {
      login: { accountId, remember: remember === 'on', amr: ['pwd'] },
    });
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/consent', async (request, reply) => {
    const journey = await kit.open(request, reply, { post: true });
    if (!journey) return reply;
    if (journey.details.prompt.name !== 'consent')
      return kit.sendErrorPage(request, reply, 400, 'request.invalid', journey.runtime.settings);
    return kit.finish(reply, journey, { consent: await grantConsent(journey) });
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/abort', async (request, reply) => {
    const journey = await kit.open(request, reply, { post: true });
    if (!journey) return reply;
    return kit.finish(reply, journey, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    });
  });
}
