// The deployment's configuration as code: tenants and their clients. One zod schema gives
// the types, the validation at start-up (with the failing field named) and docs/configuration.md.
import { z } from 'zod';

export const SUPPORTED_LOCALES = ['nb', 'sv', 'en'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

const slug = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and hyphens, 1-63 characters');

// Every client is a web client (oidc-provider refuses other schemes for those when the tenant is
// first used), and a support URL is rendered as a link: javascript: or data: must never pass.
const absoluteUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.hash;
  } catch {
    return false;
  }
}, 'an http(s) URL without a fragment');

const seconds = z
  .number()
  .int()
  .positive()
  .max(10 * 365 * 24 * 3600);

export const tokenLifetimesSchema = z
  .object({
    accessToken: seconds.default(3600).describe('Access token lifetime in seconds.'),
    idToken: seconds.default(3600).describe('ID token lifetime in seconds.'),
    refreshToken: seconds
      .default(14 * 24 * 3600)
      .describe('Refresh token lifetime in seconds (each rotation starts a new one).'),
    authorizationCode: seconds.max(600).default(60).describe('Authorization code lifetime in seconds.'),
  })
  .strict();

export const clientSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{1,128}$/, 'letters, digits and . _ ~ -')
      .describe('The client_id.'),
    name: z.string().min(1).max(200).optional().describe('Shown to people on consent and logout pages.'),
    secret: z
      .string()
      .min(32, 'at least 32 characters')
      .optional()
      .describe(
        'Client secret of a confidential client. Omit for a public client (PKCE with S256 required).',
      ),
    secretEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .optional()
      .describe('Name of an environment variable holding the secret, instead of `secret`.'),
    redirectUris: z.array(absoluteUrl).min(1).describe('Exact redirect URIs; nothing else is accepted.'),
    postLogoutRedirectUris: z
      .array(absoluteUrl)
      .default([])
      .describe('Where RP-initiated logout may return to.'),
    firstParty: z.boolean().default(false).describe('A first-party client is not shown a consent screen.'),
    backchannelLogoutUri: absoluteUrl.optional().describe('Receives a logout token when the session ends.'),
    tokenLifetimes: tokenLifetimesSchema
      .default(tokenLifetimesSchema.parse({}))
      .describe('Token lifetimes for this client.'),
  })
  .strict()
  .refine((client) => !(client.secret && client.secretEnv), {
    message: 'give either secret or secretEnv, not both',
    path: ['secretEnv'],
  });

export const supportContactsSchema = z
  .object({
    email: z.email().optional().describe('Support e-mail address.'),
    phone: z.string().max(40).optional().describe('Support phone number, as people should dial it.'),
    url: absoluteUrl.optional().describe('Support web page.'),
  })
  .strict();

export const IDENTIFIER_KINDS = ['email', 'phone'] as const;

const smtpUrl = z.string().refine((value) => {
  try {
    return ['smtp:', 'smtps:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'an smtp:// or smtps:// URL');

export const deliverySchema = z
  .object({
    email: z
      .object({
        smtpUrl: smtpUrl
          .optional()
          .describe('SMTP server for this tenant, e.g. `smtps://user:pass@mail.example.com`.'),
        smtpUrlEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/)
          .optional()
          .describe('Name of an environment variable holding `smtpUrl` (keeps passwords out of the file).'),
        from: z
          .string()
          .min(3)
          .max(320)
          .optional()
          .describe('Sender, e.g. `"Acme ID" <id@acme.example>`; defaults to `VAKT_MAIL_FROM`.'),
      })
      .strict()
      .optional()
      .describe('Overrides `VAKT_SMTP_URL` / `VAKT_MAIL_FROM` for this tenant.'),
    sms: z
      .object({
        webhookUrls: z
          .array(absoluteUrl)
          .min(1)
          .describe('SMS gateways, tried in order until one answers 2xx.'),
      })
      .strict()
      .optional()
      .describe('Overrides `VAKT_SMS_WEBHOOK_URL` for this tenant.'),
  })
  .strict();

export const tenantSchema = z
  .object({
    slug: slug.describe('Identifies the tenant; the issuer is `<public URL>/t/<slug>`.'),
    displayName: z.string().min(1).max(200).describe('Shown on every hosted page.'),
    locales: z
      .array(z.enum(SUPPORTED_LOCALES))
      .min(1)
      .default(['nb', 'sv', 'en'])
      .describe('Languages offered; the first is the default.'),
    defaultCountry: z
      .string()
      .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as NO or SE')
      .default('NO')
      .describe('Country assumed for phone numbers typed without a prefix.'),
    support: supportContactsSchema.default({}).describe('Shown with unexpected errors.'),
    identifierKinds: z
      .array(z.enum(IDENTIFIER_KINDS))
      .min(1)
      .default(['email', 'phone'])
      .describe('Which identifiers people sign up and log in with: `email`, `phone` or both.'),
    signup: z
      .boolean()
      .default(true)
      .describe('Whether people may create an account from the login page (and with `prompt=create`).'),
    delivery: deliverySchema
      .default({})
      .describe('How codes reach people; by default the deployment-wide settings from the environment.'),
    clients: z
      .array(clientSchema)
      .default([])
      .describe("The tenant's relying parties; applying the file makes this the whole list."),
  })
  .strict()
  .superRefine((tenant, ctx) => {
    const seen = new Set<string>();
    tenant.clients.forEach((client, index) => {
      if (seen.has(client.id)) {
        ctx.addIssue({
          code: 'custom',
          message: `client id "${client.id}" appears twice`,
          path: ['clients', index, 'id'],
        });
      }
      seen.add(client.id);
    });
  });

export const deploymentConfigSchema = z
  .object({
    tenants: z
      .array(tenantSchema)
      .default([])
      .describe('Tenants to create or update. Tenants not in the file are left as they are.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.tenants.forEach((tenant, index) => {
      if (seen.has(tenant.slug)) {
        ctx.addIssue({
          code: 'custom',
          message: `tenant "${tenant.slug}" appears twice`,
          path: ['tenants', index, 'slug'],
        });
      }
      seen.add(tenant.slug);
    });
  });

export type ClientConfig = z.infer<typeof clientSchema>;
export type TenantConfig = z.infer<typeof tenantSchema>;
export type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;
export type TokenLifetimes = z.infer<typeof tokenLifetimesSchema>;
export type DeliveryConfig = z.infer<typeof deliverySchema>;
export type IdentifierKindName = (typeof IDENTIFIER_KINDS)[number];
