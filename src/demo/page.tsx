// The demo app's one page: who is logged in, the ID token's claims and the UserInfo answer.
import { displayIdentifier } from '../domain/identifiers.js';
import type { PageContext } from '../ui/layout.js';
import { Layout, renderDocument } from '../ui/layout.js';
import type { MessageKey } from '../ui/messages/en.js';

/**
 * Why vakt's answer at the callback logged no one in: the login was cancelled, no login was
 * started here (a reload, another browser), the answer is not to this browser's login, or it
 * is not a well-formed answer.
 */
export type CallbackProblem = 'cancelled' | 'no_login' | 'wrong_state' | 'malformed';

const PROBLEM_TEXT: Record<CallbackProblem, MessageKey> = {
  cancelled: 'demo.callback_cancelled',
  no_login: 'demo.callback_no_login',
  wrong_state: 'demo.callback_wrong_state',
  malformed: 'demo.callback_malformed',
};

export function renderDemoPage(p: {
  page: PageContext;
  appName: string;
  base: string;
  otherName: string;
  otherUrl: string;
  claims?: Record<string, unknown> | undefined;
  userinfo?: Record<string, unknown> | undefined;
  credentials: { email: string; password: string };
  /** The demo tenant's default country: its numbers are shown as people there write them. */
  country: string;
  /** Shown at the callback when vakt's answer logged no one in, with a way to try again. */
  problem?: CallbackProblem;
}): string {
  const { t } = p.page;
  const page = { ...p.page, tenantName: p.appName };
  const known = { ...p.claims, ...p.userinfo };
  const who = p.claims ? loggedInAs(known, p.country) : undefined;
  return renderDocument(
    <Layout page={page} title={t('demo.title')}>
      <h1>{p.appName}</h1>
      {p.problem ? (
        // A cancelled login is news, not a fault: a status. The others are alerts.
        <p
          id="callback-problem"
          data-problem={p.problem}
          role={p.problem === 'cancelled' ? 'status' : 'alert'}
          class={p.problem === 'cancelled' ? undefined : 'error'}
        >
          {t(PROBLEM_TEXT[p.problem])}{' '}
          <a id="try-again" href={`${p.base}login?lang=${p.page.locale}`}>
            {t('demo.try_again')}
          </a>
        </p>
      ) : null}
      <p>{t('demo.lead')}</p>
      {who ? (
        <>
          <p role="status" id="signed-in">
            {t('demo.signed_in_as', { who })}
          </p>
          <h2>{t('demo.id_token')}</h2>
          <pre id="claims">{JSON.stringify(p.claims, null, 2)}</pre>
          <h2>{t('demo.userinfo')}</h2>
          <pre id="userinfo">{JSON.stringify(p.userinfo, null, 2)}</pre>
          <p>
            <a id="change-password" href={`/t/demo/account/password?lang=${p.page.locale}`}>
              {t('account.password_title')}
            </a>
            {' · '}
            <a id="sessions" href={`/t/demo/account/sessions?lang=${p.page.locale}`}>
              {t('sessions.title')}
            </a>
          </p>
          <form method="post" action={`${p.base}logout`}>
            <button type="submit">{t('demo.logout')}</button>
          </form>
        </>
      ) : (
        <>
          <p id="signed-out">{t('demo.not_signed_in', { app: p.appName })}</p>
          <p class="hint">{t('demo.credentials', p.credentials)}</p>
          <p>
            <a id="login" href={`${p.base}login?lang=${p.page.locale}`}>
              {t('demo.login')}
            </a>
          </p>
          <p>
            <a id="signup" href={`${p.base}signup?lang=${p.page.locale}`}>
              {t('demo.signup')}
            </a>
          </p>
          <p class="hint">
            {t('demo.outbox')}{' '}
            <a id="outbox" href={`/dev/outbox?lang=${p.page.locale}`}>
              /dev/outbox
            </a>
          </p>
        </>
      )}
      <p>
        <a href={p.otherUrl}>{t('demo.open_other', { other: p.otherName })}</a>
      </p>
    </Layout>,
  );
}

/** Who is logged in, as the person would write it: the email address, else the number. */
function loggedInAs(known: Record<string, unknown>, country: string): string {
  if (typeof known.email === 'string') return known.email;
  if (typeof known.phone_number === 'string') return displayIdentifier('phone', known.phone_number, country);
  return String(known.sub);
}
