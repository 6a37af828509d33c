// What a new password must be. NIST 800-63B: length is what counts, measured in Unicode code
// points after NFC; every character is allowed; no composition rules by default.
import { fail, ok, type Result } from './errors.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = { minLength: 8, maxLength: 1024 };

export type PasswordProblem = 'password.missing' | 'password.too_short' | 'password.too_long';

export function checkNewPassword(
  password: string,
  policy: PasswordPolicy = DEFAULT_PASSWORD_POLICY,
): Result<string, PasswordProblem> {
  if (password.length === 0) return fail('password.missing');
  const length = [...password.normalize('NFC')].length;
  if (length < policy.minLength) return fail('password.too_short');
  if (length > policy.maxLength) return fail('password.too_long');
  return ok(password);
}
