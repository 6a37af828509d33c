// The one field a person types their email address or mobile number into, on every page that
// asks for it (log in, sign up, forgot password, another identifier at first login).
import type { FC } from 'hono/jsx';
import type { MessageKey } from './i18n.js';
import type { PageContext } from './layout.js';

/** The tenant's default country, in the page's language: its name, and an adjective when one reads better. */
export interface CountryWords {
  name: string;
  /** With "numbers": "norske" (nb), "norska" (sv), "Norwegian" (en). */
  numbersAdjective?: string;
}

/**
 * Label, keyboard and hint follow the kinds the tenant takes (`page.identifierKinds`).
 * `autocomplete="username"` on every page, so a password manager pairs it with the password.
 */
export const IdentifierField: FC<{
  page: PageContext;
  /** Worded for the tenant by `page.t`; "Email address or mobile number" unless said otherwise. */
  label?: MessageKey;
  value: string;
  /** A sentence before the hint on how a number without a country code is read. */
  lead?: string;
  /** The tenant's default country, in the page's language. */
  country: CountryWords;
  /** Marks the field invalid and focuses it. */
  invalid: boolean;
  /** The form's error message is about this field too (said to screen readers with it). */
  described?: boolean;
}> = ({ page, label, value, lead, country, invalid, described = invalid }) => {
  const kinds = page.identifierKinds;
  const only = kinds.length === 1 ? kinds[0] : undefined;
  const hint = [
    lead,
    kinds.includes('phone')
      ? country.numbersAdjective
        ? page.t('login.identifier_hint', { country: country.numbersAdjective })
        : page.t('login.identifier_hint_in', { country: country.name })
      : '',
  ]
    .filter(Boolean)
    .join(' ');
  const describedBy = [hint ? 'identifier-hint' : '', described ? 'form-error' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <>
      <label for="identifier">{page.t(label ?? 'identifier.label')}</label>
      <input
        id="identifier"
        name="identifier"
        type={only === 'email' ? 'email' : only === 'phone' ? 'tel' : 'text'}
        inputmode={only === 'phone' ? 'tel' : 'email'}
        autocomplete="username"
        autocapitalize="none"
        spellcheck={false}
        required
        maxlength={254}
        value={value}
        aria-invalid={invalid ? 'true' : undefined}
        aria-describedby={describedBy || undefined}
        autofocus={!value || invalid}
      />
      {hint ? (
        <p class="hint" id="identifier-hint">
          {hint}
        </p>
      ) : null}
    </>
  );
};
