// The steps that prove an identifier with a one-time code, inside an authorization request:
//
// - sign-up: identifier + new password → code → the account exists only once the code is right
//   (then the person is logged in). Whether the identifier already has an account is said only
//   after the code proved the person owns it (no account enumeration).
// - verify: after a right password for an account whose identifier is unproved (an operator's
//   import), a code to that identifier, or to another one the person gives instead.
//
// Journey state between steps lives with the code (encrypted payload), keyed by interaction uid;
// an unsent code is deleted, so a failed delivery leaves nothing behind.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Locale } from '../config/schema.js';
import type { CodeMessage, DeliveryService } from '../delivery/types.js';
import type { AccountService, IdentifierToVerify } from '../domain/accounts.js';
import { BusyError, type ErrorCode } from '../domain/errors.js';
import {
  displayIdentifier,
  type IdentifierKind,
  maskIdentifier,
  normaliseIdentifier,
  otherCountryReading,
} from '../domain/identifiers.js';
import type { CodeCheckFailure, CodePurpose, CodeService, LiveCode } from '../domain/one-time-codes.js';
import { checkNewPassword, passwordPolicyFor, policyVars } from '../domain/password-policy.js';
import type { PasswordHasher } from '../domain/passwords.js';
import type { ThrottleKey } from '../domain/throttle.js';
import type { MessageKey } from '../ui/i18n.js';
import { renderAccountExistsPage, renderCodePage, renderSignupPage } from '../ui/journey-pages.js';
import { countryAdjective, countryWords, neighbourCountries } from './country-names.js';
import { clientGone, type Journey, type JourneyKit, type JourneyRequest, type Params } from './kit.js';

export interface CodeJourneysDeps {
  kit: JourneyKit;
  accounts: AccountService;
  codes: CodeService;
  delivery: DeliveryService;
  hasher: PasswordHasher;
}

/** A code was sent, or why not: with the status to answer and, for a limit, when to retry. */
export type Sent =
  | { ok: true }
  | { ok: false; error: ErrorCode; vars: Record<string, string>; status: number; retryAfter?: number };

/** What each failed code check answers with. */
/** A failed code step: the code's own verdict, or a wait for guessing too much. */
export type CodeStepFailure = CodeCheckFailure | 'code.throttled';

/** The failures that were real guesses (a typing slip or a spent code is not one). */
const GUESSES = new Set<CodeCheckFailure>(['code.invalid', 'code.invalid_last', 'code.other_journey']);

export const CODE_FAILURE_STATUS: Record<CodeStepFailure, number> = {
  'code.throttled': 429,
  'code.malformed': 400,
  'code.missing': 400,
  'code.invalid': 401,
  'code.invalid_last': 401,
  'code.other_journey': 401,
  'code.expired': 410,
  'code.used': 410,
  'code.too_many_attempts': 403,
};

interface SignupPayload {
  passwordHash: string;
  remember: boolean;
}

/** A reset code's journey: the account (null for an unknown identifier: a decoy). */
export interface RecoveryPayload {
  accountId: string | null;
}

type Payload = SignupPayload | VerifyPayload | RecoveryPayload;

interface VerifyPayload {
  accountId: string;
  /** The unproved identifier this journey is about. */
  identifierId: string;
  remember: boolean;
  /** True when the code went to a new identifier that is to take the old one's place. */
  replace: boolean;
}

/** A new password as typed: any length reaches the policy, which says "too long" (the body is capped anyway). */
export const passwordField = (body: unknown): string => {
  const value = (body as Record<string, unknown> | undefined)?.password;
  return typeof value === 'string' ? value : '';
};

/** Where each journey's code is entered, and where a new one is asked for. */
const CODE_STEP: Record<CodePurpose, (base: string) => string> = {
  signup: (base) => `${base}/signup/code`,
  verify: (base) => `${base}/verify`,
  recovery: (base) => `${base}/forgot/code`,
};
const RESEND_STEP: Record<CodePurpose, (base: string) => string> = {
  signup: (base) => `${base}/signup/resend`,
  verify: (base) => `${base}/verify/resend`,
  recovery: (base) => `${base}/forgot/resend`,
};

/**
 * The most of a typed identifier a form takes: an address is at most 254 characters, but a longer
 * one is read to be refused as too long ("not a valid email address"), not taken for an empty field.
 */
export const TYPED_IDENTIFIER_MAX = 1024;

export const field = (body: unknown, name: string, max: number): string | undefined => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.length <= max ? value : undefined;
};

/**
 * `?identifier=…` for a page that fills in what the person typed (login, forgot password): at
 * most 254 characters, percent-encoded but for `@`, which a query may hold as it is (RFC 3986
 * 3.4), so an address stays readable in the URL. Empty when there is nothing to carry.
 */
export const identifierQuery = (identifier: string | undefined): string => {
  const text = identifier?.trim().slice(0, 254);
  return text ? `?identifier=${encodeURIComponent(text).replaceAll('%40', '@')}` : '';
};

/** Errors that say the text typed cannot be an identifier at all, whoever's. */
export const MALFORMED_IDENTIFIER = new Set<ErrorCode>([
  'identifier.email_invalid',
  'identifier.phone_invalid',
  'identifier.phone_other_country',
]);

export function registerCodeJourneys(app: FastifyInstance, deps: CodeJourneysDeps) {
  const { kit, accounts, codes, delivery, hasher } = deps;

  /**
   * Sends a code for this journey, within the tenant's limits; an undelivered code is removed
   * again. The payload is made only after the limit check, so a refused request hashes nothing.
   * A decoy (recovery for an unknown identifier) is written as sent but goes nowhere; it takes
   * as long as a real send and fails as one would (no route), so neither tells it apart.
   */
  async function sendCode(
    request: JourneyRequest,
    reply: FastifyReply,
    journey: Journey,
    purpose: CodePurpose,
    target: { kind: IdentifierKind; value: string },
    payload: Payload | (() => Promise<Payload>),
    options: { decoy?: boolean } = {},
  ): Promise<Sent> {
    const { runtime } = journey;
    const ip = kit.ipOf(request);
    const limit = await codes.checkLimits(runtime.settings.codeLimits, {
      tenant: runtime.slug,
      kind: target.kind,
      destination: target.value,
      ip,
    });
    if ('refused' in limit) {
      const { refused } = limit;
      reply.header('retry-after', String(refused.retryAfterSeconds));
      return {
        ok: false,
        error: 'code.too_many_requests',
        vars: { wait: kit.waitText(kit.page(request, journey, journey.base), refused.retryAfterSeconds) },
        status: 429,
        retryAfter: refused.retryAfterSeconds,
      };
    }
    let carried: Payload;
    try {
      carried = typeof payload === 'function' ? await payload() : payload;
    } catch (error) {
      // No code is written, so the place goes back: only sent codes count.
      await codes.releasePlace(runtime.slug, limit.place);
      if (!(error instanceof BusyError)) throw error;
      // Too many password hashes wait (a sign-up's): the person may send the form again soon.
      reply.header('retry-after', String(error.retryAfterSeconds));
      return { ok: false, error: 'server.busy', vars: {}, status: 503, retryAfter: error.retryAfterSeconds };
    }
    const pending = await codes.create(
      {
        tenant: runtime.slug,
        journey: journey.details.uid,
        purpose,
        kind: target.kind,
        destination: target.value,
        payload: { ...carried },
        ip,
      },
      limit.place,
    );
    const locale = kit.page(request, journey, journey.base).locale;
    const message: CodeMessage = {
      tenant: runtime.settings,
      channel: target.kind === 'email' ? 'email' : 'sms',
      to: target.value,
      locale,
      purpose,
      code: pending.code,
    };
    const result = await (options.decoy ? delivery.sendDecoy(message) : delivery.sendCode(message));
    if (!result.ok) {
      await codes.discard(pending);
      return {
        ok: false,
        error: target.kind === 'email' ? 'delivery.failed_email' : 'delivery.failed_sms',
        vars: { destination: displayIdentifier(target.kind, target.value, runtime.settings.defaultCountry) },
        status: 502,
      };
    }
    await codes.markSent(pending);
    return { ok: true };
  }

  /**
   * Reads an identifier a person typed, against the tenant's accepted kinds, with the message
   * variables for the page's language. What is no identifier is said to be no email address in a
   * tenant of addresses only, and no mobile number in one of numbers only; a number that is none
   * at home but a mobile number in a neighbouring country (070-123 45 67, Swedish, typed in
   * Norway) is said to be read as a home number, with how to type it instead.
   */
  function readIdentifier(
    journey: Journey,
    typed: string | undefined,
    locale: Locale,
  ):
    | { ok: true; kind: IdentifierKind; value: string }
    | { ok: false; error: ErrorCode; vars: Record<string, string> } {
    const { settings } = journey.runtime;
    const vars = { tenant: settings.displayName };
    if (!typed?.trim()) return { ok: false, error: 'identifier.missing', vars };
    const parsed = normaliseIdentifier(typed, settings.defaultCountry);
    if (!parsed.ok) {
      const kinds = settings.identifierKinds;
      const only = kinds.length === 1 ? kinds[0] : undefined;
      if (only === 'email') return { ok: false, error: 'identifier.email_invalid', vars };
      const home = countryAdjective(locale, settings.defaultCountry);
      const other = home
        ? otherCountryReading(typed, neighbourCountries(settings.defaultCountry))
        : undefined;
      if (home && other && !typed.includes('@')) {
        return {
          ok: false,
          error: 'identifier.phone_other_country',
          vars: {
            ...vars,
            typed: typed.trim(),
            home,
            other: countryAdjective(locale, other.country) ?? other.country,
            code: other.callingCode,
            example: other.international,
          },
        };
      }
      return { ok: false, error: only === 'phone' ? 'identifier.phone_invalid' : parsed.error, vars };
    }
    if (!settings.identifierKinds.includes(parsed.value.kind)) {
      return {
        ok: false,
        error:
          parsed.value.kind === 'email' ? 'identifier.email_not_accepted' : 'identifier.phone_not_accepted',
        vars,
      };
    }
    return { ok: true, ...parsed.value };
  }

  /**
   * Checks a typed code, with guesses throttled per IP address across journeys (ASVS 6.6.3):
   * each code allows 5 tries, and an address that keeps guessing waits longer and longer.
   */
  async function checkCode(
    request: JourneyRequest,
    reply: FastifyReply,
    journey: Journey,
    purpose: CodePurpose,
  ): Promise<
    { ok: true; value: LiveCode } | { ok: false; error: CodeStepFailure; vars?: Record<string, string> }
  > {
    const keys: ThrottleKey[] = [`ip:${kit.ipOf(request)}`];
    const wait = await kit.takeGuess(reply, journey, keys);
    if (wait) {
      return {
        ok: false,
        error: 'code.throttled',
        vars: { wait: kit.waitText(kit.page(request, journey, journey.base), wait) },
      };
    }
    const checked = await codes.check(
      journey.runtime.slug,
      journey.details.uid,
      purpose,
      field(request.body, 'code', 20) ?? '',
    );
    // A wrong code is counted already; a right one, or a slip that was no guess, is not.
    if (checked.ok || !GUESSES.has(checked.error)) await kit.throttle.giveBack(journey.runtime.slug, keys);
    return checked;
  }

  const amrFor = (kind: IdentifierKind) => ['pwd', kind === 'phone' ? 'sms' : 'otp'];

  // --- sign-up ---------------------------------------------------------------------------------

  function showSignup(
    request: JourneyRequest,
    reply: FastifyReply,
    journey: Journey,
    status: number,
    extra: {
      identifier?: string;
      remember?: boolean;
      error?: ErrorCode;
      errorVars?: Record<string, string>;
      errorField?: 'identifier' | 'password';
    } = {},
  ) {
    const { runtime, details, base } = journey;
    const page = kit.page(request, journey, `${base}/signup`);
    return kit.html(
      reply,
      status,
      renderSignupPage({
        page,
        action: `${base}/signup`,
        loginHref: `${base}/login`,
        abortAction: `${base}/abort`,
        csrf: kit.csrfFor(details.uid),
        clientName: kit.clientName(journey),
        country: countryWords(page.locale, runtime.settings.defaultCountry),
        passwordPolicy: passwordPolicyFor(runtime.settings),
        identifier: extra.identifier ?? (details.params.login_hint as string | undefined) ?? '',
        ...(extra.remember !== undefined ? { remember: extra.remember } : {}),
        ...(extra.error ? { error: extra.error, errorVars: extra.errorVars } : {}),
        ...(extra.errorField ? { errorField: extra.errorField } : {}),
      }),
    );
  }

  function showCode(
    request: JourneyRequest,
    reply: FastifyReply,
    journey: Journey,
    live: LiveCode,
    purpose: CodePurpose,
    status: number,
    extra: { error?: ErrorCode; errorVars?: Record<string, string>; replaceValue?: string } = {},
  ) {
    const { runtime, details, base } = journey;
    const step = CODE_STEP[purpose](base);
    const page = kit.page(request, journey, step);
    const query = request.query as Record<string, unknown> | undefined;
    // A reset code goes to an address the person may not have typed: show it masked.
    const destination =
      purpose === 'recovery'
        ? maskIdentifier(live.kind, live.destination)
        : displayIdentifier(live.kind, live.destination, runtime.settings.defaultCountry);
    const common = {
      page,
      kind: live.kind,
      destination,
      action: step,
      resendAction: RESEND_STEP[purpose](base),
      csrf: kit.csrfFor(details.uid),
      ...(query?.sent === 'again' && !extra.error ? { notice: 'code.resent' as MessageKey } : {}),
      ...(extra.error ? { error: extra.error, errorVars: extra.errorVars } : {}),
      // "The code is 6 digits. Check what you typed.": so the field still shows what was typed.
      ...(extra.error === 'code.malformed' ? { typedCode: field(request.body, 'code', 20) ?? '' } : {}),
    };
    const body =
      purpose !== 'verify'
        ? renderCodePage({
            ...common,
            title: 'code.title',
            changeHref: `${base}/${purpose === 'signup' ? 'signup' : 'forgot'}`,
          })
        : renderCodePage({
            ...common,
            title: live.kind === 'email' ? 'verify.title_email' : 'verify.title_phone',
            lead: page.t('verify.lead', { destination }),
            replace: {
              action: `${base}/verify/replace`,
              country: countryWords(page.locale, runtime.settings.defaultCountry),
              ...(extra.replaceValue !== undefined ? { value: extra.replaceValue } : {}),
            },
          });
    return kit.html(reply, status, body);
  }

  /** A step that needs a journey in sign-up (or login) and, for the code steps, its code. */
  async function openSignup(request: JourneyRequest, reply: FastifyReply, post: boolean) {
    const journey = await kit.open(request, reply, { post });
    if (!journey) return undefined;
    const { runtime, details } = journey;
    if (!runtime.settings.signup) {
      kit.sendErrorPage(request, reply, 403, 'signup.disabled', runtime.settings);
      return undefined;
    }
    if (details.prompt.name !== 'login' && details.prompt.name !== 'create') {
      kit.seeOther(reply, journey.base);
      return undefined;
    }
    return journey;
  }

  app.get<{ Params: Params }>('/t/:tenant/interaction/:uid/signup', async (request, reply) => {
    const journey = await openSignup(request, reply, false);
    if (!journey) return reply;
    kit.rememberLanguage(request, reply);
    return showSignup(request, reply, journey, 200);
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/signup', async (request, reply) => {
    const journey = await openSignup(request, reply, true);
    if (!journey) return reply;
    const typed = field(request.body, 'identifier', TYPED_IDENTIFIER_MAX);
    const password = passwordField(request.body);
    const remember = field(request.body, 'remember', 2) === 'on';
    const identifier = readIdentifier(journey, typed, kit.page(request, journey, journey.base).locale);
    const keep = { identifier: typed?.trim() ?? '', remember };
    if (!identifier.ok) {
      return showSignup(request, reply, journey, 400, {
        ...keep,
        error: identifier.error,
        errorVars: identifier.vars,
        errorField: 'identifier',
      });
    }
    const policy = passwordPolicyFor(journey.runtime.settings);
    // NIST 800-63B: the person's own identifier and the service's name are refused as passwords too.
    const checked = checkNewPassword(password, policy, {
      identifiers: [identifier.value],
      tenantName: journey.runtime.settings.displayName,
    });
    if (!checked.ok) {
      return showSignup(request, reply, journey, 400, {
        ...keep,
        error: checked.error,
        errorVars: policyVars(policy),
        errorField: 'password',
      });
    }
    const sent = await sendCode(request, reply, journey, 'signup', identifier, async () => ({
      passwordHash: await hasher.hash(password, clientGone(reply)),
      remember,
    }));
    if (!sent.ok) {
      return showSignup(request, reply, journey, sent.status, {
        ...keep,
        error: sent.error,
        errorVars: sent.vars,
        // A busy server is no fault of the address typed.
        ...(sent.error === 'server.busy' ? {} : { errorField: 'identifier' as const }),
      });
    }
    return kit.seeOther(reply, `${journey.base}/signup/code`);
  });

  app.get<{ Params: Params }>('/t/:tenant/interaction/:uid/signup/code', async (request, reply) => {
    const journey = await openSignup(request, reply, false);
    if (!journey) return reply;
    const live = await codes.latest(journey.runtime.slug, journey.details.uid, 'signup');
    if (!live) return kit.seeOther(reply, `${journey.base}/signup`);
    kit.rememberLanguage(request, reply);
    return showCode(request, reply, journey, live, 'signup', 200);
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/signup/code', async (request, reply) => {
    const journey = await openSignup(request, reply, true);
    if (!journey) return reply;
    const { runtime, details, base } = journey;
    const checked = await checkCode(request, reply, journey, 'signup');
    if (!checked.ok) {
      const live = await codes.latest(runtime.slug, details.uid, 'signup');
      if (!live) return kit.seeOther(reply, `${base}/signup`);
      return showCode(request, reply, journey, live, 'signup', CODE_FAILURE_STATUS[checked.error], {
        error: checked.error,
        errorVars: checked.vars,
      });
    }
    const { kind, destination } = checked.value;
    const payload = checked.value.payload as unknown as SignupPayload;
    const created = await accounts.createAccount({
      tenant: runtime.slug,
      defaultCountry: runtime.settings.defaultCountry,
      ...(kind === 'email' ? { emails: [destination] } : { phones: [destination] }),
      passwordHash: payload.passwordHash,
      locale: kit.page(request, journey, base).locale,
      verified: true,
    });
    if (!created.ok) {
      // Only now, with the code proving the identifier is theirs, may the page say so.
      const shown = displayIdentifier(kind, destination, runtime.settings.defaultCountry);
      const page = kit.page(request, journey, `${base}/signup/code`);
      return kit.html(
        reply,
        200,
        renderAccountExistsPage({
          page,
          identifier: shown,
          loginHref: `${base}/login${identifierQuery(shown)}`,
          forgotHref: `${base}/forgot${identifierQuery(shown)}`,
          abortAction: `${base}/abort`,
          csrf: kit.csrfFor(details.uid),
          clientName: kit.clientName(journey),
        }),
      );
    }
    return kit.finish(reply, journey, {
      login: { accountId: created.value.id, remember: payload.remember, amr: amrFor(kind) },
    });
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/signup/resend', async (request, reply) => {
    const journey = await openSignup(request, reply, true);
    if (!journey) return reply;
    return resend(request, reply, journey, 'signup', `${journey.base}/signup`, `${journey.base}/signup/code`);
  });

  async function resend(
    request: JourneyRequest,
    reply: FastifyReply,
    journey: Journey,
    purpose: CodePurpose,
    startOver: string,
    codePage: string,
  ) {
    const live = await codes.latest(journey.runtime.slug, journey.details.uid, purpose);
    if (!live) return kit.seeOther(reply, startOver);
    // A reset for an unknown identifier stays a decoy: the same steps, nothing sent.
    const decoy = purpose === 'recovery' && !live.payload.accountId;
    const sent = await sendCode(
      request,
      reply,
      journey,
      purpose,
      { kind: live.kind, value: live.destination },
      live.payload as unknown as Payload,
      { decoy },
    );
    if (!sent.ok)
      return showCode(request, reply, journey, live, purpose, sent.status, {
        error: sent.error,
        errorVars: sent.vars,
      });
    return kit.seeOther(reply, `${codePage}?sent=again`);
  }

  // --- proving an identifier at login ------------------------------------------------------------

  async function openVerify(request: JourneyRequest, reply: FastifyReply, post: boolean) {
    const journey = await kit.open(request, reply, { post });
    if (!journey) return undefined;
    const live = await codes.latest(journey.runtime.slug, journey.details.uid, 'verify');
    const prompt = journey.details.prompt.name;
    if (!live || (prompt !== 'login' && prompt !== 'create')) {
      kit.seeOther(reply, journey.base);
      return undefined;
    }
    return { journey, live };
  }

  app.get<{ Params: Params }>('/t/:tenant/interaction/:uid/verify', async (request, reply) => {
    const opened = await openVerify(request, reply, false);
    if (!opened) return reply;
    kit.rememberLanguage(request, reply);
    return showCode(request, reply, opened.journey, opened.live, 'verify', 200);
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/verify', async (request, reply) => {
    const opened = await openVerify(request, reply, true);
    if (!opened) return reply;
    const { journey, live } = opened;
    const { runtime } = journey;
    const checked = await checkCode(request, reply, journey, 'verify');
    if (!checked.ok) {
      return showCode(request, reply, journey, live, 'verify', CODE_FAILURE_STATUS[checked.error], {
        error: checked.error,
        errorVars: checked.vars,
      });
    }
    const payload = checked.value.payload as unknown as VerifyPayload;
    if (payload.replace) {
      const replaced = await accounts.replaceIdentifier(
        runtime.slug,
        payload.accountId,
        payload.identifierId,
        {
          kind: checked.value.kind,
          value: checked.value.destination,
        },
      );
      if (!replaced.ok) {
        return showCode(request, reply, journey, checked.value, 'verify', 409, { error: replaced.error });
      }
    } else {
      await accounts.markIdentifierVerified(runtime.slug, payload.accountId, payload.identifierId);
    }
    return kit.finish(reply, journey, {
      login: { accountId: payload.accountId, remember: payload.remember, amr: amrFor(checked.value.kind) },
    });
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/verify/resend', async (request, reply) => {
    const opened = await openVerify(request, reply, true);
    if (!opened) return reply;
    const { journey } = opened;
    return resend(request, reply, journey, 'verify', journey.base, `${journey.base}/verify`);
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/verify/replace', async (request, reply) => {
    const opened = await openVerify(request, reply, true);
    if (!opened) return reply;
    const { journey, live } = opened;
    const typed = field(request.body, 'identifier', TYPED_IDENTIFIER_MAX);
    const identifier = readIdentifier(journey, typed, kit.page(request, journey, journey.base).locale);
    if (!identifier.ok) {
      return showCode(request, reply, journey, live, 'verify', 400, {
        error: identifier.error,
        errorVars: identifier.vars,
        replaceValue: typed?.trim() ?? '',
      });
    }
    const previous = live.payload as unknown as VerifyPayload;
    const sent = await sendCode(request, reply, journey, 'verify', identifier, {
      ...previous,
      replace: true,
    });
    if (!sent.ok) {
      return showCode(request, reply, journey, live, 'verify', sent.status, {
        error: sent.error,
        errorVars: sent.vars,
        replaceValue: typed?.trim() ?? '',
      });
    }
    return kit.seeOther(reply, `${journey.base}/verify`);
  });

  return {
    sendCode,
    showCode,
    checkCode,
    resend,
    readIdentifier,
    amrFor,
    /** After a right password for an account with an unproved identifier: a code to it. */
    startVerification(
      request: JourneyRequest,
      reply: FastifyReply,
      journey: Journey,
      input: { accountId: string; identifier: IdentifierToVerify; remember: boolean },
    ): Promise<Sent> {
      return sendCode(
        request,
        reply,
        journey,
        'verify',
        { kind: input.identifier.kind, value: input.identifier.value },
        {
          accountId: input.accountId,
          identifierId: input.identifier.identifierId,
          remember: input.remember,
          replace: false,
        },
      );
    },
  };
}

export type CodeJourneys = ReturnType<typeof registerCodeJourneys>;
