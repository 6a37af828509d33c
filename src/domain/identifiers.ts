// Identifiers a person logs in with: e-mail addresses and phone numbers, normalised so that
// every way of typing one finds the same row (e-mail: trimmed, NFC, lower-cased; phone: E.164).
import { type CountryCode, type PhoneNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { fail, ok, type Result } from './errors.js';

export type IdentifierKind = 'email' | 'phone';

export interface NormalisedIdentifier {
  kind: IdentifierKind;
  value: string;
}

// Deliberately permissive (RFC 5321 local parts are wide); the code sent to it is the real check.
// No whitespace, no control characters (U+0000 and the rest of Unicode's Cc) and no invisible
// format characters (Cf: zero-width spaces and joiners, bidirectional overrides, soft hyphens)
// anywhere: an address with one looks the same as one without, so one could pass for another.
const EMAIL = /^[^\s@\p{Cc}\p{Cf}]{1,64}@[^\s@\p{Cc}\p{Cf}]+\.[^\s@.\p{Cc}\p{Cf}]{2,}$/u;

export function normaliseEmail(input: string): Result<string, 'identifier.email_invalid'> {
  const value = input.trim().normalize('NFC').toLowerCase();
  if (value.length > 254 || !EMAIL.test(value) || value.includes('..'))
    return fail('identifier.email_invalid');
  return ok(value);
}

export function normalisePhone(
  input: string,
  defaultCountry: string,
): Result<string, 'identifier.phone_invalid'> {
  // "0047 912 34 567" is the international prefix written out; libphonenumber wants "+".
  const cleaned = input.trim().replace(/^00/, '+');
  if (!/^[+\d][\d\s().-]{3,30}$/.test(cleaned)) return fail('identifier.phone_invalid');
  const phone = parsePhoneNumberFromString(cleaned, defaultCountry as CountryCode);
  if (!phone?.isValid()) return fail('identifier.phone_invalid');
  return ok(phone.number);
}

/** Reads what a person typed into one "e-mail or mobile number" field. */
export function normaliseIdentifier(
  input: string,
  defaultCountry: string,
): Result<NormalisedIdentifier, 'identifier.email_invalid' | 'identifier.phone_invalid'> {
  if (input.includes('@')) {
    const email = normaliseEmail(input);
    return email.ok ? ok({ kind: 'email', value: email.value }) : email;
  }
  const phone = normalisePhone(input, defaultCountry);
  return phone.ok ? ok({ kind: 'phone', value: phone.value }) : phone;
}

/**
 * How an identifier is shown to a person (stored values stay as they are): a phone number from
 * the tenant's country as people there write it (`934 56 789`, `070-123 45 67`), one from
 * elsewhere with its country code (`+46 70 123 45 67`, `+47 934 56 789`).
 */
export function displayIdentifier(kind: IdentifierKind, value: string, defaultCountry: string): string {
  if (kind === 'email') return value;
  const phone = parsePhoneNumberFromString(value);
  if (!phone) return value;
  const home = phone.country === defaultCountry;
  const grouped = phone.country && WRITTEN_AS[phone.country]?.(phone);
  if (grouped) return home ? grouped : `+${phone.countryCallingCode} ${grouped}`;
  return home ? phone.formatNational() : phone.formatInternational();
}

/**
 * Where people group numbers otherwise than libphonenumber does. Only countries without a
 * trunk prefix, whose grouping is the same at home and after the country code.
 */
const WRITTEN_AS: Partial<Record<CountryCode, (phone: PhoneNumber) => string | undefined>> = {
  // Norwegian mobiles are written 3-2-3 (934 56 789); landlines keep 2-2-2-2 (22 12 34 56).
  NO: (phone) => (phone.getType() === 'MOBILE' ? groupDigits(phone.nationalNumber, [3, 2, 3]) : undefined),
};

/** `93456789`, [3, 2, 3] -> `934 56 789`; undefined when the lengths do not add up. */
function groupDigits(digits: string, sizes: readonly number[]): string | undefined {
  if (sizes.reduce((sum, size) => sum + size, 0) !== digits.length) return undefined;
  let at = 0;
  return sizes
    .map((size) => {
      at += size;
      return digits.slice(at - size, at);
    })
    .join(' ');
}

/**
 * Enough of an identifier for its owner to recognise it, not enough to learn it:
 * `k•••@example.com`, `+47 ••• •• 567`.
 */
export function maskIdentifier(kind: IdentifierKind, value: string): string {
  if (kind === 'email') {
    const at = value.lastIndexOf('@');
    return `${[...value.slice(0, at)][0] ?? ''}•••${value.slice(at)}`;
  }
  const phone = parsePhoneNumberFromString(value);
  const national = phone?.nationalNumber ?? value;
  return `+${phone?.countryCallingCode ?? ''} ••• •• ${national.slice(-3)}`;
}

/**
 * A number that is none in the tenant's country but a mobile number in exactly one of
 * `candidates` (a Swedish 070-123 45 67 typed in a Norwegian tenant): that country and the
 * number written with its country code, so the person can be told what to type instead.
 */
export function otherCountryReading(
  input: string,
  candidates: readonly string[],
): { country: string; callingCode: string; international: string } | undefined {
  const cleaned = input.trim();
  if (!/^[\d\s().-]{4,30}$/.test(cleaned)) return undefined;
  const readings = candidates.flatMap((country) => {
    const phone = parsePhoneNumberFromString(cleaned, country as CountryCode);
    const type = phone?.isValid() ? phone.getType() : undefined;
    return phone && (type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE') ? [{ country, phone }] : [];
  });
  const only = readings.length === 1 ? readings[0] : undefined;
  if (!only) return undefined;
  return {
    country: only.country,
    callingCode: `+${only.phone.countryCallingCode}`,
    international: displayIdentifier('phone', only.phone.number, ''),
  };
}
