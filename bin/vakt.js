#!/usr/bin/env node
// The `vakt` command. In a source checkout it runs the TypeScript sources through tsx, so
// an edit is live without a build; an installed package runs the compiled dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

if (existsSync(source)) {
  const { tsImport } = await import('tsx/esm/api');
  await tsImport(source.href, import.meta.url);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  console.error('vakt: neither src/ nor dist/ is present; reinstall the package.');
  process.exit(1);
}
