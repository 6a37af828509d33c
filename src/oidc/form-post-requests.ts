// A relying party may send the authentication request (OpenID Connect Core 3.1.2.1) and the
// logout request (RP-Initiated Logout 1.0, section 2) as a form POST, and the provider must take
// both. The browser brings such a POST from the relying party's site, so it carries none of
// vakt's SameSite=Lax cookies, and the provider would not know the person is logged in. vakt
// answers it with 303 to the same endpoint by GET, the form's parameters as the query: that GET
// is a top-level navigation, which carries the cookies, so single sign-on and logout work as for
// a GET request. (oidc-provider's own POST support needs SameSite=None cookies instead, which the
// browser would send with any other site's requests to vakt.)
import type { IncomingMessage } from 'node:http';

/** The endpoints (paths under the issuer) that take a form POST this way. */
export const FORM_POST_ENDPOINTS: ReadonlySet<string> = new Set(['/auth', '/session/end']);

/**
 * The largest form taken. Its parameters become the query of the GET, which vakt reads with
 * Node's 16 KiB limit on a request's head, beside the person's cookies.
 */
export const FORM_POST_LIMIT = 8 * 1024;

export type FormPostAnswer =
  | { kind: 'redirect'; location: string }
  | { kind: 'refused'; status: 413 | 415; error: 'request.too_large' | 'request.invalid' }
  | { kind: 'gone' };

/**
 * Where a form POST to `endpoint` (a full URL, without query) is sent on by GET, or why it is
 * refused: a body that is not a URL-encoded form (415), or one over the limit (413).
 */
export async function answerFormPost(request: IncomingMessage, endpoint: string): Promise<FormPostAnswer> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    return { kind: 'refused', status: 415, error: 'request.invalid' };
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > FORM_POST_LIMIT) return { kind: 'refused', status: 413, error: 'request.too_large' };
  const body = await readLimited(request, FORM_POST_LIMIT);
  if (body === 'too_large') return { kind: 'refused', status: 413, error: 'request.too_large' };
  if (body === 'gone') return { kind: 'gone' };
  // Parsed and written again: what reaches the Location header is percent-encoded throughout.
  const query = new URLSearchParams(body).toString();
  return { kind: 'redirect', location: query ? `${endpoint}?${query}` : endpoint };
}

/** The body as text, 'too_large' past `limit` bytes (the rest is left unread), 'gone' if the client left. */
function readLimited(request: IncomingMessage, limit: number): Promise<string | 'too_large' | 'gone'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: string | 'too_large' | 'gone') => {
      request.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.pause();
        finish('too_large');
      } else chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks).toString('utf8'));
    const onGone = () => finish('gone');
    request.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}
