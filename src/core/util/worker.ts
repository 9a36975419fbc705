/**
 * Source for `new Worker(code, { eval: true })` that imports the module `file` next to
 * `importerUrl`: `.ts` sources (run through tsx) need tsx registered inside the worker too, since
 * workers do not inherit loader hooks; built `.js` output imports directly.
 */
export function workerCode(importerUrl: string, file: string): string {
  const ts = importerUrl.endsWith('.ts');
  const entry = JSON.stringify(new URL(`./${file}.${ts ? 'ts' : 'js'}`, importerUrl).href);
  if (!ts) return `import(${entry});`;
  return `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${entry}); });`;
}
