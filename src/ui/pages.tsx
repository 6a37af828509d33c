// The hosted pages. Every field has a label and the autocomplete a password manager needs;
// every form posts back with a CSRF token; messages a person must notice are role="alert".
import { raw } from 'hono/html';
import type { FC } from 'hono/jsx';
import type { ErrorCode } from '../domain/errors.js';
import { HELP_FOR_ERROR, helpLink } from '../help/topics.js';
import type { MessageKey } from './i18n.js';
import { type CountryWords, IdentifierField } from './identifier-field.js';
import { Layout, type PageContext, renderDocument } from './layout.js';

export interface LoginPageProps {
  page: PageContext;
  action: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  country: CountryWords;
  identifier?: string;
  remember?: boolean;
  error?: MessageKey;
  errorVars?: Record<string, string> | undefined;
  /**
   * The field the error is about, marked invalid, tied to the message and focused: the
   * identifier when it cannot be one, the password after a refused login (which of the two was
   * wrong is never said, ASVS 6.3.8, so the password, where the person types again).
   */
  errorField?: 'identifier' | 'password' | undefined;
  /** Where "Create an account" leads, when the tenant lets people sign up. */
  signupHref?: string;
  /** Where "Forgot your password?" leads (carrying the identifier typed, if any). */
  forgotHref?: string;
}

/** "Cancel and go back to {client}": ends the interaction with access_denied for the client. */
export const CancelForm: FC<{ page: PageContext; action: string; csrf: string; clientName: string }> = (
  p,
) => (
  <form method="post" action={p.action} class="secondary">
    <input type="hidden" name="csrf" value={p.csrf} />
    <button type="submit" class="link">
      {p.page.t('login.cancel', { client: p.clientName })}
    </button>
  </form>
);

export const ErrorMessage: FC<{
  page: PageContext;
  error?: MessageKey | undefined;
  vars?: Record<string, string> | undefined;
}> = ({ page, error, vars }) =>
  error ? (
    <p class="error" role="alert" id="form-error">
      {page.t(error, vars)}
      <HelpLink page={page} error={error} />
    </p>
  ) : null;

/**
 * "Help" beside an error message that has a help topic, in the page's language. It carries the
 * page's own path (the one its language links return to) so the help page can lead back to it;
 * helpLink leaves that out unless it is one of the tenant's journey or account pages.
 */
const HelpLink: FC<{ page: PageContext; error: MessageKey }> = ({ page, error }) => {
  const topic = HELP_FOR_ERROR[error as ErrorCode];
  if (!topic || !page.tenantSlug) return null;
  const here = new URL(page.path, 'http://x').pathname;
  return (
    <>
      {' '}
      <a href={helpLink(page.tenantSlug, topic, page.locale, here)} class="help-link">
        {page.t('help.link')}
      </a>
    </>
  );
};

export function renderLoginPage(p: LoginPageProps): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('login.title')}>
      <h1>{t('login.title')}</h1>
      <p>{t('login.lead', { client: p.clientName })}</p>
      <ErrorMessage page={p.page} error={p.error} vars={p.errorVars} />
      <form method="post" action={p.action} novalidate>
        <input type="hidden" name="csrf" value={p.csrf} />
        <IdentifierField
          page={p.page}
          value={p.identifier ?? ''}
          country={p.country}
          invalid={p.errorField === 'identifier'}
          described={Boolean(p.error)}
        />
        <label for="password">{t('login.password')}</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxlength={1024}
          aria-invalid={p.errorField === 'password' ? 'true' : undefined}
          aria-describedby={p.errorField === 'password' ? 'form-error' : undefined}
          autofocus={Boolean(p.identifier) && p.errorField !== 'identifier'}
        />
        <div class="check">
          <input id="remember" name="remember" type="checkbox" value="on" checked={p.remember ?? false} />
          <label for="remember">{t('login.remember')}</label>
        </div>
        <button type="submit">{t('login.submit')}</button>
      </form>
      {p.forgotHref ? (
        <p class="secondary">
          <a href={p.forgotHref} id="forgot-password">
            {t('login.forgot')}
          </a>
        </p>
      ) : null}
      {p.signupHref ? (
        <p class="secondary">
          {t('login.no_account', { tenant: p.page.tenantName })}{' '}
          <a href={p.signupHref} id="create-account">
            {t('login.create_account')}
          </a>
        </p>
      ) : null}
      <CancelForm page={p.page} action={p.abortAction} csrf={p.csrf} clientName={p.clientName} />
    </Layout>,
  );
}

export interface ConsentPageProps {
  page: PageContext;
  action: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  scopes: string[];
}

export function renderConsentPage(p: ConsentPageProps): string {
  const { t } = p.page;
  const known = new Set(['openid', 'profile', 'email', 'phone', 'offline_access']);
  return renderDocument(
    <Layout page={p.page} title={t('consent.title')}>
      <h1>{t('consent.title')}</h1>
      <p>{t('consent.lead', { client: p.clientName })}</p>
      <ul class="scopes">
        {p.scopes
          .filter((scope) => known.has(scope))
          .map((scope) => (
            <li>{t(`scope.${scope}` as MessageKey, { tenant: p.page.tenantName })}</li>
          ))}
      </ul>
      <form method="post" action={p.action}>
        <input type="hidden" name="csrf" value={p.csrf} />
        <button type="submit">{t('consent.allow')}</button>
      </form>
      <form method="post" action={p.abortAction} class="secondary">
        <input type="hidden" name="csrf" value={p.csrf} />
        <button type="submit" class="link">
          {t('consent.deny')}
        </button>
      </form>
    </Layout>,
  );
}

export interface ErrorPageProps {
  page: PageContext;
  error: MessageKey;
  /** Shown for unexpected errors so support can find the log line. */
  reference?: string;
  /** The OAuth error code, for the developer of the relying party. */
  detail?: string;
  support?: { email?: string | undefined; phone?: string | undefined; url?: string | undefined };
}

export function renderErrorPage(p: ErrorPageProps): string {
  const { t } = p.page;
  const support = p.support && (p.support.email || p.support.phone || p.support.url) ? p.support : undefined;
  return renderDocument(
    <Layout page={p.page} title={t('error.title')}>
      <h1>{t('error.title')}</h1>
      <p role="alert" data-error={p.error}>
        {t(p.error)}
        <HelpLink page={p.page} error={p.error} />
      </p>
      {p.detail ? (
        <p class="hint">
          <code>{p.detail}</code>
        </p>
      ) : null}
      {p.reference ? <p>{t('error.reference', { reference: p.reference })}</p> : null}
      {support ? (
        <section aria-labelledby="support">
          <h2 id="support">{t('error.support')}</h2>
          <ul>
            {support.email ? (
              <li>
                <a href={`mailto:${support.email}`}>{support.email}</a>
              </li>
            ) : null}
            {support.phone ? (
              <li>
                <a href={`tel:${support.phone.replace(/\s+/g, '')}`}>{support.phone}</a>
              </li>
            ) : null}
            {support.url ? (
              <li>
                <a href={support.url}>{support.url}</a>
              </li>
            ) : null}
          </ul>
        </section>
      ) : null}
    </Layout>,
  );
}

/** `form` is oidc-provider's own hidden form (with its xsrf token); the buttons submit it. */
export function renderLogoutPage(p: { page: PageContext; form: string }): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('logout.title')}>
      <h1>{t('logout.title')}</h1>
      <p>{t('logout.lead', { tenant: p.page.tenantName })}</p>
      {raw(p.form)}
      <button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>
        {t('logout.confirm')}
      </button>
      <button type="submit" form="op.logoutForm" class="link">
        {t('logout.cancel')}
      </button>
    </Layout>,
  );
}

export function renderLoggedOutPage(p: { page: PageContext }): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('logout.done_title')}>
      <h1>{t('logout.done_title')}</h1>
      <p>{t('logout.done_lead', { tenant: p.page.tenantName })}</p>
    </Layout>,
  );
}

/**
 * The one script of any hosted page: it sends the auto-submit page's form as soon as it is read.
 * Its hash is added to the page's Content-Security-Policy (provider-pages.ts), which allows no
 * other inline script. Called through the prototype, so that a field named "submit" cannot hide it.
 */
export const AUTO_SUBMIT_SCRIPT =
  "HTMLFormElement.prototype.submit.call(document.getElementById('auto-submit'));";

/**
 * A form that the browser sends on by itself: an authorization response with
 * response_mode=form_post, or a logout without a session. Without JavaScript the person sees
 * why nothing happens, and a button that sends it; with JavaScript the button stays hidden, so a
 * code is never posted twice (a second use would revoke what the first one gave).
 */
export function renderAutoSubmitPage(p: {
  page: PageContext;
  action: string;
  fields: ReadonlyArray<readonly [name: string, value: string]>;
}): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('autosubmit.title')} languageSwitch={false}>
      <h1>{t('autosubmit.title')}</h1>
      <form id="auto-submit" method="post" action={p.action}>
        {p.fields.map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <noscript>
          <p>{t('autosubmit.noscript')}</p>
          <button type="submit" autofocus>
            {t('autosubmit.continue')}
          </button>
        </noscript>
      </form>
      <script>{raw(AUTO_SUBMIT_SCRIPT)}</script>
    </Layout>,
  );
}
