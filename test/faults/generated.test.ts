/**
 * Generated inputs (fast-check): malformed recipes, overrides, manifests and dataset files. Every
 * case must end as a success or one KennisError of one line (the CLI's single `error:` line);
 * any other error is a crash that would print a stack trace. A handful go through the CLI, bounded
 * by a timeout. The counts per family are printed as diagnostics (they feed the README).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { readManifest, verifyCache } from '../../src/cache/index.js';
import { KennisError } from '../../src/core/errors/index.js';
import { openFileDataset } from '../../src/data/file.js';
import { precompute } from '../../src/precompute/index.js';
import { keysOf, loadRecipe, recipeSchema } from '../../src/recipe/index.js';
import { kennis, treeHashes, workspace } from '../fixtures/cli.js';

const ws = workspace('generated', { rows: 200, shardRows: 100 });
const good = ws.recipe('good.yaml');
const cache = await precompute(loadRecipe(good), { onWarning: () => undefined });
const shardsBefore = treeHashes(cache.cacheDir);
const goodManifest = readFileSync(join(cache.cacheDir, 'manifest.json'), 'utf8');
const baseRecipe = JSON.parse(JSON.stringify(ws.base)) as Record<string, Record<string, unknown>>;

/** How many cases each family tried and how they ended. */
const tally: Record<string, { tried: number; ok: number; handled: number }> = {};

/** Runs one case: success or one single-line KennisError; anything else (or a hang) fails the property. */
async function oneCase(family: string, run: () => unknown): Promise<void> {
  const t = (tally[family] ??= { tried: 0, ok: 0, handled: 0 });
  t.tried++;
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${family}: no answer within 20 s`)), 20_000); });
  try {
    await Promise.race([Promise.resolve().then(run), hang]);
    t.ok++;
  } catch (e) {
    if (!(e instanceof KennisError)) throw e;
    assert.ok(!e.message.includes('\n') && e.message.length > 0, `one line: ${e.message}`);
    t.handled++;
  } finally {
    clearTimeout(timer);
  }
}

// values of every kind a YAML file or an override can hold
const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(-1, 0, 1e12, 2 ** 31, 0.5, '', '../x', '/dev/zero'));
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), scalar, { maxKeys: 3 }));
const sections = keysOf(recipeSchema);
const keyPath = fc.constantFrom(...sections).chain((s) => fc.tuple(fc.constant(s), fc.oneof(fc.constantFrom(...keysOf(recipeSchema.shape[s as keyof typeof recipeSchema.shape])), fc.string({ maxLength: 8 }))));
const runs = { numRuns: 150 };

test('generated recipes: a valid recipe with random keys set to random values, or random text', async () => {
  let n = 0;
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(keyPath, value), { minLength: 1, maxLength: 3 }), fc.option(fc.string({ maxLength: 60 }), { freq: 5 }), async (edits, text) => {
    const recipe = structuredClone(baseRecipe) as Record<string, unknown>;
    for (const [[section, key], v] of edits) {
      const s = recipe[section];
      if (s && typeof s === 'object') (s as Record<string, unknown>)[key] = v;
      else recipe[section] = { [key]: v };
    }
    const file = join(ws.dir, `gen-${n++ % 4}.yaml`);
    writeFileSync(file, text ?? stringify(recipe));
    await oneCase('recipes', () => loadRecipe(file));
  }), runs);
});

test('generated overrides: random key.path=value strings, and well-formed ones with random values', async () => {
  const wellFormed = fc.tuple(keyPath, value).map(([[s, k], v]) => `${s}.${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  await fc.assert(fc.asyncProperty(fc.array(fc.oneof(fc.string({ maxLength: 20 }), wellFormed), { maxLength: 3 }), async (overrides) => {
    await oneCase('overrides', () => loadRecipe(good, overrides));
  }), runs);
});

test('generated manifests: a valid manifest with a random leaf replaced or removed, or random JSON; shards are never changed', async () => {
  const manifest = JSON.parse(goodManifest) as Record<string, unknown>;
  const leaves: string[][] = [];
  const walk = (v: unknown, at: string[]): void => {
    if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...at, k]);
    else leaves.push(at);
  };
  walk(manifest, []);
  const edit = fc.tuple(fc.constantFrom(...leaves), fc.oneof(value, fc.constant(undefined)));
  await fc.assert(fc.asyncProperty(fc.oneof(fc.array(edit, { minLength: 1, maxLength: 3 }), fc.jsonValue().map((j) => ({ json: j }))), async (change) => {
    let text: string;
    if ('json' in change) text = JSON.stringify(change.json) ?? 'null';
    else {
      const m = structuredClone(manifest);
      for (const [path, v] of change) {
        let node = m as Record<string, unknown>;
        for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
        if (v === undefined) delete node[path.at(-1)!];
        else node[path.at(-1)!] = v;
      }
      text = JSON.stringify(m);
    }
    writeFileSync(join(cache.cacheDir, 'manifest.json'), text);
    await oneCase('manifests', async () => {
      const report = await verifyCache(cache.cacheDir);
      if (!report.ok) await readManifest(cache.cacheDir);
    });
  }), { numRuns: 120 });
  writeFileSync(join(cache.cacheDir, 'manifest.json'), goodManifest);
  assert.deepEqual(treeHashes(cache.cacheDir), shardsBefore, 'no shard or manifest byte lost');
});

test('generated dataset files: random JSONL rows and random bytes as Parquet and Arrow', async () => {
  const row = fc.dictionary(fc.constantFrom('image', 'label', 'x', 'split'), fc.oneof(value, fc.array(fc.double(), { minLength: 1, maxLength: 4 })), { maxKeys: 4 });
  const jsonl = fc.array(row, { minLength: 0, maxLength: 6 }).map((rows) => ({ ext: 'jsonl', bytes: Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n')) }));
  const binary = fc.tuple(fc.constantFrom('parquet', 'arrow'), fc.uint8Array({ maxLength: 64 })).map(([ext, b]) => ({ ext, bytes: Buffer.from(b) }));
  let n = 0;
  await fc.assert(fc.asyncProperty(fc.oneof(jsonl, binary), fc.constantFrom('label', undefined), async (file, label) => {
    const path = join(ws.dir, `gen-${n++ % 4}.${file.ext}`);
    writeFileSync(path, file.bytes);
    await oneCase('datasets', () => openFileDataset({ path, ...(label ? { label } : {}) }));
  }), { numRuns: 200 });
});

test('through the CLI: generated overrides end in exit 0 or exactly one error line, never a stack or a hang', async (t) => {
  const samples = fc.sample(fc.array(fc.tuple(keyPath, scalar).map(([[s, k], v]) => `${s}.${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`), { minLength: 1, maxLength: 2 }), { numRuns: 4, seed: 15 });
  const results = await Promise.all(samples.map(async (overrides) => {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`hang: ${overrides.join(' ')}`)), 90_000); });
    // cleared, or the pending timer would hold the file's process open for the rest of the 90 s
    const r = await Promise.race([kennis(['precompute', good, ...overrides]), hang]).finally(() => clearTimeout(timer));
    assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack for ${overrides.join(' ')}`);
    if (r.code !== 0) {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, r.stderr);
    }
    return r.code;
  }));
  (tally.cli ??= { tried: 0, ok: 0, handled: 0 }).tried += results.length;
  tally.cli.ok += results.filter((c) => c === 0).length;
  tally.cli.handled += results.filter((c) => c !== 0).length;
  for (const [family, c] of Object.entries(tally)) t.diagnostic(`${family}: ${c.tried} cases, ${c.ok} accepted, ${c.handled} refused with one error line, 0 crashes`);
});
