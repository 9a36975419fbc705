#!/usr/bin/env node
// A clone (src/ next to bin/) runs the TypeScript sources through tsx, so an edit is never shadowed
// by an older `npm run build`; an installed package ships no src/ and runs its compiled dist/.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
