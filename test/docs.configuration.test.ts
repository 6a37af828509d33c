// docs/configuration.md is generated from the configuration schema; this keeps it in step.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { renderConfigurationDocs } from '../src/config/docs.js';
import { parseDeploymentConfig } from '../src/config/load.js';

test('docs/configuration.md is what the schema generates (run `npm run docs` after changing it)', () => {
  assert.equal(readFileSync('docs/configuration.md', 'utf8'), renderConfigurationDocs());
});

test('the example in the docs is a valid configuration', () => {
  const docs = renderConfigurationDocs();
  const example = /```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
  assert.ok(example);
  const config = parseDeploymentConfig(parse(example));
  assert.equal(config.tenants[0]?.clients.length, 2);
});
