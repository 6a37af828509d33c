// The hosted pages' journeys, walked as a person without JavaScript would, for tests that act
// at one step of them: the login page, sign-up, the password change while logged in, and a
// reset proved with a code, up to the form that sets the new password.
import assert from 'node:assert/strict';
import { alertText, formAction, formField, type Response, type UserAgent } from './http-client.js';
import { authorizationUrl, logInThroughPage } from './login.js';
import type { Mailbox } from './mailbox.js';

/** The login page of the tenant at `issuer`, for the test client. */
export async function loginPage(agent: UserAgent, issuer: string): Promise<Response> {
  const page = await agent.follow(authorizationUrl(issuer), new URL(issuer).origin);
  assert.equal(page.status, 200, `expected the login page, got ${page.status}`);
  return page;
}

/** Submits the form of `page` whose action contains `contains`, with its CSRF token. */
export function submitForm(
  agent: UserAgent,
  page: Response,
  contains: string,
  form: Record<string, string>,
): Promise<Response> {
  const action = new URL(formAction(page.body, contains), page.url).href;
  return agent.request(action, { form: { csrf: formField(page.body, 'csrf'), ...form } });
}

/** The sign-up page, through the login page's link. */
export async function signupPage(agent: UserAgent, issuer: string): Promise<Response> {
  const login = await loginPage(agent, issuer);
  const link = /href="([^"]*\/signup)" id="create-account"/.exec(login.body);
  assert.ok(link, 'the login page links to sign-up');
  const page = await agent.request(new URL(link[1]!, login.url).href);
  assert.equal(page.status, 200);
  return page;
}

/**
 * Logs `agent` in and opens the page that changes the password; answers a function that sends
 * that form with the current password and a new one.
 */
export async function passwordChange(
  agent: UserAgent,
  issuer: string,
  credentials: { identifier: string; password: string },
): Promise<(current: string, next: string) => Promise<Response>> {
  await logInThroughPage(agent, authorizationUrl(issuer), credentials);
  const url = `${issuer}/account/password`;
  const page = await agent.request(url);
  assert.equal(page.status, 200);
  return (current, next) =>
    agent.request(url, {
      form: { csrf: formField(page.body, 'csrf'), current_password: current, password: next },
    });
}

/**
 * "Forgot your password?" for `email`, the code sent to its first choice read from `mailbox`
 * and typed in; answers a function that sends the form setting the new password.
 */
export async function provedReset(
  agent: UserAgent,
  issuer: string,
  mailbox: Mailbox,
  email: string,
): Promise<(password: string) => Promise<Response>> {
  const login = await loginPage(agent, issuer);
  const link = /href="([^"]*\/forgot)" id="forgot-password"/.exec(login.body);
  assert.ok(link, 'the login page links to "Forgot your password?"');
  const forgot = await agent.request(new URL(link[1]!, login.url).href);
  const choices = await submitForm(agent, forgot, '/forgot', { identifier: email });
  assert.equal(choices.status, 200, alertText(choices));
  const sent = await submitForm(agent, choices, '/forgot/send', {
    state: formField(choices.body, 'state'),
    choice: '0',
  });
  assert.equal(sent.status, 303, alertText(sent));
  const codePage = await agent.request(new URL(sent.headers.get('location')!, sent.url).href);
  const newPassword = await submitForm(agent, codePage, '/forgot/code', { code: mailbox.code(email) });
  assert.equal(newPassword.status, 200, alertText(newPassword));
  return (password) =>
    submitForm(agent, newPassword, '/forgot/password', {
      proof: formField(newPassword.body, 'proof'),
      password,
    });
}
