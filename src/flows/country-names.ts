// Country names for "numbers without a country code are read as <country> numbers", in the
// page's language, from the runtime's own CLDR data (no table to keep up to date); and, for the
// Nordic countries, whose numbers people type into one another's tenants, the adjectives
// ("norske numre", "ett svenskt nummer") that read better than a name.
import type { Locale } from '../config/schema.js';
import type { CountryWords } from '../ui/identifier-field.js';

const cache = new Map<Locale, Intl.DisplayNames>();

export function countryName(locale: Locale, country: string): string {
  let names = cache.get(locale);
  if (!names) {
    names = new Intl.DisplayNames([locale === 'nb' ? 'nb' : locale], { type: 'region' });
    cache.set(locale, names);
  }
  try {
    return names.of(country) ?? country;
  } catch {
    return country;
  }
}

/**
 * Per language: the adjective with "a number" (nb "et norsk nummer", sv "ett norskt nummer"),
 * then with "numbers" (nb "norske numre", sv "norska nummer"); English has one form.
 */
const NORDIC_ADJECTIVES: Record<string, Record<Locale, readonly [one: string, many: string]>> = {
  NO: { nb: ['norsk', 'norske'], sv: ['norskt', 'norska'], en: ['Norwegian', 'Norwegian'] },
  SE: { nb: ['svensk', 'svenske'], sv: ['svenskt', 'svenska'], en: ['Swedish', 'Swedish'] },
  DK: { nb: ['dansk', 'danske'], sv: ['danskt', 'danska'], en: ['Danish', 'Danish'] },
  FI: { nb: ['finsk', 'finske'], sv: ['finskt', 'finska'], en: ['Finnish', 'Finnish'] },
};

/** The countries a Nordic tenant's people also have numbers in: the other Nordic ones. */
export function neighbourCountries(country: string): string[] {
  return country in NORDIC_ADJECTIVES ? Object.keys(NORDIC_ADJECTIVES).filter((c) => c !== country) : [];
}

/** "a Norwegian number", as an adjective for one number, when the language has one for it. */
export function countryAdjective(locale: Locale, country: string): string | undefined {
  return NORDIC_ADJECTIVES[country]?.[locale][0];
}

/** What the identifier field's hint says of the tenant's country, in the page's language. */
export function countryWords(locale: Locale, country: string): CountryWords {
  const adjective = NORDIC_ADJECTIVES[country]?.[locale][1];
  return { name: countryName(locale, country), ...(adjective ? { numbersAdjective: adjective } : {}) };
}
