// Country names for "numbers without a country code are read as <country> numbers", in the
// page's language, from the runtime's own CLDR data (no table to keep up to date).
import type { Locale } from '../config/schema.js';

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
