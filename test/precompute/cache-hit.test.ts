// A second precompute of the same recipe is a cache hit that touches nothing; cacheInfo and
// verifyCache (what `kennis cache info|verify` print) read what precompute wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cacheInfo, verifyCache } from '../../src/cache/index.js';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { mlpClassifier } from '../fixtures/teachers.js';
import { shardHashes, tempDir, writeRecipe } from './helpers.js';

function mtimes(dir: string): Record<string, number> {
  return Object.fromEntries(readdirSync(dir).map((n) => [n, statSync(path.join(dir, n)).mtimeMs]));
}

test('a second precompute is a hit: same key and dir, no file rewritten; info and verify agree with the manifest', async () => {
  const dir = await tempDir('pre-hit');
  writeFileSync(path.join(dir, 'mlp.onnx'), mlpClassifier({ seed: 41 }).bytes);
  const recipe = writeRecipe(dir, 'r.yaml', {
    teacher: { path: 'mlp.onnx', batch_size: 100 },
    dataset: { name: 'mnist', split: 'train', limit: 500 },
    targets: { kind: 'topk', k: 3, dtype: 'float16' },
    cache: { root: 'cache', shard_rows: 200 },
  });
  const load = (...overrides: string[]) => ({ ...loadRecipe(recipe, overrides), baseDir: dir });
  const a = await precompute(load());
  assert.equal(a.hit, false);
  assert.equal(a.rows, 500);
  assert.equal(a.shards, 3);
  assert.equal(a.cacheDir, path.join(dir, 'cache', a.key), 'the cache lives at <root>/<key>');
  const cacheDir = a.cacheDir;
  const before = mtimes(cacheDir);
  const hashes = shardHashes(cacheDir);
  const manifest = readFileSync(path.join(cacheDir, 'manifest.json'), 'utf8');

  const b = await precompute(load());
  assert.equal(b.hit, true);
  assert.equal(b.computedRows, 0);
  assert.equal(b.key, a.key);
  assert.equal(b.cacheDir, cacheDir);
  assert.equal(b.bytes, a.bytes);
  assert.deepEqual(mtimes(cacheDir), before, 'no file in the cache was written again');
  assert.deepEqual(shardHashes(cacheDir), hashes);
  assert.equal(readFileSync(path.join(cacheDir, 'manifest.json'), 'utf8'), manifest);
  assert.ok(!readdirSync(cacheDir).includes('.lock'), 'no lock is left behind');

  const info = await cacheInfo(cacheDir);
  const m = JSON.parse(manifest) as { shards: { bytes: number }[] };
  assert.equal(info.rows, 500);
  assert.equal(info.bytes, m.shards.reduce((n, s) => n + s.bytes, 0));
  assert.equal(info.targetKind, 'topk');
  assert.equal((await verifyCache(cacheDir)).ok, true);

  // another k is another cache: the key addresses the targets
  const c = await precompute(load('targets.k=4'));
  assert.equal(c.hit, false);
  assert.notEqual(c.key, a.key);
  assert.deepEqual(mtimes(cacheDir), before);
});
