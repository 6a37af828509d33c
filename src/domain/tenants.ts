// Tenants and clients as configuration: `applyDeploymentConfig` makes the database say what the
// file says, and is idempotent (applying the same file twice changes nothing).

import { ConfigError } from '../config/errors.js';
import {
  type ClientConfig,
  type DeploymentConfig,
  type TenantConfig,
  tenantSchema,
} from '../config/schema.js';
import type { Repositories } from '../store/index.js';
import type { Clock } from './clock.js';
import type { SecretBox } from './secrets.js';

export type TenantSettings = Omit<TenantConfig, 'clients'>;
export type ClientSettings = Omit<ClientConfig, 'secret' | 'secretEnv'>;

export interface RegisteredClient extends ClientSettings {
  secret?: string;
}

export interface TenantRecord {
  settings: TenantSettings;
  clients: RegisteredClient[];
}

export interface ApplyReport {
  tenant: string;
  tenantChange: 'created' | 'updated' | 'unchanged';
  clients: { added: string[]; updated: string[]; removed: string[] };
}

export interface TenantService {
  applyDeploymentConfig(config: DeploymentConfig, env?: NodeJS.ProcessEnv): Promise<ApplyReport[]>;
  loadTenant(slug: string): Promise<TenantRecord | undefined>;
  listTenantSlugs(): Promise<string[]>;
}

export function createTenantService(deps: {
  repos: Repositories;
  clock: Clock;
  secrets: SecretBox;
}): TenantService {
  const { repos, clock, secrets } = deps;

  function resolveSecret(tenant: string, client: ClientConfig, env: NodeJS.ProcessEnv): string | undefined {
    if (!client.secretEnv) return client.secret;
    const value = env[client.secretEnv];
    if (!value || value.length < 32) {
      throw new ConfigError(
        `tenants[${tenant}].clients[${client.id}].secretEnv: environment variable ${client.secretEnv} must hold at least 32 characters`,
      );
    }
    return value;
  }

  return {
    async applyDeploymentConfig(config, env = process.env) {
      // Resolve every secret first so a missing one changes nothing at all.
      const prepared = config.tenants.map((tenant) => ({
        tenant,
        clients: tenant.clients.map((client) => ({
          client,
          secret: resolveSecret(tenant.slug, client, env),
        })),
      }));
      const reports: ApplyReport[] = [];
      for (const { tenant, clients } of prepared) {
        const now = clock.now();
        const { clients: _clients, ...settings } = tenant;
        const tenantChange = await repos.tenants.upsertTenant(
          {
            slug: tenant.slug,
            display_name: tenant.displayName,
            settings: JSON.stringify(settings),
            updated_at: now,
          },
          now,
        );
        const rows = clients.map(({ client, secret }) => {
          const { secret: _s, secretEnv: _e, ...clientSettings } = client;
          return {
            client_id: client.id,
            settings: JSON.stringify(clientSettings),
            secret_encrypted: secret === undefined ? null : secrets.encrypt(secret),
            updated_at: now,
          };
        });
        const plain = new Map(clients.map(({ client, secret }) => [client.id, secret]));
        // Re-encrypting an unchanged secret would make every apply look like a change.
        const clientChanges = await repos.tenants.replaceClients(
          tenant.slug,
          rows,
          (stored, clientId) => secrets.decrypt(stored) === plain.get(clientId),
        );
        if (
          tenantChange === 'unchanged' &&
          (clientChanges.added.length || clientChanges.updated.length || clientChanges.removed.length)
        ) {
          // Touch the tenant so other processes notice and reload its clients.
          await repos.tenants.upsertTenant(
            {
              slug: tenant.slug,
              display_name: tenant.displayName,
              settings: JSON.stringify(settings),
              updated_at: now,
            },
            now,
          );
        }
        reports.push({ tenant: tenant.slug, tenantChange, clients: clientChanges });
      }
      return reports;
    },
    async loadTenant(slug) {
      const row = await repos.tenants.findTenant(slug);
      if (!row) return undefined;
      const clients = await repos.tenants.listClients(slug);
      return {
        settings: readTenantSettings(row.settings),
        clients: clients.map((c) => ({
          ...(JSON.parse(c.settings) as ClientSettings),
          ...(c.secret_encrypted ? { secret: secrets.decrypt(c.secret_encrypted) } : {}),
        })),
      };
    },
    async listTenantSlugs() {
      return (await repos.tenants.listTenants()).map((t) => t.slug);
    },
  };
}

/** Stored settings pass through the schema again, so a row written before a field existed gets its default. */
function readTenantSettings(json: string): TenantSettings {
  const { clients: _clients, ...settings } = tenantSchema.parse({ ...JSON.parse(json), clients: [] });
  return settings;
}
