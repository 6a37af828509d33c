// What happens when a person sets a new password, after a reset code or with the current
// password: the tenant's policy (with the person's own identifiers refused), the change itself
// (one statement: if it fails, the old password still works, and nothing else happens), on
// request the end of the other sessions with their grants and tokens, and back-channel logout
// to their clients (ASVS 7.4.3), and a notice to the account's verified addresses and numbers
// (ASVS 6.3.7).
import type { Locale } from '../config/schema.js';
import type { DeliveryService } from '../delivery/types.js';
import type { AccountService } from '../domain/accounts.js';
import { AbandonedError, BusyError } from '../domain/errors.js';
import {
  checkNewPassword,
  type PasswordProblem,
  passwordPolicyFor,
  policyVars,
} from '../domain/password-policy.js';
import type { TenantSettings } from '../domain/tenants.js';
import type { EndSessions } from '../oidc/end-sessions.js';

export interface NewPassword {
  tenant: TenantSettings;
  accountId: string;
  password: string;
  reason: 'reset' | 'change';
  locale: Locale;
  endOtherSessions: boolean;
  /** The session to keep (a change made while logged in); a reset keeps none. */
  keepSessionId?: string | undefined;
  /** The identifier the reset code went to: it is not told again. */
  provedWith?: string | undefined;
  /** The request's: aborted while the hash waits its turn, nothing is set (AbandonedError). */
  signal?: AbortSignal | undefined;
  /** A reset: the one-time code that proved it, spent with the new password (a proof works once). */
  spendCode?: string | undefined;
}

export type NewPasswordOutcome =
  | {
      ok: true;
      /** The verified addresses and numbers the notice went to (a failed delivery is left out). */
      told: { kind: 'email' | 'phone'; value: string }[];
    }
  | {
      ok: false;
      error: PasswordProblem | 'password.update_failed' | 'server.busy' | 'recovery.expired';
      vars: Record<string, string>;
      /** 400 for the policy or a spent reset, 503 when the password could not be saved now. */
      status: 400 | 503;
      /** Seconds to wait before sending it again (Retry-After), when too many hashes wait. */
      retryAfter?: number;
    };

export function createNewPasswordStep(deps: {
  accounts: AccountService;
  delivery: DeliveryService;
  endSessions: EndSessions;
  log: { error(object: object, message: string): void };
}) {
  const { accounts, delivery, endSessions } = deps;
  return async function setNewPassword(input: NewPassword): Promise<NewPasswordOutcome> {
    const { tenant, accountId } = input;
    const policy = passwordPolicyFor(tenant);
    const identifiers = await accounts.listVerifiedIdentifiers(accountId);
    const checked = checkNewPassword(input.password, policy, {
      identifiers: identifiers.map((i) => i.value),
      tenantName: tenant.displayName,
    });
    if (!checked.ok) return { ok: false, error: checked.error, vars: policyVars(policy), status: 400 };
    try {
      const set = await accounts.setPassword(tenant.slug, accountId, input.password, input.reason, {
        signal: input.signal,
        spendCode: input.spendCode,
      });
      // The reset's code was spent by an earlier (or a concurrent) form: this one sets nothing.
      if (!set) return { ok: false, error: 'recovery.expired', vars: {}, status: 400 };
    } catch (error) {
      // Its client went away while the hash waited: nothing was written, and no one is left to tell.
      if (error instanceof AbandonedError) throw error;
      // Too many hashes wait: refused before anything was written (the hasher logs these).
      if (error instanceof BusyError) {
        return {
          ok: false,
          error: 'server.busy',
          vars: {},
          status: 503,
          retryAfter: error.retryAfterSeconds,
        };
      }
      deps.log.error({ err: error, tenant: tenant.slug }, `password ${input.reason} failed`);
      return { ok: false, error: 'password.update_failed', vars: {}, status: 503 };
    }
    if (input.endOtherSessions) await endSessions(tenant.slug, accountId, { keep: input.keepSessionId });
    const notified = identifiers.filter((i) => i.value !== input.provedWith);
    const sent = await Promise.all(
      notified.map((i) =>
        delivery.sendNotice({
          tenant,
          channel: i.kind === 'email' ? 'email' : 'sms',
          to: i.value,
          locale: input.locale,
          notice: 'password_changed',
        }),
      ),
    );
    return {
      ok: true,
      told: notified.filter((_, index) => sent[index]?.ok).map(({ kind, value }) => ({ kind, value })),
    };
  };
}

export type NewPasswordStep = ReturnType<typeof createNewPasswordStep>;
