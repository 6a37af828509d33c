// Picking the language of a page and translating into it.
import { type Locale, SUPPORTED_LOCALES } from '../config/schema.js';
import { en, type MessageKey } from './messages/en.js';
import { nb } from './messages/nb.js';
import { sv } from './messages/sv.js';

export const catalogues: Record<Locale, Record<MessageKey, string>> = { nb, sv, en };
export type { MessageKey };

export type Translate = (key: MessageKey, vars?: Record<string, string>) => string;

export function translator(locale: Locale): Translate {
  const catalogue = catalogues[locale];
  return (key, vars) => {
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
