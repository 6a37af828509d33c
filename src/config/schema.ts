// The deployment's configuration as code: tenants and their clients. One zod schema gives
// the types, the validation at start-up (with the failing field named) and docs/configuration.md.
import { z } from 'zod';
import { HELP_TOPICS, isTopicSlug } from '../help/topics.js';

export const SUPPORTED_LOCALES = ['nb', 'sv', 'en'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

/** A tenant's slug: lower-case letters, digits and hyphens, 1-63 characters, no hyphen at either end. */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const slug = z.string().regex(SLUG_PATTERN, 'lower-case letters, digits and hyphens, 1-63 characters');

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

// A refresh token rotates at each use, and each new one may go unused for `refreshToken`; the
// chain started by one authorization ends `refreshTokenAbsolute` after it, used or not (ASVS
// 10.4.8). At most a year: a grant, which the chain's tokens need, lives a year from the login.
export const tokenLifetimesSchema = z
  .object({
    accessToken: seconds.default(3600).describe('Access token lifetime in seconds.'),
    idToken: seconds.default(3600).describe('ID token lifetime in seconds.'),
    refreshToken: seconds
      .default(14 * 24 * 3600)
      .describe(
        'Seconds a refresh token may go unused: each use returns a new one, which may go unused as long.',
      ),
    refreshTokenAbsolute: seconds
      .max(365 * 24 * 3600)
      .default(365 * 24 * 3600)
      .describe(
        'Seconds from the authorization after which its refresh tokens end, however often they are used; then the person signs in again. At most 365 days.',
      ),
    authorizationCode: seconds.max(600).default(60).describe('Authorization code lifetime in seconds.'),
  })
  .strict()
  .refine((lifetimes) => lifetimes.refreshToken <= lifetimes.refreshTokenAbsolute, {
    message: 'refreshToken must be no longer than refreshTokenAbsolute',
    path: ['refreshToken'],
  });

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
    idTokenSigningAlg: z
      .enum(['RS256', 'ES256'])
      .optional()
      .describe("The algorithm of this client's ID tokens: `RS256` (the default) or `ES256`."),
    tokenLifetimes: tokenLifetimesSchema
      .default(tokenLifetimesSchema.parse({}))
      .describe('Token lifetimes for this client.'),
  })
  .strict()
  .refine((client) => !(client.secret && client.secretEnv), {
    message: 'give either secret or secretEnv, not both',
    path: ['secretEnv'],
  });

const DAY = 24 * 3600;

// How long a login lasts (ASVS 7.3.1, 7.3.2). The defaults follow NIST 800-63B-4 for a password
// login (AAL1): log in again at least every 30 days, however often the session is used.
export const sessionLifetimesSchema = z
  .object({
    idle: seconds
      .min(60)
      .max(400 * DAY)
      .optional()
      .describe(
        'Seconds a session may go unused (no sign-in to any client) before it ends and the person logs in again. Unset: as long as `absolute`.',
      ),
    absolute: seconds
      .min(60)
      .max(400 * DAY)
      .default(30 * DAY)
      .describe(
        'Seconds from the login after which the session ends, used or not; a new login starts them again. "Stay logged in" keeps the cookie at most this long.',
      ),
  })
  .strict()
  .refine((lifetimes) => (lifetimes.idle ?? 0) <= lifetimes.absolute, {
    message: 'idle must be no longer than absolute',
    path: ['idle'],
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

/** The longest window a code limit may have; sent codes are kept at least this long to count them. */
export const LONGEST_LIMIT_WINDOW_SECONDS = 7 * 24 * 3600;

const limitWindow = z
  .object({
    seconds: z
      .number()
      .int()
      .min(1)
      .max(LONGEST_LIMIT_WINDOW_SECONDS)
      .describe('Length of the sliding window in seconds.'),
    max: z.number().int().min(1).max(100_000).describe('Codes allowed in the window.'),
  })
  .strict();

export const codeLimitsSchema = z
  .object({
    perIdentifier: z
      .array(limitWindow)
      .default([
        { seconds: 600, max: 3 },
        { seconds: 86_400, max: 10 },
      ])
      .describe('Codes to one email address or phone number.'),
    perIp: z
      .array(limitWindow)
      .default([
        { seconds: 600, max: 10 },
        { seconds: 86_400, max: 50 },
      ])
      .describe('Codes asked for from one IP address.'),
    perCountry: z
      .array(limitWindow)
      .default([{ seconds: 3600, max: 1000 }])
      .describe('SMS codes to numbers of one country (against SMS pumping to costly destinations).'),
  })
  .strict();

// A help page's text from the config file: plain text only (paragraphs, bulleted lists and links
// to other topics by slug, as data), which the pages escape, so a config file can never put markup,
// script or a link of its own on a page.
const helpTextSchema = z
  .object({
    title: z.string().min(1).max(200).optional().describe('Replaces the heading.'),
    body: z
      .array(
        z.union([
          z.string().min(1).max(2000).describe('A paragraph.'),
          z
            .object({ list: z.array(z.string().min(1).max(1000)).min(1).max(30) })
            .strict()
            .describe('A bulleted list.'),
          // A topic's slug, never a URL: the page builds the link, so a config cannot point anywhere else.
          z
            .object({
              // A refinement before the enum: a refused refinement does not abort, so zod reports
              // this field and the topics instead of an "Invalid input" for the whole block.
              see: z
                .string()
                .refine(isTopicSlug, {
                  error: (issue) =>
                    `${JSON.stringify(issue.input)} is not a help topic; one of ${HELP_TOPICS.join(', ')}`,
                })
                .pipe(z.enum(HELP_TOPICS)),
            })
            .strict()
            .describe('"See also:" and a link to another topic, titled as that topic.'),
        ]),
      )
      .min(1)
      .max(50)
      .optional()
      .describe('Replaces the text: paragraphs, bulleted lists and links to other topics.'),
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
    // Plain text only (paragraphs, bulleted lists and links to topics as data): the pages escape
    // it, so a config file can never put markup or script on a hosted page.
    help: z
      .partialRecord(
        z.enum(HELP_TOPICS),
        z
          .object({
            nb: helpTextSchema.optional(),
            sv: helpTextSchema.optional(),
            en: helpTextSchema.optional(),
          })
          .strict(),
      )
      .default({})
      .describe(
        `Replaces the text of help pages (\`/t/<slug>/help\`), per topic and language: \`${HELP_TOPICS.join('`, `')}\`, each with \`nb\`, \`sv\`, \`en\`: \`{ title, body }\`. \`body\` is a list of paragraphs (strings), bulleted lists (\`{ list: [...] }\`) and links to another topic (\`{ see: <topic> }\`, shown as "See also:" and that topic's title); text only, no HTML. \`{tenant}\` becomes the display name. What is not given keeps the shipped text.`,
      ),
    identifierKinds: z
      .array(z.enum(IDENTIFIER_KINDS))
      .min(1)
      .default(['email', 'phone'])
      .describe('Which identifiers people sign up and log in with: `email`, `phone` or both.'),
    signup: z
      .boolean()
      .default(true)
      .describe('Whether people may create an account from the login page (and with `prompt=create`).'),
    // NIST 800-63B-4 by default: 8 or more characters, no composition rules, common passwords
    // refused. A tenant may ask for more, never for less, and no character is ever refused.
    // (`prefault` parses `{}`, so every default below is filled in.)
    passwordPolicy: z
      .object({
        minLength: z
          .number()
          .int()
          .min(8, 'at least 8 (NIST 800-63B)')
          .max(64)
          .default(8)
          .describe(
            'Fewest characters (Unicode code points after NFC) a new password may have; 15 suits accounts with only a password.',
          ),
        maxLength: z
          .number()
          .int()
          .min(64, 'at least 64 (NIST 800-63B)')
          .max(4096)
          .default(1024)
          .describe('Most characters a new password may have; longer ones are refused, never cut.'),
        requireUppercase: z
          .boolean()
          .default(false)
          .describe('Require an upper-case letter (any script). NIST advises against composition rules.'),
        requireLowercase: z.boolean().default(false).describe('Require a lower-case letter (any script).'),
        requireDigit: z.boolean().default(false).describe('Require a digit (any script).'),
        requireSymbol: z
          .boolean()
          .default(false)
          .describe('Require a character that is neither a letter nor a digit (a space counts).'),
        refuseCommon: z
          .boolean()
          .default(true)
          .describe(
            "Refuse passwords on vakt's list of common and breached passwords, and the person's own identifiers or the tenant's name.",
          ),
      })
      .strict()
      .prefault({})
      .describe('What a new password must be.'),
    delivery: deliverySchema
      .default({})
      .describe('How codes reach people; by default the deployment-wide settings from the environment.'),
    sessions: sessionLifetimesSchema
      .default(sessionLifetimesSchema.parse({}))
      .describe('How long a login lasts: single sign-on and "stay logged in" end with it.'),
    codeLimits: codeLimitsSchema
      .default(codeLimitsSchema.parse({}))
      .describe('How many codes may be sent, per identifier, per IP address and per destination country.'),
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

/** Every tenant field at its default, for code that builds a tenant's config (the demo, tests). */
export function tenantDefaults(): Omit<TenantConfig, 'slug' | 'displayName' | 'clients'> {
  const {
    slug: _slug,
    displayName: _name,
    clients: _clients,
    ...defaults
  } = tenantSchema.parse({
    slug: 'defaults',
    displayName: 'defaults',
  });
  return defaults;
}

export type ClientConfig = z.infer<typeof clientSchema>;
export type TenantConfig = z.infer<typeof tenantSchema>;
export type DeploymentConfig = z.infer<typeof deploymentConfigSchema>;
export type TokenLifetimes = z.infer<typeof tokenLifetimesSchema>;
export type DeliveryConfig = z.infer<typeof deliverySchema>;
export type CodeLimits = z.infer<typeof codeLimitsSchema>;
export type IdentifierKindName = (typeof IDENTIFIER_KINDS)[number];
