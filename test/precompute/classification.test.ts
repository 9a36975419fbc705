// Cached classification targets against a direct onnxruntime run of the ORIGINAL teacher.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { precompute } from '../../src/precompute/index.js';
import { fromFloat16Bits } from '../../src/core/util/float16.js';
import { mlpClassifier, softmaxClassifier } from '../fixtures/teachers.js';
import { datasetColumns, directRun, isFloat16Rounding, logSumExp64, ort, readCache, recipeIn, tempDir } from './helpers.js';

const ROWS = 1000;
const BATCH = 100;
const CLASSES = 10;
let dir: string;
let image: Float32Array;
let label: Int32Array;
/** Direct logits of the logits teacher, [ROWS, CLASSES]. */
let direct: Float32Array;
const logitsTeacher = mlpClassifier({ seed: 11 });

before(async () => {
  dir = await tempDir('pre-class');
  writeFileSync(path.join(dir, 'mlp.onnx'), logitsTeacher.bytes);
  // the same weights ending in Softmax (same seed)
  writeFileSync(path.join(dir, 'softmax.onnx'), softmaxClassifier({ seed: 11 }).bytes);
  writeFileSync(path.join(dir, 'mlp4d.onnx'), mlpClassifier({ seed: 11, imageShape: [1, 28, 28] }).bytes);
  const cols = await datasetColumns({ name: 'mnist', split: 'train', limit: ROWS });
  image = cols.image as Float32Array;
  label = cols.label as Int32Array;
  direct = await directRun(logitsTeacher.bytes, ROWS, BATCH, (s, e) => ({ image: new ort.Tensor('float32', image.subarray(s * 784, e * 784), [e - s, 784]) }));
});

function recipe(teacher: string, targets: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return recipeIn(dir, {
    teacher: { path: teacher, batch_size: BATCH, ...extra },
    dataset: { name: 'mnist', split: 'train', limit: ROWS },
    targets,
    cache: { root: 'cache', shard_rows: 300 },
  });
}

/** Descending values of one row. */
function sortedRow(x: Float32Array, r: number): number[] {
  return Array.from(x.subarray(r * CLASSES, (r + 1) * CLASSES)).sort((a, b) => b - a);
}

test('full float32 logits equal a direct session.run of the teacher exactly, with inputs, labels and rows', async () => {
  const s = await precompute(recipe('mlp.onnx', { kind: 'full', dtype: 'float32' }));
  assert.equal(s.rows, ROWS);
  assert.equal(s.shards, 4);
  const { columns, manifest } = await readCache(s.cacheDir);
  assert.deepEqual(Array.from(columns.row as Int32Array), Array.from({ length: ROWS }, (_, i) => i));
  assert.deepEqual(columns.label, label);
  assert.deepEqual(columns.image, image);
  assert.deepEqual(columns.logits, direct);
  assert.equal(manifest.complete, true);
  assert.deepEqual(manifest.targets, { kind: 'full', vocab: CLASSES, valueDtype: 'float32', idDtype: 'uint8' });
});

test('full float16 logits are the float16 rounding of the direct logits', async () => {
  const s = await precompute(recipe('mlp.onnx', { kind: 'full', dtype: 'float16' }));
  const stored = fromFloat16Bits((await readCache(s.cacheDir)).columns.logits as Uint16Array);
  assert.equal(stored.length, direct.length);
  const bad = Array.from(stored).findIndex((v, i) => !isFloat16Rounding(v, direct[i]!));
  assert.equal(bad, -1, `logit ${bad}: stored ${stored[bad]}, direct ${direct[bad]}`);
});

test('topk holds the k largest direct logits (float16) and a logsumexp within 1e-4 of the float64 one', async () => {
  const k = 4;
  const s = await precompute(recipe('mlp.onnx', { kind: 'topk', k, dtype: 'float16' }));
  const { columns } = await readCache(s.cacheDir);
  const ids = columns.topk_ids as Uint8Array;
  const values = fromFloat16Bits(columns.topk_logits as Uint16Array);
  const lse = columns.logsumexp as Float32Array;
  assert.equal(ids.length, ROWS * k);
  for (let r = 0; r < ROWS; r++) {
    const rowIds = Array.from(ids.subarray(r * k, (r + 1) * k));
    assert.equal(new Set(rowIds).size, k, `row ${r}: ids are distinct`);
    // comparing the direct values at the stored ids with the sorted top-k lets ties pick either id
    const atIds = rowIds.map((id) => direct[r * CLASSES + id]!);
    assert.deepEqual(atIds, sortedRow(direct, r).slice(0, k), `row ${r}: ids are the top-${k} in order`);
    for (let j = 0; j < k; j++) assert.ok(isFloat16Rounding(values[r * k + j]!, atIds[j]!), `row ${r} slot ${j}: ${values[r * k + j]} vs ${atIds[j]}`);
    const ref = logSumExp64(direct, r * CLASSES, CLASSES);
    assert.ok(Math.abs(lse[r]! - ref) <= 1e-4, `row ${r}: logsumexp ${lse[r]} vs float64 ${ref}`);
  }
});

test("output_kind 'probs' on the Softmax teacher gives the logits teacher's top-k ids, log-softmax values and logsumexp ~ 0", async () => {
  const k = 3;
  const s = await precompute(recipe('softmax.onnx', { kind: 'topk', k, dtype: 'float32' }, { output_kind: 'probs' }));
  const { columns } = await readCache(s.cacheDir);
  const ids = columns.topk_ids as Uint8Array;
  const values = columns.topk_logits as Float32Array;
  const lse = columns.logsumexp as Float32Array;
  let tieRows = 0;
  for (let r = 0; r < ROWS; r++) {
    const order = Array.from({ length: CLASSES }, (_, c) => c).sort((a, b) => direct[r * CLASSES + b]! - direct[r * CLASSES + a]!);
    const ref = logSumExp64(direct, r * CLASSES, CLASSES);
    const sorted = order.map((c) => direct[r * CLASSES + c]!);
    // probabilities that round to the same float32 may swap; only compare rows with a clear order
    if (sorted.slice(0, k + 1).some((v, j) => j > 0 && sorted[j - 1]! - v < 1e-5)) { tieRows++; continue; }
    assert.deepEqual(Array.from(ids.subarray(r * k, (r + 1) * k)), order.slice(0, k), `row ${r}`);
    for (let j = 0; j < k; j++) {
      const logProb = direct[r * CLASSES + order[j]!]! - ref;
      assert.ok(Math.abs(values[r * k + j]! - logProb) <= 1e-4 * Math.max(1, Math.abs(logProb)), `row ${r} slot ${j}: ${values[r * k + j]} vs log p ${logProb}`);
    }
    assert.ok(Math.abs(lse[r]!) <= 1e-5, `row ${r}: logsumexp of log-probs is ${lse[r]}, expected ~0`);
  }
  assert.ok(tieRows < ROWS / 20, `expected few near-tie rows, got ${tieRows}`);
});

test('teacher.inputs reshapes the 784-value image column to the [N,1,28,28] input of a 4-D teacher', async () => {
  const s = await precompute(recipe('mlp4d.onnx', { kind: 'full', dtype: 'float32' }, { inputs: { image: { column: 'image', shape: [1, 28, 28] } } }));
  const t4 = mlpClassifier({ seed: 11, imageShape: [1, 28, 28] });
  const direct4 = await directRun(t4.bytes, ROWS, BATCH, (st, e) => ({ image: new ort.Tensor('float32', image.subarray(st * 784, e * 784), [e - st, 1, 28, 28]) }));
  const { columns, manifest } = await readCache(s.cacheDir);
  assert.deepEqual(columns.logits, direct4);
  assert.deepEqual(manifest.teacher.inputs, [{ name: 'image', type: 'float32', shape: ['N', 1, 28, 28] }]);
});
