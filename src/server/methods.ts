// Which methods a path answers, for the two answers RFC 9110 ties to that list: a 405 names
// them in Allow (15.5.6), and OPTIONS, the method that asks for them, gets them (9.3.7). The
// hosted pages' table is filled from Fastify's routes as they are registered; the provider's
// endpoints come from ENDPOINT_METHODS (src/oidc/provider.ts).

/** The order Allow lists methods in, whichever table they came from. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * The Allow header for a path that answers `methods`: HEAD wherever GET is (both routers answer
 * it), and OPTIONS, which every known path answers with this header.
 */
export function allowHeader(methods: Iterable<string>): string {
  const all = new Set([...methods].map((m) => m.toUpperCase()));
  if (all.has('GET')) all.add('HEAD');
  all.add('OPTIONS');
  return [...all].sort((a, b) => rank(a) - rank(b)).join(', ');
}

function rank(method: string): number {
  const at = ORDER.indexOf(method);
  return at < 0 ? ORDER.length : at;
}

/**
 * Routes by path pattern (`/t/:tenant/help`), and the methods each was registered with. A path
 * whose parameter is longer than the router takes (`maxParamLength`, counted decoded, as the
 * router does) is no route's: the router never hands it to one, so no method is allowed there.
 */
export class MethodTable {
  private readonly routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  constructor(private readonly maxParamLength: number) {}

  /** A route with parameters (`:name`); one with a wildcard says nothing about a path's methods. */
  add(url: string, methods: string | string[]): void {
    if (url.includes('*')) return;
    let route = this.routes.get(url);
    if (!route) {
      const source = url
        .split('/')
        .map((part) => (part.startsWith(':') ? '([^/]+)' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      route = { pattern: new RegExp(`^${source}$`), methods: new Set() };
      this.routes.set(url, route);
    }
    for (const method of [methods].flat()) route.methods.add(method.toUpperCase());
  }

  /** The Allow header for `path` (no query), or undefined where no route has that path. */
  allowFor(path: string): string | undefined {
    const methods = new Set<string>();
    for (const { pattern, methods: registered } of this.routes.values()) {
      const params = pattern.exec(path)?.slice(1);
      if (!params?.every((param) => decodedLength(param) <= this.maxParamLength)) continue;
      for (const method of registered) methods.add(method);
    }
    return methods.size > 0 ? allowHeader(methods) : undefined;
  }
}

function decodedLength(param: string): number {
  try {
    return decodeURIComponent(param).length;
  } catch {
    return param.length;
  }
}
