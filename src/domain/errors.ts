// One error type for failures a person can meet. Its dotted code is also the key in the message
// catalogues (src/ui/messages), so a code without a translation fails the catalogue test.
export const ERROR_CODES = [
  'request.invalid',
  'request.too_large',
  'request.csrf',
  'request.not_found',
  'request.method_not_allowed',
  'tenant.not_found',
  'login.invalid_credentials',
  'login.missing_fields',
  'interaction.expired',
  'identifier.email_invalid',
  'identifier.phone_invalid',
  'identifier.taken',
  'oauth.error',
  'code.invalid',
  'code.invalid_last',
  'code.expired',
  'code.used',
  'code.other_journey',
  'code.too_many_attempts',
  'code.malformed',
  'code.missing',
  'delivery.failed_email',
  'delivery.failed_sms',
  'identifier.missing',
  'identifier.email_not_accepted',
  'identifier.phone_not_accepted',
  'identifier.phone_other_country',
  'password.missing',
  'password.too_short',
  'password.too_long',
  'password.common',
  'password.needs_uppercase',
  'password.needs_lowercase',
  'password.needs_digit',
  'password.needs_symbol',
  'signup.disabled',
  'recovery.expired',
  'recovery.choice_missing',
  'password.update_failed',
  'code.too_many_requests',
  'login.throttled',
  'login.locked',
  'login.disabled',
  'code.throttled',
  'account.login_required',
  'account.current_password_missing',
  'account.wrong_password',
  'account.throttled',
  'server.unexpected',
  'server.busy',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? code, options);
  }
}

/**
 * Too much work waits already (password hashes, see passwords.ts): the request is refused at once,
 * before it changed anything, and may be sent again after `retryAfterSeconds` (503, Retry-After).
 */
export class BusyError extends AppError {
  override name = 'BusyError';
  constructor(readonly retryAfterSeconds: number) {
    super('server.busy', 503);
  }
}

/**
 * The request went away (its client closed the connection) while its password check waited for a
 * place: the check was never made. Nobody is left to answer, so it has no message.
 */
export class AbandonedError extends Error {
  override name = 'AbandonedError';
}

/** Expected failures are values, not exceptions. */
export type Result<T, E extends ErrorCode = ErrorCode> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const fail = <E extends ErrorCode>(error: E): { ok: false; error: E } => ({ ok: false, error });
