#!/usr/bin/env node
// Fetches the pinned npm tarballs whose documents train and measure the scanner (ai-docs.json,
// prose.json) into the cache, before the tests: training again in the tests then needs no network.
// `npm test` runs it as part of `pretest`; a second run finds everything cached.
import { aiDocuments } from './ai-docs.mjs';
import { proseDocuments } from './prose.mjs';

const started = Date.now();
const ai = aiDocuments().length;
const prose = proseDocuments().length;
console.log(
  `scanner documents: ${ai} about AI, ${prose} of prose (${((Date.now() - started) / 1000).toFixed(1)} s)`
);
