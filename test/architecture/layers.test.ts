import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layering of src/ (see src/README.md): each top-level folder may import only itself and the
 * folders listed for it. Stage 1 (precompute) and stage 2 (train) both stand on the cache contract
 * and never import each other; the CLI sees only the public API.
 */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  data: ['core'],
  cache: ['core'],
  recipe: ['core', 'data', 'cache'],
  precompute: ['core', 'data', 'cache', 'recipe'],
  train: ['core', 'cache', 'recipe'],
  evaluate: ['core', 'data', 'cache', 'recipe', 'train'],
  experiment: ['core', 'data', 'cache', 'recipe', 'precompute', 'train', 'evaluate'],
  'index.ts': ['core', 'data', 'cache', 'recipe', 'precompute', 'train', 'evaluate', 'experiment'],
  cli: ['index.ts'],
};
/** The only module that loads onnxruntime (as transformers.js keeps one module owning it). */
const ONNXRUNTIME_OWNER = 'core/runtime/session.ts';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

interface Edge { from: string; to: string; spec: string }

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Every static, re-export and dynamic import specifier in a file. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|[^\w.])(?:import|export)\s[^;]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm)) {
    found.push((m[1] ?? m[2] ?? m[3])!);
  }
  return found;
}

/** The top-level entry of src/ that a path relative to src/ lies in. */
const layerOf = (path: string): string => path.split('/')[0]!;

function importGraph(): { edges: Edge[]; external: { file: string; spec: string }[] } {
  const edges: Edge[] = [];
  const external: { file: string; spec: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) { external.push({ file: relative(SRC, file), spec }); continue; }
      const target = resolve(dirname(file), spec);
      edges.push({ from: relative(SRC, file), to: relative(SRC, target).replace(/\.js$/, '.ts'), spec });
    }
  }
  return { edges, external };
}

test('the import graph of src/ parses and is not empty', () => {
  const { edges, external } = importGraph();
  assert.ok(edges.length > 300, `expected hundreds of relative imports, got ${edges.length}`);
  assert.ok(external.some((e) => e.spec === 'onnxruntime-node'), 'expected the runtime to import onnxruntime-node');
  assert.deepEqual(Object.keys(ALLOWED).sort(), readdirSync(SRC).filter((n) => n !== 'README.md').sort(), 'every top-level entry of src/ has a layer rule');
});

test('each top-level folder imports only the layers it may (stages never import each other)', () => {
  const bad = importGraph().edges
    .filter((e) => layerOf(e.from) !== layerOf(e.to) && !ALLOWED[layerOf(e.from)]!.includes(layerOf(e.to)))
    .map((e) => `${e.from} -> ${e.spec}`);
  assert.deepEqual(bad, []);
});

test('no import cycle between top-level folders', () => {
  const next = new Map<string, Set<string>>();
  for (const e of importGraph().edges) {
    const [a, b] = [layerOf(e.from), layerOf(e.to)];
    if (a !== b) next.set(a, (next.get(a) ?? new Set()).add(b));
  }
  const cycles = new Set<string>();
  const visit = (node: string, path: string[]): void => {
    if (path.includes(node)) { cycles.add([...path.slice(path.indexOf(node)), node].join(' -> ')); return; }
    for (const n of next.get(node) ?? []) visit(n, [...path, node]);
  };
  for (const start of next.keys()) visit(start, []);
  assert.deepEqual([...cycles], []);
});

test(`only ${ONNXRUNTIME_OWNER} imports onnxruntime`, () => {
  const importers = importGraph().external.filter((e) => e.spec.startsWith('onnxruntime')).map((e) => e.file);
  assert.deepEqual([...new Set(importers)], [ONNXRUNTIME_OWNER]);
});
