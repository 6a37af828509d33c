// Pages of the journeys that send a code: sign-up, entering the code, proving an imported
// identifier at first login, and "you already have an account". Same rules as pages.tsx:
// a label and the right autocomplete on every field, a CSRF token in every form.
import type { Child, FC } from 'hono/jsx';
import type { PasswordPolicy } from '../domain/password-policy.js';
import { helpIndexLink } from '../help/topics.js';
import type { MessageKey } from './i18n.js';
import { type CountryWords, IdentifierField } from './identifier-field.js';
import { Layout, type PageContext, renderDocument } from './layout.js';
import { CancelForm, ErrorMessage } from './pages.js';

interface FormError {
  error?: MessageKey | undefined;
  errorVars?: Record<string, string> | undefined;
}

const Csrf: FC<{ value: string }> = ({ value }) => <input type="hidden" name="csrf" value={value} />;

/**
 * Whether an error is the new password's fault (the policy), so its field is marked invalid;
 * not a wrong current password, a wait, a busy server or a failed save.
 */
const blamesNewPassword = (error: MessageKey | undefined): boolean =>
  (error?.startsWith('password.') ?? false) && error !== 'password.update_failed';

/**
 * What a new password must be, said before the person types it: the length, and the composition
 * rules the tenant asked for (none by default), joined as the page's language joins a list.
 */
export const PasswordHint: FC<{ page: PageContext; policy: PasswordPolicy }> = ({ page, policy }) => {
  const rules = (
    [
      [policy.requireUppercase, 'password.rule_uppercase'],
      [policy.requireLowercase, 'password.rule_lowercase'],
      [policy.requireDigit, 'password.rule_digit'],
      [policy.requireSymbol, 'password.rule_symbol'],
    ] as const
  )
    .filter(([required]) => required)
    .map(([, key]) => page.t(key));
  const length = page.t('signup.password_hint', { min: String(policy.minLength) });
  if (rules.length === 0) return <>{length}</>;
  const list = new Intl.ListFormat(page.locale, { type: 'conjunction' }).format(rules);
  return <>{`${length} ${page.t('password.rules', { rules: list })}`}</>;
};

/**
 * A new password: its label, `autocomplete="new-password"` for password managers, no
 * maxlength (a browser would cut a pasted password; the policy says "too long" instead), and
 * the tenant's rules said before the person types (ASVS 6.2.7, 6.2.8).
 */
const NewPasswordField: FC<{
  page: PageContext;
  label: MessageKey;
  policy: PasswordPolicy;
  invalid: boolean;
  autofocus: boolean;
}> = ({ page, label, policy, invalid, autofocus }) => (
  <>
    <label for="password">{page.t(label)}</label>
    <input
      id="password"
      name="password"
      type="password"
      autocomplete="new-password"
      required
      minlength={policy.minLength}
      aria-invalid={invalid ? 'true' : undefined}
      aria-describedby={invalid ? 'password-hint form-error' : 'password-hint'}
      autofocus={autofocus}
    />
    <p class="hint" id="password-hint">
      <PasswordHint page={page} policy={policy} />
    </p>
  </>
);

/**
 * The password asked again before a change on the account pages. As the login page does with its
 * fields: after an error it is focused and described by the message, and marked invalid when the
 * message is about it (missing or wrong).
 */
const CurrentPasswordField: FC<{ page: PageContext; error: MessageKey | undefined; focus: boolean }> = ({
  page,
  error,
  focus,
}) => (
  <>
    <label for="current_password">{page.t('account.current_password')}</label>
    <input
      id="current_password"
      name="current_password"
      type="password"
      autocomplete="current-password"
      required
      aria-invalid={blamesCurrentPassword(error) ? 'true' : undefined}
      aria-describedby={error ? 'form-error' : undefined}
      autofocus={focus}
    />
  </>
);

/** Whether an error on an account page is the current password's fault: none typed, or a wrong one. */
const blamesCurrentPassword = (error: MessageKey | undefined): boolean =>
  error === 'account.current_password_missing' || error === 'account.wrong_password';

/** "Log out of all other devices and apps" after a new password (ASVS 7.4.3). */
const EndSessions: FC<{ page: PageContext; checked: boolean }> = ({ page, checked }) => (
  <div class="check">
    <input id="end-sessions" name="end_sessions" type="checkbox" value="on" checked={checked} />
    <label for="end-sessions">{page.t('recovery.end_sessions')}</label>
  </div>
);

export interface SignupPageProps extends FormError {
  page: PageContext;
  action: string;
  loginHref: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  country: CountryWords;
  passwordPolicy: PasswordPolicy;
  identifier?: string;
  remember?: boolean;
  /** Which field the error is about, to mark it invalid and focus it. */
  errorField?: 'identifier' | 'password';
}

export function renderSignupPage(p: SignupPageProps): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('signup.title')}>
      <h1>{t('signup.title')}</h1>
      <p>{t('signup.lead', { tenant: p.page.tenantName, client: p.clientName })}</p>
      <ErrorMessage page={p.page} error={p.error} vars={p.errorVars} />
      <form method="post" action={p.action} novalidate>
        <Csrf value={p.csrf} />
        <IdentifierField
          page={p.page}
          value={p.identifier ?? ''}
          lead={t('signup.identifier_hint')}
          country={p.country}
          invalid={p.errorField === 'identifier'}
        />
        <NewPasswordField
          page={p.page}
          label="signup.password"
          policy={p.passwordPolicy}
          invalid={p.errorField === 'password'}
          autofocus={Boolean(p.identifier) && p.errorField !== 'identifier'}
        />
        <div class="check">
          <input id="remember" name="remember" type="checkbox" value="on" checked={p.remember ?? false} />
          <label for="remember">{t('login.remember')}</label>
        </div>
        <button type="submit">{t('signup.submit')}</button>
      </form>
      <p class="secondary">
        <a href={p.loginHref} id="have-account">
          {t('signup.have_account')}
        </a>
      </p>
      <CancelForm page={p.page} action={p.abortAction} csrf={p.csrf} clientName={p.clientName} />
    </Layout>,
  );
}

export interface CodePageProps extends FormError {
  page: PageContext;
  title: MessageKey;
  /** An extra paragraph before the "we sent a code" line (why the code is asked for). */
  lead?: string;
  kind: 'email' | 'phone';
  destination: string;
  action: string;
  resendAction: string;
  csrf: string;
  /** Shown after "send a new code" worked. */
  notice?: MessageKey;
  /** A link to start over with another identifier (sign-up). */
  changeHref?: string;
  /** A form to put another identifier in place of this one (first login of an imported account). */
  replace?: { action: string; country: CountryWords; value?: string };
  /** What was typed, kept when it was no code at all ("12a"), so the person sees their slip. */
  typedCode?: string;
  children?: Child;
}

/** The errors that say the code typed was wrong, so its field is marked invalid. */
const CODE_TYPED_WRONG = new Set<MessageKey>([
  'code.invalid',
  'code.invalid_last',
  'code.malformed',
  'code.other_journey',
]);

export function renderCodePage(p: CodePageProps): string {
  const { t } = p.page;
  // An error about the other identifier typed in the "replace" form belongs to that field.
  const replaceInvalid = Boolean(p.replace && p.error?.startsWith('identifier.'));
  const codeInvalid = p.error !== undefined && CODE_TYPED_WRONG.has(p.error);
  const codeDescribed = Boolean(p.error) && !replaceInvalid;
  return renderDocument(
    <Layout page={p.page} title={t(p.title)}>
      <h1>{t(p.title)}</h1>
      {p.lead ? <p>{p.lead}</p> : null}
      <p id="code-sent">
        {t(p.kind === 'email' ? 'code.lead_email' : 'code.lead_phone', { destination: p.destination })}
      </p>
      {p.notice ? (
        <p class="notice" role="status">
          {t(p.notice)}
        </p>
      ) : null}
      <ErrorMessage page={p.page} error={p.error} vars={p.errorVars} />
      <form method="post" action={p.action} novalidate>
        <Csrf value={p.csrf} />
        <label for="code">{t('code.label')}</label>
        <input
          id="code"
          name="code"
          type="text"
          inputmode="numeric"
          autocomplete="one-time-code"
          pattern="[0-9 ]*"
          required
          maxlength={20}
          value={p.typedCode}
          aria-invalid={codeInvalid ? 'true' : undefined}
          aria-describedby={codeDescribed ? 'code-hint form-error' : 'code-hint'}
          autofocus={!replaceInvalid}
        />
        {p.kind === 'email' ? (
          <p class="hint" id="code-hint">
            {t('code.hint')}
          </p>
        ) : (
          <span id="code-hint" hidden />
        )}
        <button type="submit">{t('code.submit')}</button>
      </form>
      <form method="post" action={p.resendAction} class="secondary">
        <Csrf value={p.csrf} />
        <button type="submit" class="link" id="resend">
          {t('code.resend')}
        </button>
      </form>
      {p.changeHref ? (
        <p class="secondary">
          <a href={p.changeHref}>{t('code.change_identifier')}</a>
        </p>
      ) : null}
      {p.replace ? (
        <section aria-labelledby="replace-title">
          <h2 id="replace-title">{t('verify.replace_title')}</h2>
          <form method="post" action={p.replace.action} novalidate>
            <Csrf value={p.csrf} />
            <IdentifierField
              page={p.page}
              label="verify.replace_label"
              value={p.replace.value ?? ''}
              country={p.replace.country}
              invalid={replaceInvalid}
            />
            <button type="submit" class="secondary-button">
              {t('verify.replace_submit')}
            </button>
          </form>
        </section>
      ) : null}
    </Layout>,
  );
}

export function renderAccountExistsPage(p: {
  page: PageContext;
  identifier: string;
  loginHref: string;
  /** "Forgot your password?" in the same interaction, with the identifier filled in. */
  forgotHref: string;
  abortAction: string;
  csrf: string;
  clientName: string;
}): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('signup.exists_title')}>
      <h1>{t('signup.exists_title')}</h1>
      <p role="status">{t('signup.exists_lead', { identifier: p.identifier })}</p>
      <p>
        <a class="button" href={p.loginHref} id="exists-login">
          {t('signup.exists_login', { identifier: p.identifier })}
        </a>
      </p>
      <p class="secondary">
        <a href={p.forgotHref} id="forgot-password">
          {t('login.forgot')}
        </a>
      </p>
      <CancelForm page={p.page} action={p.abortAction} csrf={p.csrf} clientName={p.clientName} />
    </Layout>,
  );
}

export interface RecoveryStartProps extends FormError {
  page: PageContext;
  action: string;
  loginHref: string;
  csrf: string;
  country: CountryWords;
  identifier?: string;
}

export function renderRecoveryStartPage(p: RecoveryStartProps): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('recovery.title')}>
      <h1>{t('recovery.title')}</h1>
      <p>{t('recovery.lead')}</p>
      <ErrorMessage page={p.page} error={p.error} vars={p.errorVars} />
      <form method="post" action={p.action} novalidate>
        <Csrf value={p.csrf} />
        <IdentifierField
          page={p.page}
          value={p.identifier ?? ''}
          country={p.country}
          invalid={p.error?.startsWith('identifier.') ?? false}
        />
        <button type="submit">{t('recovery.submit')}</button>
      </form>
      <p class="secondary">
        <a href={p.loginHref} id="back-to-login">
          {t('recovery.remembered')}
        </a>
      </p>
    </Layout>,
  );
}

export interface RecoveryChooseProps extends FormError {
  page: PageContext;
  action: string;
  csrf: string;
  /** Sealed journey state, handed back with the choice. */
  state: string;
  /** `shown`: masked, or in full for what the person typed themselves. */
  options: { kind: 'email' | 'phone'; shown: string }[];
  /** Back to the login page of the interaction. */
  loginHref: string;
}

export function renderRecoveryChoosePage(p: RecoveryChooseProps): string {
  const { t } = p.page;
  // Worded for the kinds among the options, which is all it depends on: "if your phone is lost,
  // choose an email address" only when there are both to choose from.
  const emails = p.options.some((o) => o.kind === 'email');
  const phones = p.options.some((o) => o.kind === 'phone');
  const lead =
    emails && phones
      ? 'recovery.choose_lead'
      : emails
        ? 'recovery.choose_lead_email'
        : 'recovery.choose_lead_phone';
  return renderDocument(
    <Layout page={p.page} title={t('recovery.choose_title')}>
      <h1>{t('recovery.choose_title')}</h1>
      <p>{t(lead)}</p>
      <ErrorMessage page={p.page} error={p.error} vars={p.errorVars} />
      <form method="post" action={p.action}>
        <Csrf value={p.csrf} />
        <input type="hidden" name="state" value={p.state} />
        <fieldset>
          <legend class="visually-hidden">{t('recovery.choose_title')}</legend>
          {p.options.map((option, index) => (
            <div class="check">
              <input
                id={`choice-${index}`}
                name="choice"
                type="radio"
                value={String(index)}
                checked={index === 0}
                required
              />
              <label for={`choice-${index}`}>{option.shown}</label>
            </div>
          ))}
        </fieldset>
        <button type="submit">{t('recovery.send')}</button>
      </form>
      <p class="secondary">
        <a href={p.loginHref} id="back-to-login">
          {t('recovery.back_to_login')}
        </a>
      </p>
    </Layout>,
  );
}

export interface NewPasswordProps extends FormError {
  page: PageContext;
  action: string;
  csrf: string;
  /** Sealed proof that the code was right, handed back with the password. */
  proof: string;
  passwordPolicy: PasswordPolicy;
  /** A hidden username field lets password managers store the new password for the right account. */
  username: string;
}

export function renderNewPasswordPage(p: NewPasswordProps): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('recovery.password_title')}>
      <h1>{t('recovery.password_title')}</h1>
      <ErrorMessage page={p.page} error={p.error} vars={p.errorVars} />
      <form method="post" action={p.action} novalidate>
        <Csrf value={p.csrf} />
        <input type="hidden" name="proof" value={p.proof} />
        <input type="text" name="username" autocomplete="username" value={p.username} hidden readonly />
        <NewPasswordField
          page={p.page}
          label="recovery.password_label"
          policy={p.passwordPolicy}
          invalid={blamesNewPassword(p.error)}
          autofocus
        />
        <EndSessions page={p.page} checked />
        <button type="submit">{t('recovery.password_submit')}</button>
      </form>
    </Layout>,
  );
}

/**
 * The links between the account pages, and to the tenant's help. No link back to the app the
 * person came from: no client has a registered home page to send them to, and a URL taken from
 * the request would make this page an open redirect.
 */
const AccountNav: FC<{ page: PageContext; current?: 'password' | 'sessions' }> = ({ page, current }) => {
  const slug = page.tenantSlug;
  if (!slug) return null;
  const account = `/t/${encodeURIComponent(slug)}/account`;
  return (
    <nav aria-label={page.t('account.nav')} class="account-nav">
      <ul>
        <li>
          <a
            href={`${account}/password`}
            id="nav-password"
            aria-current={current === 'password' ? 'page' : undefined}
          >
            {page.t('account.password_title')}
          </a>
        </li>
        <li>
          <a
            href={`${account}/sessions`}
            id="nav-sessions"
            aria-current={current === 'sessions' ? 'page' : undefined}
          >
            {page.t('sessions.title')}
          </a>
        </li>
        <li>
          <a href={helpIndexLink(slug, page.locale)} id="nav-help">
            {page.t('help.title')}
          </a>
        </li>
      </ul>
    </nav>
  );
};

export interface ChangePasswordProps extends FormError {
  page: PageContext;
  action: string;
  csrf: string;
  passwordPolicy: PasswordPolicy;
  /** A hidden username field tells password managers which account's password this is. */
  username: string;
}

export function renderChangePasswordPage(p: ChangePasswordProps): string {
  const { t } = p.page;
  const newPasswordBlamed = blamesNewPassword(p.error);
  return renderDocument(
    <Layout page={p.page} title={t('account.password_title')}>
      <h1>{t('account.password_title')}</h1>
      <ErrorMessage page={p.page} error={p.error} vars={p.errorVars} />
      <form method="post" action={p.action} novalidate>
        <Csrf value={p.csrf} />
        <input type="text" name="username" autocomplete="username" value={p.username} hidden readonly />
        <CurrentPasswordField
          page={p.page}
          error={newPasswordBlamed ? undefined : p.error}
          focus={Boolean(p.error) && !newPasswordBlamed}
        />
        <NewPasswordField
          page={p.page}
          label="recovery.password_label"
          policy={p.passwordPolicy}
          invalid={newPasswordBlamed}
          autofocus={newPasswordBlamed}
        />
        <EndSessions page={p.page} checked={false} />
        <button type="submit">{t('account.submit')}</button>
      </form>
      <AccountNav page={p.page} current="password" />
    </Layout>,
  );
}

export interface PasswordChangedProps {
  page: PageContext;
  /** The addresses and numbers told of the change, as the person writes them. */
  told: string[];
}

export function renderPasswordChangedPage(p: PasswordChangedProps): string {
  const { t, locale } = p.page;
  const told = new Intl.ListFormat(locale, { type: 'conjunction' }).format(p.told);
  return renderDocument(
    <Layout page={p.page} title={t('account.changed_title')}>
      <h1>{t('account.changed_title')}</h1>
      <p role="status">
        {p.told.length > 0
          ? `${t('account.changed_lead')} ${t('account.changed_told', { destinations: told })}`
          : t('account.changed_lead')}
      </p>
      <AccountNav page={p.page} />
    </Layout>,
  );
}

/**
 * An account page opened without a login. The account pages take the single sign-on session of a
 * login made for an app: vakt is no client of its own, so it cannot start a login here, and says
 * where to log in instead.
 */
export function renderLoginRequiredPage(p: {
  page: PageContext;
  helpHref: string;
  helpTitle: string;
}): string {
  const { t } = p.page;
  return renderDocument(
    <Layout page={p.page} title={t('account.login_required_title')}>
      <h1>{t('account.login_required_title')}</h1>
      <p id="login-required">{t('account.login_required', { tenant: p.page.tenantName })}</p>
      <p>
        <a href={p.helpHref} id="login-help">
          {p.helpTitle}
        </a>
      </p>
    </Layout>,
  );
}

/** A session on the sessions page: `ref` names it in the form (a keyed hash, not its id). */
export interface SessionListing {
  ref: string;
  current: boolean;
  loginMs: number;
  /** The names of the clients it signed in to. */
  apps: string[];
}

/** An app holding a refresh token (offline access): `ref` names its grant in the form. */
export interface AppListing {
  ref: string;
  name: string;
  sinceMs: number;
}

/**
 * What the last POST did: `ended` sessions, `one` when one was chosen; or the app whose access
 * was removed (undefined when it had none any more).
 */
export type SessionsNotice = { ended: number; one?: boolean } | { removed: string | undefined };

export interface SessionsPageProps extends FormError {
  page: PageContext;
  action: string;
  csrf: string;
  sessions: SessionListing[];
  apps: AppListing[];
  now: number;
  notice?: SessionsNotice;
}

/** "5 minutes ago", "for 3 døgn siden", "nu": how long ago, in the page's language. */
function ago(locale: string, thenMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  if (seconds < 60) return format.format(0, 'second');
  if (seconds < 3600) return format.format(-Math.floor(seconds / 60), 'minute');
  if (seconds < 86_400) return format.format(-Math.floor(seconds / 3600), 'hour');
  return format.format(-Math.floor(seconds / 86_400), 'day');
}

function noticeText(page: PageContext, notice: SessionsNotice): string {
  if ('removed' in notice)
    return notice.removed
      ? page.t('sessions.app_removed', { app: notice.removed })
      : page.t('sessions.app_already_removed');
  if (notice.one) return page.t(notice.ended > 0 ? 'sessions.ended_one' : 'sessions.already_ended');
  if (notice.ended === 0) return page.t('sessions.none_other');
  if (notice.ended === 1) return page.t('sessions.ended_one');
  return page.t('sessions.ended_many', { n: String(notice.ended) });
}

export function renderSessionsPage(p: SessionsPageProps): string {
  const { t, locale } = p.page;
  const others = p.sessions.filter((s) => !s.current).length;
  const list = new Intl.ListFormat(locale, { type: 'conjunction' });
  return renderDocument(
    <Layout page={p.page} title={t('sessions.title')}>
      <h1>{t('sessions.title')}</h1>
      <ErrorMessage page={p.page} error={p.error} vars={p.errorVars} />
      {p.notice ? <p role="status">{noticeText(p.page, p.notice)}</p> : null}
      <p>{t('sessions.lead')}</p>
      <form method="post" action={p.action} novalidate>
        <Csrf value={p.csrf} />
        {/* Enter in the password field would press the first button, one session's "Log out":
            a disabled first button makes Enter do nothing (HTML's implicit submission), so the
            person chooses what ends. */}
        <button type="submit" disabled hidden />
        {others > 0 || p.apps.length > 0 ? (
          <>
            <p>{t('sessions.password_hint')}</p>
            <CurrentPasswordField page={p.page} error={p.error} focus={Boolean(p.error)} />
          </>
        ) : null}
        <ul class="sessions">
          {p.sessions.map((s, index) => (
            <li>
              {/* Each "Log out" is described by its entry, so a screen reader says which one it ends. */}
              <span id={`session-${index}`}>
                <strong>{t(s.current ? 'sessions.this_browser' : 'sessions.other_browser')}</strong>
                <br />
                {t('sessions.logged_in', { when: ago(locale, s.loginMs, p.now) })}
                {s.apps.length > 0 ? (
                  <>
                    <br />
                    {t('sessions.apps', { apps: list.format(s.apps) })}
                  </>
                ) : null}
              </span>
              <br />
              {s.current ? (
                t('sessions.this_one_hint')
              ) : (
                <button type="submit" name="end" value={s.ref} aria-describedby={`session-${index}`}>
                  {t('sessions.end_one')}
                </button>
              )}
            </li>
          ))}
        </ul>
        {others > 0 ? (
          <button type="submit" name="end" value="others">
            {t('sessions.end_others')}
          </button>
        ) : (
          <p>{t('sessions.none_other')}</p>
        )}
        {p.apps.length > 0 ? (
          <>
            <h2>{t('sessions.apps_title')}</h2>
            <p>{t('sessions.apps_lead')}</p>
            <ul class="sessions">
              {p.apps.map((app, index) => (
                <li>
                  <span id={`app-${index}`}>
                    <strong>{app.name}</strong>
                    <br />
                    {t('sessions.app_since', { when: ago(locale, app.sinceMs, p.now) })}
                  </span>
                  <br />
                  <button type="submit" name="end" value={app.ref} aria-describedby={`app-${index}`}>
                    {t('sessions.app_remove')}
                  </button>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </form>
      <AccountNav page={p.page} current="sessions" />
    </Layout>,
  );
}
