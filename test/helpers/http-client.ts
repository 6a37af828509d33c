// A minimal user agent for HTTP tests: a cookie jar and manual redirects, so a test can walk
// a login exactly as a browser without JavaScript would, and stop at the relying party.
export interface Response {
  status: number;
  headers: Headers;
  body: string;
  url: string;
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  origin: string;
}

/** Sends one request and reads the whole answer; redirects are never followed. */
export type Transport = (
  url: URL,
  init: { method: string; headers: Record<string, string>; body: string | undefined },
) => Promise<{ status: number; headers: Headers; body: string }>;

/** The default transport: the platform's fetch, as a relying party's code would use it. */
export const fetchTransport: Transport = async (url, init) => {
  const response = await fetch(url, { ...init, redirect: 'manual' });
  return { status: response.status, headers: response.headers, body: await response.text() };
};

/**
 * The platform's fetch, whose requests in flight `cut()` aborts, closing their connections: a
 * person who closes the tab, or a proxy that gives up. Requests sent after a cut go on as usual.
 */
export function cuttableTransport(): { transport: Transport; cut(): void } {
  let controller = new AbortController();
  return {
    transport: async (url, init) => {
      const response = await fetch(url, { ...init, redirect: 'manual', signal: controller.signal });
      return { status: response.status, headers: response.headers, body: await response.text() };
    },
    cut() {
      controller.abort();
      controller = new AbortController();
    },
  };
}

export class UserAgent {
  private cookies: StoredCookie[] = [];
  /** Public origin -> where requests to it really go (a TLS-terminating load balancer's job). */
  private readonly routes = new Map<string, string>();
  constructor(
    private readonly extraHeaders: Record<string, string> = {},
    private readonly transport: Transport = fetchTransport,
  ) {}

  /** Sends requests for `publicOrigin` to `target`, keeping cookies under the public origin. */
  route(publicOrigin: string, target: string): this {
    this.routes.set(new URL(publicOrigin).origin, target);
    return this;
  }

  private cookieHeader(url: URL): string {
    return this.cookies
      .filter((c) => c.origin === url.origin && url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      let path = '/';
      let expired = false;
      for (const attribute of attributes) {
        const [key = '', val = ''] = attribute.trim().split('=');
        if (key.toLowerCase() === 'path') path = val;
        if (key.toLowerCase() === 'max-age' && Number(val) <= 0) expired = true;
        if (key.toLowerCase() === 'expires' && Date.parse(val) < Date.now()) expired = true;
      }
      this.cookies = this.cookies.filter(
        (c) => !(c.name === name && c.path === path && c.origin === url.origin),
      );
      if (!expired) this.cookies.push({ name, value, path, origin: url.origin });
    }
  }

  /** The Cookie header this agent would send to `url`. */
  cookiesFor(url: string): string {
    return this.cookieHeader(new URL(url));
  }

  cookieNames(): string[] {
    return this.cookies.map((c) => c.name);
  }

  /** Forgets session cookies, as a browser does when it is closed. Persistent ones stay. */
  dropCookies(predicate: (name: string) => boolean): void {
    this.cookies = this.cookies.filter((c) => !predicate(c.name));
  }

  async request(
    url: string,
    init: {
      method?: string;
      form?: Record<string, string>;
      /** A body as it is, with its content-type among `headers`; `form` is for a form. */
      body?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = { ...this.extraHeaders, ...init.headers };
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    let body = init.body;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const routed = this.routes.get(target.origin);
    const destination = routed ? new URL(target.pathname + target.search, routed) : target;
    const response = await this.transport(destination, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
    });
    this.store(target, response.headers);
    return { ...response, url: target.href };
  }

  /** Follows redirects until one leaves `origin` (or a page answers); returns the last response. */
  async follow(
    url: string,
    origin: string,
    init: Parameters<UserAgent['request']>[1] = {},
  ): Promise<Response> {
    let response = await this.request(url, init);
    for (let hops = 0; hops < 10; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return response;
      const next = new URL(location, response.url);
      if (next.origin !== origin) return response;
      response = await this.request(next.href);
    }
    throw new Error('too many redirects');
  }
}

export function formField(html: string, name: string): string {
  const match = new RegExp(`name="${name}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="${name}"`).exec(
    html,
  );
  if (!match) throw new Error(`no field ${name} in page`);
  return (match[1] ?? match[2] ?? '').replace(/&amp;/g, '&').replace(/&quot;/g, '"');
}

export function formAction(html: string, contains: string): string {
  const actions = [...html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  const action = actions.find((a) => a.includes(contains));
  if (!action) throw new Error(`no form posting to *${contains}* in page: ${actions.join(', ')}`);
  return action;
}

/** The text of a page's alert (the localised error message), without the help link after it. */
export function alertText(page: Pick<Response, 'body'>): string {
  const match = /role="alert"[^>]*>([^<]*)</.exec(page.body);
  return (match?.[1] ?? '')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .trim();
}
