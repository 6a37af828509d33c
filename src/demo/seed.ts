// The development demo: a tenant `demo`, two first-party demo apps and a demo account.

import type { Core } from '../composition.js';
import { type DeploymentConfig, tenantDefaults } from '../config/schema.js';

export const DEMO_TENANT = 'demo';
export const DEMO_EMAIL = 'demo@vakt.example';
export const DEMO_PHONE = '+4791234567';
export const DEMO_COUNTRY = 'NO';
export const DEMO_PASSWORD = 'vakt-demo-passord';
export const DEMO_APPS = [
  { key: 'a', name: 'Avisa (demo app A)' },
  { key: 'b', name: 'Butikken (demo app B)' },
] as const;

export function demoClientSecret(core: Pick<Core, 'secrets'>, app: string): string {
  return core.secrets.mac('cookies', `demo-client-secret:${app}`);
}

export function demoConfig(
  core: Pick<Core, 'secrets'>,
  publicUrl: string,
): DeploymentConfig['tenants'][number] {
  return {
    slug: DEMO_TENANT,
    displayName: 'vakt demo',
    ...tenantDefaults(),
    defaultCountry: DEMO_COUNTRY,
    support: { email: 'support@vakt.example', phone: '+47 800 00 000' },
    clients: DEMO_APPS.map((app) => ({
      id: `demo-app-${app.key}`,
      name: app.name,
      secret: demoClientSecret(core, app.key),
      redirectUris: [`${publicUrl}/demo/${app.key}/callback`],
      postLogoutRedirectUris: [`${publicUrl}/demo/${app.key}/`],
      backchannelLogoutUri: `${publicUrl}/demo/${app.key}/backchannel-logout`,
      firstParty: true,
      tokenLifetimes: {
        accessToken: 3600,
        idToken: 3600,
        refreshToken: 14 * 24 * 3600,
        refreshTokenAbsolute: 365 * 24 * 3600,
        authorizationCode: 60,
      },
    })),
  };
}

/** Applies the demo tenant (beside any configured ones) and creates the demo account once. */
export async function seedDemo(
  core: Core,
  publicUrl: string,
  extra: DeploymentConfig = { tenants: [] },
): Promise<void> {
  await core.tenants.applyDeploymentConfig({
    tenants: [demoConfig(core, publicUrl), ...extra.tenants.filter((t) => t.slug !== DEMO_TENANT)],
  });
  const existing = await core.repos.accounts.findAccountIdByVerifiedIdentifier(
    DEMO_TENANT,
    'email',
    DEMO_EMAIL,
  );
  if (!existing) {
    await core.accounts.createAccount({
      tenant: DEMO_TENANT,
      defaultCountry: DEMO_COUNTRY,
      emails: [DEMO_EMAIL],
      phones: [DEMO_PHONE],
      password: DEMO_PASSWORD,
      name: 'Kari Nordmann',
      verified: true,
    });
  }
}
