// Headers on every response: pages cannot be framed (clickjacking on the login form), no
// referrer leaks codes or states, nothing is loaded from a third party.
import type { ServerResponse } from 'node:http';

// No form-action: Chromium applies it to the redirect chain after a login POST, which ends
// at the client's redirect URI on another origin. oidc-provider adds the hash of its one inline
// script (the form_post auto-submit) to script-src itself (test/browser.form-post.test.ts).
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

export function setSecurityHeaders(res: ServerResponse, production: boolean): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  if (production) res.setHeader('strict-transport-security', 'max-age=63072000; includeSubDomains');
}
