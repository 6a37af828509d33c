// `npm run docs`: writes docs/configuration.md from the configuration schema.
import { writeFileSync } from 'node:fs';
import { renderConfigurationDocs } from '../src/config/docs.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDocs());
console.log('wrote docs/configuration.md');
