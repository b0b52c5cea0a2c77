// Writes the config JSON Schema (from the built sources) to schema/portcullis.schema.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { configSchema } from '../dist/config/schema.js';

mkdirSync(new URL('../schema/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('../schema/portcullis.schema.json', import.meta.url),
  JSON.stringify(configSchema, null, 2) + '\n'
);
