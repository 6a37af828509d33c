// Accounts made for people in advance: `vakt users import FILE --tenant T` reads JSON lines, one
// account per line (docs/accounts-import.md):
//
//   {"emails": ["kari@example.com"], "phones": ["+4791234567"], "phonesVerified": true,
//    "name": "Kari Nordmann", "locale": "nb", "passwordHash": "$2b$10$..."}
//
// - emails, phones: arrays of identifiers, at least one in all. Phone numbers are read with the
//   tenant's default country. Imported e-mail addresses are always unverified (the person proves
//   one at first login); phone numbers too, unless "phonesVerified": true (an operator that knows
//   its subscribers' numbers).
// - passwordHash (optional): argon2, bcrypt ($2a$/$2b$/$2y$) or PBKDF2 in passlib's or Django's
//   form; a legacy hash becomes argon2id at the person's next successful login.
// - name, locale (optional). Any other field is refused.
// Blank lines and lines starting with # are skipped. The whole file is checked first: one bad line
// (not JSON, a schema error, an invalid identifier, an unsupported hash, an identifier twice in
// the file) and nothing is imported; every bad line is reported with its number. Then each account
// is created on its own (atomically); one whose identifier already exists in the tenant is
// skipped and reported, so running the same file again is safe.
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../store/schema.js';
import type { AccountService } from './accounts.js';
import { type IdentifierKind, normaliseEmail, normalisePhone } from './identifiers.js';
import { isSupportedPasswordHash } from './passwords.js';

export interface ImportedAccount {
  /** 1-based line number in the file. */
  line: number;
  /** Normalised: lower-cased e-mail addresses, E.164 phone numbers. */
  emails: string[];
  phones: string[];
  phonesVerified: boolean;
  name?: string;
  locale?: string;
  passwordHash?: string;
}

export interface ImportProblem {
  line: number;
  /** What is wrong, with the field path when there is one: `phones[0]: not a valid mobile number`. */
  message: string;
}

export type ParsedImport =
  | { ok: true; accounts: ImportedAccount[] }
  | { ok: false; problems: ImportProblem[] };

export interface ImportReport {
  created: number;
  skipped: { line: number; identifier: string }[];
}

const MAX_IDENTIFIERS = 20;

const lineSchema = z.strictObject({
  emails: z.array(z.string().max(320, 'too long')).max(MAX_IDENTIFIERS, 'too many').optional(),
  phones: z.array(z.string().max(40, 'too long')).max(MAX_IDENTIFIERS, 'too many').optional(),
  phonesVerified: z.boolean().optional(),
  name: z.string().trim().min(1, 'empty').max(200, 'longer than 200 characters').optional(),
  locale: z.string().refine(isLanguageTag, 'not a language tag such as "nb" or "en-GB"').optional(),
  passwordHash: z
    .string()
    .max(1024, 'too long')
    .refine(
      isSupportedPasswordHash,
      'not a supported password hash (argon2, bcrypt $2a$/$2b$/$2y$, PBKDF2 in passlib or Django form, with sane parameters)',
    )
    .optional(),
});

function isLanguageTag(value: string): boolean {
  if (!/^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/.test(value) || value.length > 35) return false;
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i ? '.' : ''}${String(key)}`))
    .join('');
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const at = (path: readonly PropertyKey[], message: string) =>
      path.length ? `${fieldPath(path)}: ${message}` : message;
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => at([...issue.path, key], 'unknown field'));
    if (issue.code === 'invalid_type')
      return [at(issue.path, issue.path.length ? `expected ${issue.expected}` : 'expected a JSON object')];
    return [at(issue.path, issue.message)];
  });
}

/** Reads and checks a whole import file; `defaultCountry` is the tenant's, for phone numbers. */
export function parseAccountImport(text: string, defaultCountry: string): ParsedImport {
  const problems: ImportProblem[] = [];
  const accounts: ImportedAccount[] = [];
  // Normalised identifier -> where it first appeared, to refuse it a second time.
  const seen = new Map<string, { line: number; path: string }>();

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const report = (message: string) => problems.push({ line, message });

    let json: unknown;
    try {
      json = JSON.parse(content);
    } catch (error) {
      report(`not JSON (${(error as Error).message})`);
      return;
    }
    const parsed = lineSchema.safeParse(json);
    if (!parsed.success) {
      for (const message of describeIssues(parsed.error.issues)) report(message);
      return;
    }
    const input = parsed.data;
    const account: ImportedAccount = {
      line,
      emails: [],
      phones: [],
      phonesVerified: input.phonesVerified ?? false,
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.locale !== undefined ? { locale: Intl.getCanonicalLocales(input.locale)[0]! } : {}),
      ...(input.passwordHash !== undefined ? { passwordHash: input.passwordHash } : {}),
    };
    let bad = false;
    const add = (kind: IdentifierKind, index: number, value: string) => {
      const path = `${kind}s[${index}]`;
      const key = `${kind}:${value}`;
      const earlier = seen.get(key);
      if (earlier) {
        bad = true;
        report(
          earlier.line === line
            ? `${path}: ${value} is also ${earlier.path}`
            : `${path}: ${value} is also on line ${earlier.line}`,
        );
        return;
      }
      seen.set(key, { line, path });
      (kind === 'email' ? account.emails : account.phones).push(value);
    };
    (input.emails ?? []).forEach((email, i) => {
      const result = normaliseEmail(email);
      if (result.ok) add('email', i, result.value);
      else {
        bad = true;
        report(`emails[${i}]: not a valid email address`);
      }
    });
    (input.phones ?? []).forEach((phone, i) => {
      const result = normalisePhone(phone, defaultCountry);
      if (result.ok) add('phone', i, result.value);
      else {
        bad = true;
        report(`phones[${i}]: not a valid mobile number`);
      }
    });
    if ((input.emails?.length ?? 0) + (input.phones?.length ?? 0) === 0) {
      bad = true;
      report('no identifier: give at least one of emails or phones');
    }
    if (!bad) accounts.push(account);
  });

  return problems.length ? { ok: false, problems } : { ok: true, accounts };
}

/** Creates each checked account on its own; one whose identifier exists in the tenant is skipped. */
export async function importAccounts(
  deps: { accounts: AccountService; db: Kysely<Database> },
  tenant: string,
  defaultCountry: string,
  accounts: readonly ImportedAccount[],
): Promise<ImportReport> {
  const report: ImportReport = { created: 0, skipped: [] };
  for (const account of accounts) {
    const result = await deps.accounts.createAccount({
      tenant,
      defaultCountry,
      emails: account.emails,
      phones: account.phones,
      ...(account.passwordHash !== undefined ? { passwordHash: account.passwordHash } : {}),
      ...(account.name !== undefined ? { name: account.name } : {}),
      ...(account.locale !== undefined ? { locale: account.locale } : {}),
      // E-mail addresses never: the person proves one at first login.
      verified: account.phonesVerified ? ['phone'] : false,
    });
    if (result.ok) {
      report.created++;
      continue;
    }
    if (result.error !== 'identifier.taken')
      throw new Error(`line ${account.line}: the account was refused (${result.error})`);
    report.skipped.push({ line: account.line, identifier: await takenIdentifier(deps.db, tenant, account) });
  }
  return report;
}

/** Which of the account's identifiers another account in the tenant holds (verified or not). */
async function takenIdentifier(
  db: Kysely<Database>,
  tenant: string,
  account: ImportedAccount,
): Promise<string> {
  const wanted = [
    ...account.emails.map((value) => ({ kind: 'email' as const, value })),
    ...account.phones.map((value) => ({ kind: 'phone' as const, value })),
  ];
  const rows = await db
    .selectFrom('identifiers')
    .select(['kind', 'value'])
    .where('tenant_slug', '=', tenant)
    .where('value', 'in', [...new Set(wanted.map((w) => w.value))])
    .execute();
  const taken = wanted.find((w) => rows.some((r) => r.kind === w.kind && r.value === w.value));
  // Taken a moment ago by someone else and gone again: still name one, the first.
  return (taken ?? wanted[0]!).value;
}
