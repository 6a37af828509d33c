// Picking the language of a page and translating into it.
import { IDENTIFIER_KINDS, type Locale, SUPPORTED_LOCALES } from '../config/schema.js';
import type { IdentifierKind } from '../domain/identifiers.js';
import { en, type MessageKey } from './messages/en.js';
import { nb } from './messages/nb.js';
import { sv } from './messages/sv.js';

export const catalogues: Record<Locale, Record<MessageKey, string>> = { nb, sv, en };
export type { MessageKey };

export type Translate = (key: MessageKey, vars?: Record<string, string>) => string;

/**
 * Messages that say "email address or mobile number", and their wording for a tenant that takes
 * only one of them: a person who can only log in with a mobile number is never asked for an email.
 */
const ONE_KIND_WORDING: { [K in MessageKey]?: Partial<Record<IdentifierKind, MessageKey>> } = {
  'identifier.label': { email: 'identifier.label_email', phone: 'identifier.label_phone' },
  'identifier.missing': { email: 'identifier.missing_email', phone: 'identifier.missing_phone' },
  'identifier.taken': { email: 'identifier.taken_email', phone: 'identifier.taken_phone' },
  'login.invalid_credentials': {
    email: 'login.invalid_credentials_email',
    phone: 'login.invalid_credentials_phone',
  },
  'login.missing_fields': { email: 'login.missing_fields_email', phone: 'login.missing_fields_phone' },
  'code.change_identifier': { email: 'code.change_identifier_email', phone: 'code.change_identifier_phone' },
  'verify.replace_label': { email: 'verify.replace_label_email', phone: 'verify.replace_label_phone' },
  'recovery.lead': { email: 'recovery.lead_email', phone: 'recovery.lead_phone' },
  'recovery.choose_lead': { email: 'recovery.choose_lead_email', phone: 'recovery.choose_lead_phone' },
  // "…or use your mobile number instead" only where there is one to use.
  'delivery.failed_email': { email: 'delivery.failed_email_only' },
  'delivery.failed_sms': { phone: 'delivery.failed_sms_only' },
};

/** Translates into `locale`, worded for the kinds of identifier the tenant takes. */
export function translator(
  locale: Locale,
  identifierKinds: readonly IdentifierKind[] = IDENTIFIER_KINDS,
): Translate {
  const catalogue = catalogues[locale];
  const only = identifierKinds.length === 1 ? identifierKinds[0] : undefined;
  return (requested, vars) => {
    const key = (only && ONE_KIND_WORDING[requested]?.[only]) || requested;
    const text = catalogue[key] ?? en[key] ?? key;
    return vars ? text.replace(/\{(\w+)\}/g, (match, name: string) => vars[name] ?? match) : text;
  };
}

function isLocale(value: string): value is Locale {
  return (SUPPORTED_LOCALES as readonly string[]).includes(value);
}

/** Maps a language tag to one we have: nn and no read as Bokmål, sv-FI as Swedish. */
export function toLocale(tag: string): Locale | undefined {
  const base = tag.trim().toLowerCase().split(/[-_]/)[0] ?? '';
  if (base === 'no' || base === 'nn') return 'nb';
  return isLocale(base) ? base : undefined;
}

/**
 * The first candidate the tenant offers wins, in this order: an explicit choice (the language
 * switch), OIDC `ui_locales`, Accept-Language, then the tenant's default.
 */
export function pickLocale(
  offered: readonly Locale[],
  candidates: {
    chosen?: string | undefined;
    uiLocales?: string | undefined;
    acceptLanguage?: string | undefined;
  },
): Locale {
  const tags: string[] = [];
  if (candidates.chosen) tags.push(candidates.chosen);
  if (candidates.uiLocales) tags.push(...candidates.uiLocales.split(/\s+/));
  if (candidates.acceptLanguage) {
    tags.push(
      ...candidates.acceptLanguage
        .split(',')
        .map((part) => {
          const [tag = '', ...params] = part.trim().split(';');
          const q = params.find((p) => p.trim().startsWith('q='));
          return { tag, q: q ? Number(q.trim().slice(2)) || 0 : 1 };
        })
        .filter((entry) => entry.q > 0)
        .sort((a, b) => b.q - a.q)
        .map((entry) => entry.tag),
    );
  }
  for (const tag of tags) {
    const locale = toLocale(tag);
    if (locale && offered.includes(locale)) return locale;
  }
  return offered[0] ?? 'nb';
}
