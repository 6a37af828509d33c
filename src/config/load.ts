// Reads a YAML or JSON configuration file and validates it, naming the failing field.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { type DeploymentConfig, deploymentConfigSchema } from './schema.js';

export function formatIssuePath(path: readonly PropertyKey[], root: unknown): string {
  // tenants.0.clients.1.redirectUris.0 -> tenants[demo].clients[web].redirectUris[0]
  let node: unknown = root;
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') {
      const item = Array.isArray(node) ? node[key] : undefined;
      const label =
        item && typeof item === 'object' && ('slug' in item || 'id' in item)
          ? String((item as { slug?: unknown; id?: unknown }).slug ?? (item as { id?: unknown }).id)
          : String(key);
      out += `[${label}]`;
      node = item;
    } else {
      out += (out ? '.' : '') + String(key);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[String(key)] : undefined;
    }
  }
  return out || '(root)';
}

export function describeZodError(error: z.ZodError, root: unknown): string {
  return error.issues.map((issue) => `${formatIssuePath(issue.path, root)}: ${issue.message}`).join('; ');
}

export function parseDeploymentConfig(raw: unknown, source = 'configuration'): DeploymentConfig {
  const result = deploymentConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(`${source}: ${describeZodError(result.error, raw)}`);
  }
  return result.data;
}

export function loadDeploymentConfig(file: string): DeploymentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read ${file}: ${(cause as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new ConfigError(
      `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(cause as Error).message}`,
    );
  }
  return parseDeploymentConfig(raw, file);
}
