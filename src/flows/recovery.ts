// "Forgot your password?" inside an authorization request:
//   identifier → where should the code go (the account's verified identifiers, masked) → code →
//   new password (with "log out on all other devices") → logged in and back at the client;
//   the other verified identifiers are told that the password changed (ASVS 6.3.7).
//
// An unknown identifier goes through the same screens: the one "option" is what was typed, the
// code is a decoy written as sent but never delivered, and no code can be right (no account
// enumeration). State between the choice and the password lives sealed (AES-GCM under the
// deployment secret) in the forms and bound to the interaction uid, or with the code.
// The proof that the code was right works once: the new password is set in the transaction
// that marks its code spent, so a form sent twice or replayed sets nothing (ASVS 6.5.1).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AccountService, IdentifierToVerify } from '../domain/accounts.js';
import type { Clock } from '../domain/clock.js';
import type { ErrorCode } from '../domain/errors.js';
import { displayIdentifier, maskIdentifier } from '../domain/identifiers.js';
import { CODE_LIFETIME_MS, type CodeService } from '../domain/one-time-codes.js';
import { passwordPolicyFor } from '../domain/password-policy.js';
import type { SecretBox } from '../domain/secrets.js';
import {
  renderNewPasswordPage,
  renderRecoveryChoosePage,
  renderRecoveryStartPage,
} from '../ui/journey-pages.js';
import type { CodeJourneys, RecoveryPayload } from './codes.js';
import {
  CODE_FAILURE_STATUS,
  type CodeStepFailure,
  field,
  identifierQuery,
  passwordField,
  TYPED_IDENTIFIER_MAX,
} from './codes.js';
import { countryWords } from './country-names.js';
import { clientGone, type Journey, type JourneyKit, type JourneyRequest, type Params } from './kit.js';
import type { NewPasswordStep } from './new-password.js';

export interface RecoveryDeps {
  kit: JourneyKit;
  accounts: AccountService;
  codes: CodeService;
  codeJourneys: CodeJourneys;
  secrets: SecretBox;
  clock: Clock;
  setNewPassword: NewPasswordStep;
}

/** What the choice page hands back: who (if anyone) and where codes may go. */
interface ChoiceState {
  uid: string;
  exp: number;
  accountId: string | null;
  options: { kind: 'email' | 'phone'; value: string }[];
  /**
   * What the person typed, normalised: the option equal to it is shown in full (they typed it,
   * and may spot a slip in it), the account's others masked. For an unknown identifier it is the
   * one option, so both look alike.
   */
  typed?: { kind: 'email' | 'phone'; value: string };
}

/** What the password page hands back: the code was right for this account in this journey. */
interface Proof {
  uid: string;
  exp: number;
  accountId: string;
  /** Where the code went: the other identifiers are told of the change. */
  provedWith: string;
  kind: 'email' | 'phone';
  /** The code that proved it: spent with the new password, so the proof works once. */
  codeId: string;
}

export function registerRecovery(app: FastifyInstance, deps: RecoveryDeps): void {
  const { kit, accounts, codes, codeJourneys, secrets, clock } = deps;

  const seal = (value: ChoiceState | Proof) => secrets.encrypt(JSON.stringify(value));
  function unseal<T extends { uid: string; exp: number }>(
    sealed: string | undefined,
    uid: string,
  ): T | undefined {
    if (!sealed) return undefined;
    try {
      const value = JSON.parse(secrets.decrypt(sealed)) as T;
      return value.uid === uid && value.exp > clock.now() ? value : undefined;
    } catch {
      return undefined;
    }
  }

  async function open(request: JourneyRequest, reply: FastifyReply, post: boolean) {
    const journey = await kit.open(request, reply, { post });
    if (!journey) return undefined;
    const prompt = journey.details.prompt.name;
    if (prompt !== 'login' && prompt !== 'create') {
      kit.seeOther(reply, journey.base);
      return undefined;
    }
    return journey;
  }

  function showStart(
    request: JourneyRequest,
    reply: FastifyReply,
    journey: Journey,
    status: number,
    extra: { identifier?: string; error?: ErrorCode; errorVars?: Record<string, string> } = {},
  ) {
    const { runtime, base, details } = journey;
    const page = kit.page(request, journey, `${base}/forgot`);
    const query = request.query as Record<string, unknown> | undefined;
    const prefill = typeof query?.identifier === 'string' ? query.identifier.slice(0, 254) : '';
    return kit.html(
      reply,
      status,
      renderRecoveryStartPage({
        page,
        action: `${base}/forgot`,
        loginHref: `${base}/login`,
        csrf: kit.csrfFor(details.uid),
        country: countryWords(page.locale, runtime.settings.defaultCountry),
        identifier: extra.identifier ?? prefill,
        ...(extra.error ? { error: extra.error, errorVars: extra.errorVars } : {}),
      }),
    );
  }

  function showChoose(
    request: JourneyRequest,
    reply: FastifyReply,
    journey: Journey,
    state: ChoiceState,
    status: number,
    extra: { error?: ErrorCode; errorVars?: Record<string, string> } = {},
  ) {
    const { base, details, runtime } = journey;
    const inFull = (o: { kind: 'email' | 'phone'; value: string }) =>
      displayIdentifier(o.kind, o.value, runtime.settings.defaultCountry);
    const shown = (o: ChoiceState['options'][number]) =>
      o.kind === state.typed?.kind && o.value === state.typed.value
        ? inFull(o)
        : maskIdentifier(o.kind, o.value);
    return kit.html(
      reply,
      status,
      renderRecoveryChoosePage({
        page: kit.page(request, journey, `${base}/forgot`),
        action: `${base}/forgot/send`,
        csrf: kit.csrfFor(details.uid),
        state: seal(state),
        options: state.options.map((o) => ({ kind: o.kind, shown: shown(o) })),
        loginHref: `${base}/login${state.typed ? identifierQuery(inFull(state.typed)) : ''}`,
        ...(extra.error ? { error: extra.error, errorVars: extra.errorVars } : {}),
      }),
    );
  }

  function showPassword(
    request: JourneyRequest,
    reply: FastifyReply,
    journey: Journey,
    proof: Proof,
    status: number,
    extra: { error?: ErrorCode; errorVars?: Record<string, string> } = {},
  ) {
    const { base, details, runtime } = journey;
    return kit.html(
      reply,
      status,
      renderNewPasswordPage({
        page: kit.page(request, journey, `${base}/forgot/code`),
        action: `${base}/forgot/password`,
        csrf: kit.csrfFor(details.uid),
        proof: seal(proof),
        passwordPolicy: passwordPolicyFor(runtime.settings),
        username: proof.provedWith,
        ...(extra.error ? { error: extra.error, errorVars: extra.errorVars } : {}),
      }),
    );
  }

  app.get<{ Params: Params }>('/t/:tenant/interaction/:uid/forgot', async (request, reply) => {
    const journey = await open(request, reply, false);
    if (!journey) return reply;
    kit.rememberLanguage(request, reply);
    return showStart(request, reply, journey, 200);
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/forgot', async (request, reply) => {
    const journey = await open(request, reply, true);
    if (!journey) return reply;
    const typed = field(request.body, 'identifier', TYPED_IDENTIFIER_MAX);
    const locale = kit.page(request, journey, journey.base).locale;
    const identifier = codeJourneys.readIdentifier(journey, typed, locale);
    if (!identifier.ok) {
      return showStart(request, reply, journey, 400, {
        identifier: typed?.trim() ?? '',
        error: identifier.error,
        errorVars: identifier.vars,
      });
    }
    const found = await accounts.recoveryTargets(journey.runtime.slug, identifier.kind, identifier.value);
    const state: ChoiceState = {
      uid: journey.details.uid,
      exp: clock.now() + CODE_LIFETIME_MS,
      accountId: found?.accountId ?? null,
      options: found
        ? found.targets.map((t: IdentifierToVerify) => ({ kind: t.kind, value: t.value }))
        : [{ kind: identifier.kind, value: identifier.value }],
      typed: { kind: identifier.kind, value: identifier.value },
    };
    return showChoose(request, reply, journey, state, 200);
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/forgot/send', async (request, reply) => {
    const journey = await open(request, reply, true);
    if (!journey) return reply;
    const state = unseal<ChoiceState>(field(request.body, 'state', 8192), journey.details.uid);
    if (!state) return showStart(request, reply, journey, 400, { error: 'recovery.expired' });
    const choice = state.options[Number(field(request.body, 'choice', 3) ?? -1)];
    if (!choice) return showChoose(request, reply, journey, state, 400, { error: 'recovery.choice_missing' });
    const payload: RecoveryPayload = { accountId: state.accountId };
    const sent = await codeJourneys.sendCode(request, reply, journey, 'recovery', choice, payload, {
      decoy: state.accountId === null,
    });
    if (!sent.ok)
      return showChoose(request, reply, journey, state, sent.status, {
        error: sent.error,
        errorVars: sent.vars,
      });
    return kit.seeOther(reply, `${journey.base}/forgot/code`);
  });

  app.get<{ Params: Params }>('/t/:tenant/interaction/:uid/forgot/code', async (request, reply) => {
    const journey = await open(request, reply, false);
    if (!journey) return reply;
    const live = await codes.latest(journey.runtime.slug, journey.details.uid, 'recovery');
    if (!live) return kit.seeOther(reply, `${journey.base}/forgot`);
    kit.rememberLanguage(request, reply);
    return codeJourneys.showCode(request, reply, journey, live, 'recovery', 200);
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/forgot/resend', async (request, reply) => {
    const journey = await open(request, reply, true);
    if (!journey) return reply;
    return codeJourneys.resend(
      request,
      reply,
      journey,
      'recovery',
      `${journey.base}/forgot`,
      `${journey.base}/forgot/code`,
    );
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/forgot/code', async (request, reply) => {
    const journey = await open(request, reply, true);
    if (!journey) return reply;
    const { runtime, details, base } = journey;
    const checked = await codeJourneys.checkCode(request, reply, journey, 'recovery');
    const accountId = checked.ok ? (checked.value.payload as unknown as RecoveryPayload).accountId : null;
    if (!checked.ok || !accountId) {
      const live = await codes.latest(runtime.slug, details.uid, 'recovery');
      if (!live) return kit.seeOther(reply, `${base}/forgot`);
      // A decoy's code can never be right; were it guessed, it is still just a wrong code.
      const error: CodeStepFailure = checked.ok ? 'code.invalid' : checked.error;
      return codeJourneys.showCode(request, reply, journey, live, 'recovery', CODE_FAILURE_STATUS[error], {
        error,
        errorVars: checked.ok ? undefined : checked.vars,
      });
    }
    return showPassword(
      request,
      reply,
      journey,
      {
        uid: details.uid,
        exp: clock.now() + CODE_LIFETIME_MS,
        accountId,
        provedWith: checked.value.destination,
        kind: checked.value.kind,
        codeId: checked.value.id,
      },
      200,
    );
  });

  app.post<{ Params: Params }>('/t/:tenant/interaction/:uid/forgot/password', async (request, reply) => {
    const journey = await open(request, reply, true);
    if (!journey) return reply;
    const { runtime } = journey;
    const proof = unseal<Proof>(field(request.body, 'proof', 8192), journey.details.uid);
    if (!proof) return showStart(request, reply, journey, 400, { error: 'recovery.expired' });
    const changed = await deps.setNewPassword({
      tenant: runtime.settings,
      accountId: proof.accountId,
      password: passwordField(request.body),
      reason: 'reset',
      locale: kit.page(request, journey, journey.base).locale,
      // A reset keeps no session: this login makes a new one.
      endOtherSessions: field(request.body, 'end_sessions', 2) === 'on',
      provedWith: proof.provedWith,
      signal: clientGone(reply),
      spendCode: proof.codeId,
    });
    // Used already, by this form sent twice or by a replay: as for a proof that expired.
    if (!changed.ok && changed.error === 'recovery.expired') {
      return showStart(request, reply, journey, 400, { error: 'recovery.expired' });
    }
    if (!changed.ok) {
      if (changed.retryAfter) reply.header('retry-after', String(changed.retryAfter));
      return showPassword(request, reply, journey, proof, changed.status, {
        error: changed.error,
        errorVars: changed.vars,
      });
    }
    return kit.finish(reply, journey, {
      login: { accountId: proof.accountId, remember: false, amr: codeJourneys.amrFor(proof.kind) },
    });
  });
}
