// Builds each tenant's provider on first use and rebuilds it when the configuration or the
// signing keys change, whichever process changed them (`vakt apply`, `vakt keys rotate`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { SigningKeyService } from '../domain/signing-keys.js';
import type { RegisteredClient, TenantService, TenantSettings } from '../domain/tenants.js';
import type { TenantRepository } from '../store/tenant-repository.js';
import { createTenantProvider, type ProviderPages, type TenantProviderDeps } from './provider.js';

export interface TenantRuntime {
  slug: string;
  issuer: string;
  settings: TenantSettings;
  clients: Map<string, RegisteredClient>;
  provider: Provider;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface TenantRegistry {
  getTenant(slug: string): Promise<TenantRuntime | undefined>;
  /** Drops cached providers if anything changed in the database since the last look. */
  refresh(): Promise<boolean>;
  startWatching(intervalSeconds: number): void;
  stopWatching(): void;
}

export function createTenantRegistry(deps: {
  publicUrl: () => string;
  tenants: TenantService;
  tenantRepo: TenantRepository;
  keys: SigningKeyService;
  providerDeps: Omit<TenantProviderDeps, 'issuer' | 'tenant' | 'clients' | 'jwks' | 'pages'>;
  pages: ProviderPages;
  onError?: (error: unknown) => void;
}): TenantRegistry {
  let cache = new Map<string, Promise<TenantRuntime | undefined>>();
  let version: string | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function build(slug: string): Promise<TenantRuntime | undefined> {
    const record = await deps.tenants.loadTenant(slug);
    if (!record) return undefined;
    await deps.keys.ensureSigningKeys(slug);
    const jwks = await deps.keys.loadJwks(slug);
    const issuer = `${deps.publicUrl()}/t/${slug}`;
    const provider = createTenantProvider({
      ...deps.providerDeps,
      issuer,
      tenant: record.settings,
      clients: record.clients,
      jwks,
      pages: deps.pages,
    });
    const callback = provider.callback();
    return {
      slug,
      issuer,
      settings: record.settings,
      clients: new Map(record.clients.map((c) => [c.id, c])),
      provider,
      handle: callback as unknown as TenantRuntime['handle'],
    };
  }

  const registry: TenantRegistry = {
    async getTenant(slug) {
      if (version === undefined) version = await deps.tenantRepo.readStateVersion();
      let entry = cache.get(slug);
      if (!entry) {
        const built = build(slug);
        const map = cache;
        map.set(slug, built);
        // Neither a failed build nor an unknown slug is kept: the next request looks again, and
        // requests for made-up tenants (/t/<anything>/) cannot fill the cache.
        const forget = () => {
          if (map.get(slug) === built) map.delete(slug);
        };
        built.then((runtime) => runtime ?? forget(), forget);
        entry = built;
      }
      return entry;
    },
    async refresh() {
      const current = await deps.tenantRepo.readStateVersion();
      if (current === version) return false;
      version = current;
      cache = new Map();
      return true;
    },
    startWatching(intervalSeconds) {
      timer = setInterval(() => {
        registry.refresh().catch((error) => deps.onError?.(error));
      }, intervalSeconds * 1000);
      timer.unref();
    },
    stopWatching() {
      if (timer) clearInterval(timer);
    },
  };
  return registry;
}
