// Renders docs/configuration.md from the zod schemas, so the reference cannot drift from the
// code: test/docs.configuration.test.ts fails when the committed file differs, and
// `npm run docs` writes it again.
import { z } from 'zod';
import { deploymentConfigSchema } from './schema.js';
import { ENVIRONMENT_VARIABLES } from './settings.js';

interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  format?: string;
}

interface Row {
  path: string;
  type: string;
  required: boolean;
  default: string;
  description: string;
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (schema.type === 'array') return `list of ${schema.items ? typeOf(schema.items) : 'values'}`;
  if (schema.type === 'integer') {
    const max = schema.maximum !== undefined ? ` ≤ ${schema.maximum}` : '';
    return `integer${max}`;
  }
  if (schema.format) return `string (${schema.format})`;
  return schema.type ?? 'value';
}

function collect(schema: JsonSchema, path: string, required: boolean, rows: Row[]): void {
  const item = schema.type === 'array' && schema.items?.type === 'object' ? schema.items : undefined;
  const object = schema.type === 'object' ? schema : item;
  rows.push({
    path,
    type: item ? 'list of objects' : object ? 'object' : typeOf(schema),
    required,
    default: schema.default === undefined || object ? '' : `\`${JSON.stringify(schema.default)}\``,
    description: schema.description ?? '',
  });
  if (!object?.properties) return;
  const prefix = item ? `${path}[]` : path;
  for (const [name, child] of Object.entries(object.properties)) {
    collect(child, `${prefix}.${name}`, Boolean(object.required?.includes(name)), rows);
  }
}

const EXAMPLE = `tenants:
  - slug: telenor-no
    displayName: Telenor
    locales: [nb, en]
    defaultCountry: NO
    support:
      email: kundeservice@telenor.example
      phone: +47 915 09 000
    clients:
      - id: mitt-telenor
        name: Mitt Telenor
        secretEnv: MITT_TELENOR_SECRET
        redirectUris: [https://mitt.telenor.example/callback]
        postLogoutRedirectUris: [https://mitt.telenor.example/]
        backchannelLogoutUri: https://mitt.telenor.example/backchannel-logout
        firstParty: true
      - id: partner-app
        name: Partner app
        redirectUris: [https://partner.example/callback]
`;

export function renderConfigurationDocs(): string {
  const json = z.toJSONSchema(deploymentConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: Row[] = [];
  for (const [name, child] of Object.entries(json.properties ?? {})) collect(child, name, false, rows);
  const table = rows
    .map(
      (r) =>
        `| \`${r.path}\` | ${r.type} | ${r.required ? 'yes' : ''} | ${r.default} | ${r.description.replace(/\|/g, '\\|')} |`,
    )
    .join('\n');
  const env = ENVIRONMENT_VARIABLES.map(
    (v) => `| \`${v.name}\` | ${v.development} | ${v.production} | ${v.description} |`,
  ).join('\n');
  return `<!-- Generated from src/config/schema.ts and src/config/settings.ts by \`npm run docs\`. Do not edit by hand. -->
# Configuration

vakt reads two things: **environment variables** for the process (where the database is, the
public URL, the deployment secret) and an optional **configuration file** (YAML or JSON) that
declares tenants and their clients. Bad configuration stops start-up with a message that names
the field, for example \`tenants[acme].clients[web].redirectUris[0]: an http(s) URL without a fragment\`.

## Environment variables

| variable | \`vakt dev\` | \`vakt start\` | meaning |
| --- | --- | --- | --- |
${env}

## The configuration file

Apply it with \`vakt apply FILE\` (idempotent: applying the same file twice changes nothing), or
give it at start with \`vakt dev --config FILE\` / \`vakt start --config FILE\`. In development the
file's tenants are applied beside the demo tenant. Each tenant's client list is replaced by the
file's; tenants missing from the file are left alone, so no accounts are lost by a short file.
Running servers pick up the change within \`VAKT_RELOAD_INTERVAL\` seconds.

\`\`\`yaml
${EXAMPLE}\`\`\`

A client with \`secret\` or \`secretEnv\` is confidential (\`client_secret_basic\`); one with neither is
public and must use PKCE with S256. Client secrets are stored encrypted with a key derived from
\`VAKT_SECRET\`.

| field | type | required | default | meaning |
| --- | --- | --- | --- | --- |
${table}
`;
}
