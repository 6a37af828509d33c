// What a new password must be. NIST 800-63B-4 by default: length is what counts, measured in
// Unicode code points after NFC; every character is allowed; no composition rules; passwords on
// the list of common and breached ones, and the person's own identifiers, are refused. A tenant
// may raise the minimum and add composition rules (ASVS 6.2.5 allows them when asked for), but
// no rule ever refuses a character, and the password is never truncated or case-folded: the
// checks read a normalised copy, the hash is of what the person typed.
import { comparable, isCommonPassword, SHORTEST_MIN_LENGTH } from './common-passwords.js';
import { fail, ok, type Result } from './errors.js';
import type { TenantSettings } from './tenants.js';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  requireUppercase: boolean;
  requireLowercase: boolean;
  requireDigit: boolean;
  requireSymbol: boolean;
  refuseCommon: boolean;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  minLength: SHORTEST_MIN_LENGTH,
  maxLength: 1024,
  requireUppercase: false,
  requireLowercase: false,
  requireDigit: false,
  requireSymbol: false,
  refuseCommon: true,
};

/** NIST 800-63B: a verifier must accept at least 64 characters. */
const LONGEST_MAX_FLOOR = 64;

export type PasswordProblem =
  | 'password.missing'
  | 'password.too_short'
  | 'password.too_long'
  | 'password.common'
  | 'password.needs_uppercase'
  | 'password.needs_lowercase'
  | 'password.needs_digit'
  | 'password.needs_symbol';

/** Who the password is for: NIST's context-specific words (identifiers, the service's name). */
export interface PasswordContext {
  identifiers?: readonly string[];
  tenantName?: string;
}

// Unicode-aware classes: Å and Ø are upper case, ٣ is a digit. "Symbol" is anything that is
// neither a letter (with its combining marks) nor a digit, so a space or an emoji counts.
const UPPERCASE = /\p{Lu}/u;
const LOWERCASE = /\p{Ll}/u;
const DIGIT = /\p{Nd}/u;
const SYMBOL = /[^\p{L}\p{M}\p{Nd}]/u;

/** The words from the context a password must not be: each identifier, its local part, its digits. */
function contextWords(context: PasswordContext): string[] {
  const words: string[] = [];
  for (const identifier of context.identifiers ?? []) {
    words.push(identifier);
    const at = identifier.lastIndexOf('@');
    if (at > 0) words.push(identifier.slice(0, at));
    else {
      // A phone number, however it is written: +47 934 56 789, 4793456789, 93456789.
      const digits = identifier.replace(/\D/g, '');
      if (digits) words.push(digits);
      if (digits.length > 8) words.push(digits.slice(-8));
    }
  }
  if (context.tenantName) words.push(context.tenantName);
  return words.map(comparable).filter(Boolean);
}

export function checkNewPassword(
  password: string,
  policy: PasswordPolicy = DEFAULT_PASSWORD_POLICY,
  context: PasswordContext = {},
): Result<string, PasswordProblem> {
  if (password.length === 0) return fail('password.missing');
  const normalised = password.normalize('NFC');
  const length = [...normalised].length;
  if (length < policy.minLength) return fail('password.too_short');
  if (length > policy.maxLength) return fail('password.too_long');
  if (policy.refuseCommon) {
    if (isCommonPassword(password)) return fail('password.common');
    if (contextWords(context).includes(comparable(password))) return fail('password.common');
  }
  if (policy.requireUppercase && !UPPERCASE.test(normalised)) return fail('password.needs_uppercase');
  if (policy.requireLowercase && !LOWERCASE.test(normalised)) return fail('password.needs_lowercase');
  if (policy.requireDigit && !DIGIT.test(normalised)) return fail('password.needs_digit');
  if (policy.requireSymbol && !SYMBOL.test(normalised)) return fail('password.needs_symbol');
  // What the person typed, unchanged: it is what gets hashed.
  return ok(password);
}

/** The policy a tenant's new passwords must meet (the configuration's floors enforced again). */
export function passwordPolicyFor(tenant: TenantSettings): PasswordPolicy {
  // Settings stored before the field existed are parsed with its defaults; `??` is for callers
  // that build settings by hand.
  const configured = { ...DEFAULT_PASSWORD_POLICY, ...(tenant.passwordPolicy ?? {}) };
  return {
    ...configured,
    minLength: Math.max(SHORTEST_MIN_LENGTH, configured.minLength),
    maxLength: Math.max(LONGEST_MAX_FLOOR, configured.minLength, configured.maxLength),
  };
}

/** Values for the placeholders of the policy's messages and hints. */
export function policyVars(policy: PasswordPolicy): Record<string, string> {
  return { min: String(policy.minLength), max: String(policy.maxLength) };
}
