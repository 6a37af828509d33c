// The language of the `vakt` command's own output, chosen from the operator's environment as
// POSIX programs choose theirs: the first non-empty of LC_ALL, LC_MESSAGES and LANG. Norwegian
// (nb, no, nn) reads as Bokmål, sv as Swedish; anything else (unset, C, POSIX, en_GB, de_DE, …)
// as English. Messages from other modules (configuration checks, import line problems) stay as
// those modules word them.
import { type CliMessageKey, en } from './en.js';
import { nb } from './nb.js';
import { sv } from './sv.js';

export type CliLocale = 'nb' | 'sv' | 'en';
export type { CliMessageKey };

export const cliCatalogues: Record<CliLocale, Record<CliMessageKey, string>> = { nb, sv, en };

/** The CLI's language for an environment such as `process.env`. */
export function cliLocale(env: Readonly<Record<string, string | undefined>>): CliLocale {
  const value = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find((v) => v !== undefined && v.trim() !== '');
  // "nb_NO.UTF-8", "no_NO", "nn_NO@euro", "sv-SE": the language is what comes before _ . @ or -.
  const language = (value ?? '')
    .trim()
    .toLowerCase()
    .split(/[_.@-]/)[0];
  if (language === 'nb' || language === 'no' || language === 'nn') return 'nb';
  if (language === 'sv') return 'sv';
  return 'en';
}

/** Keys that come in a `.one` and an `.other` form, without the suffix. */
export type CliPluralKey = {
  [K in CliMessageKey]: K extends `${infer Base}.one`
    ? `${Base}.other` extends CliMessageKey
      ? Base
      : never
    : never;
}[CliMessageKey];

export type CliVars = Record<string, string | number>;

export interface CliTranslator {
  locale: CliLocale;
  /** The message `key`, its {placeholders} filled from `vars`. */
  t(key: CliMessageKey, vars?: CliVars): string;
  /** The `.one` or `.other` form of `key` for `count` (as {count}), by the language's plural rules. */
  plural(key: CliPluralKey, count: number, vars?: CliVars): string;
}

export function cliTranslator(locale: CliLocale): CliTranslator {
  const catalogue = cliCatalogues[locale];
  const rules = new Intl.PluralRules(locale);
  const t = (key: CliMessageKey, vars?: CliVars): string => {
    const text = catalogue[key] ?? en[key];
    return vars ? text.replace(/\{(\w+)\}/g, (match, name: string) => String(vars[name] ?? match)) : text;
  };
  return {
    locale,
    t,
    plural: (key, count, vars) =>
      t(`${key}.${rules.select(count) === 'one' ? 'one' : 'other'}` as CliMessageKey, { ...vars, count }),
  };
}

/** The translator for this process's environment. */
export const { t, plural } = cliTranslator(cliLocale(process.env));
