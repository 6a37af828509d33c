// A relying party may send the authentication request (OpenID Connect Core 3.1.2.1) and the
// logout request (RP-Initiated Logout 1.0, section 2) as a form POST, and the provider must take
// both. The browser brings such a POST from the relying party's site, so it carries none of
// vakt's SameSite=Lax cookies, and the provider would not know the person is logged in. vakt
// answers it with 303 to the same endpoint by GET, the form's parameters as the query: that GET
// is a top-level navigation, which carries the cookies, so single sign-on and logout work as for
// a GET request. (oidc-provider's own POST support needs SameSite=None cookies instead, which the
// browser would send with any other site's requests to vakt.)
//
// Also the limits on request bodies that the server applies before the provider reads one: a
// body is measured by its Content-Length, or, sent chunked without one, counted as it arrives.
import { type IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** The endpoints (paths under the issuer) that take a form POST this way. */
export const FORM_POST_ENDPOINTS: ReadonlySet<string> = new Set(['/auth', '/session/end']);

/**
 * The largest form taken. Its parameters become the query of the GET, which vakt reads with
 * Node's 16 KiB limit on a request's head, beside the person's cookies.
 */
export const FORM_POST_LIMIT = 8 * 1024;

/**
 * The largest body any of the provider's endpoints takes (a pushed authorization request with a
 * request object is the largest there is). Below oidc-provider's own limit of 56 KiB, past which
 * it answers 400 "failed to parse the request body" rather than 413.
 */
export const PROVIDER_BODY_LIMIT = 48 * 1024;

export type FormPostAnswer =
  | { kind: 'redirect'; location: string }
  | { kind: 'refused'; status: 413 | 415; error: 'request.too_large' | 'request.invalid' }
  | { kind: 'gone' };

/** A body's media type, lower-cased and without parameters; '' when none is named. */
export function mediaTypeOf(headers: IncomingHttpHeaders): string {
  return (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Whether a body is a URL-encoded form: the only kind an HTML form without files sends. */
export function isFormBody(headers: IncomingHttpHeaders): boolean {
  return mediaTypeOf(headers) === 'application/x-www-form-urlencoded';
}

/** Whether the request's Content-Length says its body is larger than `limit`, before any of it is read. */
export function declaresMoreThan(headers: IncomingHttpHeaders, limit: number): boolean {
  return Number(headers['content-length'] ?? 0) > limit;
}

/**
 * Where a form POST to `endpoint` (a full URL, without query) is sent on by GET, or why it is
 * refused: a body that is not a URL-encoded form (415), or one over the limit (413).
 */
export async function answerFormPost(request: IncomingMessage, endpoint: string): Promise<FormPostAnswer> {
  if (!isFormBody(request.headers)) return { kind: 'refused', status: 415, error: 'request.invalid' };
  const body = await readBodyWithin(request, FORM_POST_LIMIT);
  if (body === 'too_large') return { kind: 'refused', status: 413, error: 'request.too_large' };
  if (body === 'gone') return { kind: 'gone' };
  // Parsed and written again: what reaches the Location header is percent-encoded throughout.
  const query = new URLSearchParams(body.toString('utf8')).toString();
  return { kind: 'redirect', location: query ? `${endpoint}?${query}` : endpoint };
}

/**
 * The body, or 'too_large' if it is over `limit` bytes: said by its Content-Length (nothing is
 * read) or, without one, counted as it arrives (the rest is left unread); 'gone' if the client left.
 */
export function readBodyWithin(
  request: IncomingMessage,
  limit: number,
): Promise<Buffer | 'too_large' | 'gone'> {
  if (declaresMoreThan(request.headers, limit)) return Promise.resolve('too_large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'too_large' | 'gone') => {
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
    const onEnd = () => finish(Buffer.concat(chunks, size));
    const onGone = () => finish('gone');
    request.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

/**
 * `request`, to be handed to a reader that reads its body itself (oidc-provider), if its body is
 * within `limit`, or why not. A declared Content-Length is checked here and held to by Node's
 * parser and by the reader; a chunked body has none, so it is read and counted here, and handed
 * on in a copy of the request.
 */
export async function boundedRequest(
  request: IncomingMessage,
  limit: number,
): Promise<IncomingMessage | 'too_large' | 'gone'> {
  if (declaresMoreThan(request.headers, limit)) return 'too_large';
  if (request.headers['transfer-encoding'] === undefined) return request;
  const body = await readBodyWithin(request, limit);
  return typeof body === 'string' ? body : withBody(request, body);
}

/**
 * A request like `request` whose body, already read from it, is `body`: for a reader further on
 * (oidc-provider) that reads the request's stream itself. Its Content-Length is the body's.
 */
function withBody(request: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(request.socket);
  const headers = { ...request.headers, 'content-length': String(body.length) };
  delete headers['transfer-encoding'];
  Object.assign(copy, {
    method: request.method,
    url: request.url,
    originalUrl: (request as { originalUrl?: string }).originalUrl,
    headers,
    rawHeaders: Object.entries(headers).flatMap(([name, value]) =>
      [value ?? []].flat().flatMap((one) => [name, one]),
    ),
    httpVersion: request.httpVersion,
    httpVersionMajor: request.httpVersionMajor,
    httpVersionMinor: request.httpVersionMinor,
    complete: true,
  });
  copy.push(body);
  copy.push(null);
  return copy;
}
