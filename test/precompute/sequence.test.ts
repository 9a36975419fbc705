// Cached per-token targets of a causal LM teacher against a direct onnxruntime run of the ORIGINAL teacher.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { precompute } from '../../src/precompute/index.js';
import { fromFloat16Bits } from '../../src/core/util/float16.js';
import { sequenceModel } from '../fixtures/teachers.js';
import { datasetColumns, directRun, int64, isFloat16Rounding, largest, logSumExp64, readCache, recipeIn, tempDir } from './helpers.js';

const ROWS = 200;
const T = 32;
const V = 256;
const BATCH = 16;
let dir: string;
let inputIds: Int32Array;
/** Direct logits [ROWS, T, V]. */
let direct: Float32Array;
const teacher = sequenceModel({ vocab: V, dModel: 32, seed: 21, embeddingStd: 1 });

before(async () => {
  dir = await tempDir('pre-seq');
  writeFileSync(path.join(dir, 'lm.onnx'), teacher.bytes);
  inputIds = (await datasetColumns({ name: 'moby-dick', split: 'train', seqLen: T, limit: ROWS })).input_ids as Int32Array;
  direct = await directRun(teacher.bytes, ROWS, BATCH, (s, e) => {
    const ids = inputIds.subarray(s * T, e * T);
    return { input_ids: int64(ids, [e - s, T]), attention_mask: int64(new Int32Array(ids.length).fill(1), [e - s, T]) };
  });
});

function recipe(targets: Record<string, unknown>) {
  return recipeIn(dir, {
    teacher: { path: 'lm.onnx', batch_size: BATCH },
    dataset: { name: 'moby-dick', split: 'train', seq_len: T, limit: ROWS },
    targets,
    cache: { root: 'cache', shard_rows: 64 },
  });
}

test('full float32 per-token logits equal the direct run exactly; input_ids and labels are the windows', async () => {
  const s = await precompute(recipe({ kind: 'full', dtype: 'float32' }));
  const { columns, manifest } = await readCache(s.cacheDir);
  assert.deepEqual(columns.input_ids, inputIds);
  // next-token labels: labels[j] = input_ids[j + 1] inside a row (stride = seq_len, so the last one is the next row's first)
  const labels = columns.labels as Int32Array;
  for (let r = 0; r + 1 < ROWS; r++) {
    for (let j = 0; j + 1 < T; j++) assert.equal(labels[r * T + j], inputIds[r * T + j + 1]);
    assert.equal(labels[r * T + T - 1], inputIds[(r + 1) * T]);
  }
  assert.deepEqual(columns.logits, direct);
  assert.equal(manifest.targets.seqLen, T);
  assert.equal(manifest.targets.positionConvention, 'next-token');
});

test('full float16 per-token logits are the float16 rounding of the direct logits', async () => {
  const s = await precompute(recipe({ kind: 'full', dtype: 'float16' }));
  const stored = fromFloat16Bits((await readCache(s.cacheDir)).columns.logits as Uint16Array);
  const bad = Array.from(stored).findIndex((v, i) => !isFloat16Rounding(v, direct[i]!));
  assert.equal(bad, -1, `logit ${bad}: stored ${stored[bad]}, direct ${direct[bad]}`);
});

test('per-token topk holds the k largest direct logits (float16) and logsumexp within 1e-4 of float64', async () => {
  const k = 8;
  const s = await precompute(recipe({ kind: 'topk', k, dtype: 'float16' }));
  const { columns } = await readCache(s.cacheDir);
  const ids = columns.topk_ids as Uint8Array;
  const values = fromFloat16Bits(columns.topk_logits as Uint16Array);
  const lse = columns.logsumexp as Float32Array;
  assert.equal(lse.length, ROWS * T);
  let worstLse = 0;
  for (let p = 0; p < ROWS * T; p++) {
    const row = direct.subarray(p * V, (p + 1) * V);
    const top = largest(row, 0, V, k);
    const got = Array.from(ids.subarray(p * k, (p + 1) * k));
    assert.equal(new Set(got).size, k, `position ${p}: distinct ids`);
    // direct values at the stored ids must be the sorted top-k (ties may pick either id)
    assert.deepEqual(got.map((id) => row[id]!), top, `position ${p}`);
    for (let j = 0; j < k; j++) assert.ok(isFloat16Rounding(values[p * k + j]!, top[j]!), `position ${p} slot ${j}`);
    worstLse = Math.max(worstLse, Math.abs(lse[p]! - logSumExp64(row, 0, V)));
  }
  assert.ok(worstLse <= 1e-4, `largest logsumexp error ${worstLse}`);
});
