// The repositories over one database, created together.
import { createAccountRepository } from './account-repository.js';
import { createAuditRepository } from './audit-repository.js';
import { createCodePlaceRepository } from './code-place-repository.js';
import type { Store } from './database.js';
import { createOidcModelRepository } from './oidc-model-repository.js';
import { createOneTimeCodeRepository } from './one-time-code-repository.js';
import { createSigningKeyRepository } from './signing-key-repository.js';
import { createTenantRepository } from './tenant-repository.js';
import { createThrottleRepository } from './throttle-repository.js';

export function createRepositories(store: Store) {
  return {
    tenants: createTenantRepository(store.db),
    accounts: createAccountRepository(store.db),
    oidcModels: createOidcModelRepository(store.db),
    signingKeys: createSigningKeyRepository(store.db),
    audit: createAuditRepository(store.db),
    codes: createOneTimeCodeRepository(store.db),
    throttles: createThrottleRepository(store.db, store.dialect),
    places: createCodePlaceRepository(store.db, store.dialect),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
export { type Dialect, openStore, type Store } from './database.js';
export { migrateTo, migrateToLatest } from './migrations.js';
