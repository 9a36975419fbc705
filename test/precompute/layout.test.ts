// cache.layout: packed (default; every list column one binary value per row) and lists (FixedSizeLists,
// as caches were written before) hold the same values under different cache keys, and the loader
// gives back exactly the dataset's inputs from a packed cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readManifest } from '../../src/cache/index.js';
import { precompute } from '../../src/precompute/index.js';
import { CacheLoader } from '../../src/train/loader/index.js';
import { mlpClassifier, sequenceModel } from '../fixtures/teachers.js';
import { datasetColumns, readCache, recipeIn, tempDir } from './helpers.js';

const ROWS = 500;

test('MNIST: packed and lists caches hold the same columns under different keys, packed ones smaller, and the loader gives back the dataset\'s pixels (float64 comparison)', async () => {
  const dir = await tempDir('pre-layout');
  writeFileSync(path.join(dir, 'mlp.onnx'), mlpClassifier({ seed: 21, hidden: [32] }).bytes);
  const run = (layout: string) => precompute(recipeIn(dir, {
    teacher: { path: 'mlp.onnx', batch_size: 100 },
    dataset: { name: 'mnist', split: 'train', limit: ROWS },
    targets: { kind: 'full', dtype: 'float32' },
    cache: { root: layout, shard_rows: 200, layout },
  }));
  const packed = await run('packed');
  const lists = await run('lists');
  assert.notEqual(packed.key, lists.key, 'the layout is part of the cache key');
  const m = await readManifest(packed.cacheDir);
  const old = await readManifest(lists.cacheDir);
  // 28 x 28 byte pixels and the teacher's 10 logits
  assert.deepEqual(m.packedColumns, { image: { element: 'uint8', shape: [28 * 28] }, logits: { element: 'float32', shape: [10] } });
  assert.equal(old.packedColumns, undefined, 'lists writes a cache like those written before packed columns');
  assert.deepEqual(m.schema, old.schema, 'both describe the same lists');
  assert.ok(packed.bytes < lists.bytes, `packed shards take fewer bytes (${packed.bytes} vs ${lists.bytes})`);
  const a = await readCache(packed.cacheDir);
  const b = await readCache(lists.cacheDir);
  assert.deepEqual(a.columns, b.columns);

  const want = await datasetColumns({ name: 'mnist', split: 'train', limit: ROWS });
  const loader = new CacheLoader(packed.cacheDir, m, { columns: ['image', 'label', 'row'], batchSize: 64, shuffleBuffer: 100, seed: 1, decodeThreads: 2 });
  let seen = 0;
  for await (const batch of loader.epoch(0)) {
    const image = batch.columns.image!;
    assert.equal(image.constructor, Float32Array);
    for (let i = 0; i < batch.size; i++) {
      const r = Number(batch.columns.row![i]);
      assert.equal(Number(batch.columns.label![i]), Number(want.label![r]), `row ${r} label`);
      for (let j = 0; j < 784; j++) {
        const got = Number(image[i * 784 + j]);
        const wanted = Number(want.image![r * 784 + j]);
        if (got !== wanted) assert.fail(`row ${r} pixel ${j}: the loader gives ${got}, the dataset ${wanted}`);
      }
      seen++;
    }
  }
  assert.equal(seen, ROWS);
});

test('token windows: packed ids, top-k and sampled targets (Arrow IPC and Parquet) hold the values of the lists layout', async () => {
  const dir = await tempDir('pre-layout-seq');
  const T = 16;
  writeFileSync(path.join(dir, 'seq.onnx'), sequenceModel({ vocab: 256, dModel: 16, layers: 1, heads: 2, maxSeq: T, seed: 22 }).bytes);
  const cases = [['topk', { kind: 'topk', k: 4, dtype: 'float16' }, 'arrow'], ['sampled', { kind: 'sampled', samples: 8 }, 'parquet']] as const;
  for (const [name, targets, format] of cases) {
    const run = (layout: string) => precompute(recipeIn(dir, {
      teacher: { path: 'seq.onnx', batch_size: 20 },
      dataset: { name: 'moby-dick', split: 'train', seq_len: T, limit: 90 },
      targets,
      cache: { root: `${name}-${layout}`, shard_rows: 32, layout, format },
    }));
    const packed = await run('packed');
    const lists = await run('lists');
    const m = await readManifest(packed.cacheDir);
    const ids = { element: 'uint8', shape: [T] };
    assert.deepEqual(m.packedColumns, name === 'topk'
      ? { input_ids: ids, labels: ids, topk_ids: { element: 'uint8', shape: [T, 4] }, topk_logits: { element: 'float16', shape: [T, 4] }, logsumexp: { element: 'float32', shape: [T] } }
      : { input_ids: ids, labels: ids, sample_ids: { element: 'uint8', shape: [T, 8] }, sample_counts: { element: 'uint8', shape: [T, 8] } }, name);
    assert.deepEqual((await readCache(packed.cacheDir)).columns, (await readCache(lists.cacheDir)).columns, name);
  }
});
