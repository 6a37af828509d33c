#!/usr/bin/env node
// The `vakt` command. An installed package runs the compiled dist/. In a source checkout,
// `vakt start` (production) runs dist/ too when `npm run build` has compiled the current sources:
// the tsx loader costs about 60 MB of memory per process (138 vs 201 MB idle in `npm run bench`),
// and nothing in production needs it.
// Everything else in a checkout (and `vakt start` before a build or after an edit) runs the
// TypeScript sources through tsx, so an edit is live without a build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The two lines this file prints itself, in the operator's language, chosen as
// src/cli/messages/index.ts chooses it (that module cannot be loaded yet here: it may be
// TypeScript, or missing).
const MESSAGES = {
  missing: {
    en: 'neither src/ nor dist/ is present; reinstall the package.',
    nb: 'verken src/ eller dist/ finnes; installer pakken på nytt.',
    sv: 'varken src/ eller dist/ finns; installera om paketet.',
  },
  sources: {
    en: 'running the TypeScript sources; `npm run build` first to run compiled JavaScript.',
    nb: 'kjører TypeScript-kildene; kjør `npm run build` først for å kjøre kompilert JavaScript.',
    sv: 'kör TypeScript-källorna; kör `npm run build` först för att köra kompilerad JavaScript.',
  },
};
const { LC_ALL, LC_MESSAGES, LANG } = process.env;
const language = [LC_ALL, LC_MESSAGES, LANG]
  .find((value) => value?.trim())
  ?.trim()
  .toLowerCase()
  .split(/[_.@-]/)[0];
const locale = ['nb', 'no', 'nn'].includes(language) ? 'nb' : language === 'sv' ? 'sv' : 'en';

const sourceDir = fileURLToPath(new URL('../src/', import.meta.url));
const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

/** The newest modification time under a directory, in ms. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile())
      latest = Math.max(latest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return latest;
}

function compiledIsCurrent() {
  return existsSync(compiled) && statSync(compiled).mtimeMs >= newest(sourceDir);
}

if (!existsSync(source)) {
  if (!existsSync(compiled)) {
    console.error(`vakt: ${MESSAGES.missing[locale]}`);
    process.exit(1);
  }
  await import(compiled.href);
} else if (process.argv[2] === 'start' && compiledIsCurrent()) {
  await import(compiled.href);
} else {
  if (process.argv[2] === 'start') {
    console.error(`vakt: ${MESSAGES.sources[locale]}`);
  }
  const { tsImport } = await import('tsx/esm/api');
  await tsImport(source.href, import.meta.url);
}
