// Copies the files the build needs beside the compiled code: the injection scorer's weights.
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync(new URL('../dist/scan/model/', import.meta.url), { recursive: true });
copyFileSync(
  new URL('../src/scan/model/weights.json', import.meta.url),
  new URL('../dist/scan/model/weights.json', import.meta.url)
);
