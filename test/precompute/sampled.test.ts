// Sampled targets: counts, the distribution of the draws against softmax(logits / T) of a direct
// onnxruntime run of the ORIGINAL teacher (chi-square), and seeded reproducibility.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { precompute } from '../../src/precompute/index.js';
import { mlpClassifier, sequenceModel } from '../fixtures/teachers.js';
import { datasetColumns, directRun, int64, ort, readCache, recipeIn, shardHashes, tempDir } from './helpers.js';

const N = 256;
const TEMPERATURE = 2;
let dir: string;

before(async () => {
  dir = await tempDir('pre-sampled');
  // moderate gain: peaked enough that a wrong temperature shows, spread enough that many classes get draws
  writeFileSync(path.join(dir, 'mlp.onnx'), mlpClassifier({ seed: 31, gain: 1.5 }).bytes);
  writeFileSync(path.join(dir, 'lm.onnx'), sequenceModel({ vocab: 256, dModel: 32, seed: 32, embeddingStd: 1 }).bytes);
});

/** Upper 0.999 quantile of chi-square with df degrees of freedom (Wilson-Hilferty). */
function chiSquare999(df: number): number {
  const z = 3.090232306167813;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/**
 * Pooled chi-square of the draws against softmax(logits / T) in float64: per position, classes
 * expected fewer than 5 times are merged into one bin; the statistics and dfs add up.
 */
function chiSquare(logits: Float32Array, V: number, ids: ArrayLike<number>, counts: ArrayLike<number>, n: number): { stat: number; df: number } {
  let stat = 0;
  let df = 0;
  for (let p = 0; p < logits.length / V; p++) {
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[p * V + v]! / TEMPERATURE);
    const w = Array.from({ length: V }, (_, v) => Math.exp(logits[p * V + v]! / TEMPERATURE - m));
    const z = w.reduce((a, b) => a + b, 0);
    const observed = new Float64Array(V);
    for (let s = 0; s < n; s++) observed[ids[p * n + s]!]! += counts[p * n + s]!;
    let rest = { o: 0, e: 0 };
    let bins = 0;
    for (let v = 0; v < V; v++) {
      const e = (n * w[v]!) / z;
      if (e < 5) { rest = { o: rest.o + observed[v]!, e: rest.e + e }; continue; }
      stat += (observed[v]! - e) ** 2 / e;
      bins++;
    }
    if (rest.e > 0) { stat += (rest.o - rest.e) ** 2 / rest.e; bins++; }
    df += bins - 1;
  }
  return { stat, df };
}

/** Checks the sampled columns' layout: per position, ascending ids with counts summing to n, then 0/0 padding. */
function checkCounts(ids: ArrayLike<number>, counts: ArrayLike<number>, n: number, positions: number): void {
  for (let p = 0; p < positions; p++) {
    let sum = 0;
    let prev = -1;
    let padding = false;
    for (let s = 0; s < n; s++) {
      const c = counts[p * n + s]!;
      if (c === 0) { padding = true; assert.equal(ids[p * n + s], 0, `position ${p} slot ${s}: padding id`); continue; }
      assert.ok(!padding, `position ${p}: counted slots come before padding`);
      assert.ok(ids[p * n + s]! > prev, `position ${p}: ids ascend`);
      prev = ids[p * n + s]!;
      sum += c;
    }
    assert.equal(sum, n, `position ${p}: counts sum to n`);
  }
}

function mnistRecipe(seed: number, cacheDir: string) {
  return recipeIn(dir, {
    teacher: { path: 'mlp.onnx', batch_size: 32 },
    dataset: { name: 'mnist', split: 'train', limit: 96 },
    targets: { kind: 'sampled', samples: N, temperature: TEMPERATURE, seed },
    cache: { dir: cacheDir, shard_rows: 40 },
  });
}

test('classification draws: counts sum to n and follow softmax(logits / T) of the direct run (chi-square, p = 0.001)', async () => {
  const s = await precompute(mnistRecipe(7, 'mnist-a'));
  const { columns, manifest } = await readCache(s.cacheDir);
  assert.equal(manifest.targets.sampleTemperature, TEMPERATURE);
  const ids = columns.sample_ids as Uint8Array;
  const counts = columns.sample_counts as Uint16Array;
  assert.ok(counts instanceof Uint16Array, 'n = 256 counts need uint16');
  checkCounts(ids, counts, N, 96);
  const image = (await datasetColumns({ name: 'mnist', split: 'train', limit: 96 })).image as Float32Array;
  const logits = await directRun(mlpClassifier({ seed: 31, gain: 1.5 }).bytes, 96, 96, (st, e) => ({ image: new ort.Tensor('float32', image.subarray(st * 784, e * 784), [e - st, 784]) }));
  const { stat, df } = chiSquare(logits, 10, ids, counts, N);
  assert.ok(df > 96 * 3, `expected spread-out distributions, got ${df} degrees of freedom`);
  assert.ok(stat < chiSquare999(df), `chi-square ${stat.toFixed(1)} with ${df} df exceeds the 0.999 quantile ${chiSquare999(df).toFixed(1)}`);
});

test('sampled caches are reproducible byte for byte, and another seed draws differently', async () => {
  const a = await precompute(mnistRecipe(7, 'mnist-a'));
  const b = await precompute(mnistRecipe(7, 'mnist-b'));
  assert.equal(a.key, b.key);
  assert.deepEqual(shardHashes(b.cacheDir), shardHashes(a.cacheDir));
  assert.equal(Object.keys(shardHashes(a.cacheDir)).length, 3);
  const c = await precompute(mnistRecipe(8, 'mnist-c'));
  assert.notEqual(c.key, a.key);
  const [da, dc] = [(await readCache(a.cacheDir)).columns, (await readCache(c.cacheDir)).columns];
  assert.notDeepEqual(dc.sample_counts, da.sample_counts);
  assert.deepEqual(dc.image, da.image);
});

test('per-token draws of an LM teacher follow softmax(logits / T) at every position (chi-square, p = 0.001)', async () => {
  const rows = 6;
  const T = 16;
  const s = await precompute(recipeIn(dir, {
    teacher: { path: 'lm.onnx', batch_size: 4 },
    dataset: { name: 'moby-dick', split: 'train', seq_len: T, limit: rows },
    targets: { kind: 'sampled', samples: N, temperature: TEMPERATURE, seed: 3 },
    cache: { root: 'cache', shard_rows: 4 },
  }));
  const { columns } = await readCache(s.cacheDir);
  const ids = columns.sample_ids as Uint8Array;
  const counts = columns.sample_counts as Uint16Array;
  checkCounts(ids, counts, N, rows * T);
  const inputIds = columns.input_ids as Int32Array;
  const logits = await directRun(sequenceModel({ vocab: 256, dModel: 32, seed: 32, embeddingStd: 1 }).bytes, rows, rows, (st, e) => ({
    input_ids: int64(inputIds.subarray(st * T, e * T), [e - st, T]), attention_mask: int64(new Int32Array((e - st) * T).fill(1), [e - st, T]),
  }));
  const { stat, df } = chiSquare(logits, 256, ids, counts, N);
  assert.ok(df > rows * T, `expected several bins per position, got ${df} degrees of freedom`);
  assert.ok(stat < chiSquare999(df), `chi-square ${stat.toFixed(1)} with ${df} df exceeds the 0.999 quantile ${chiSquare999(df).toFixed(1)}`);
});
