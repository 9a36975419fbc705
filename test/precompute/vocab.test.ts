// GPT-2 vocabulary (V = 50,257) over 512-token windows: top-k targets are right, and the peak RSS of
// a precompute process does not grow with the rows although every row has 103 MB of full logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fromFloat16Bits } from '../../src/core/util/float16.js';
import { Rng } from '../../src/core/util/rng.js';
import { compiledTestChild } from '../fixtures/compiled.js';
import { gpt2VocabModel } from '../fixtures/teachers.js';
import { directRun, int64, isFloat16Rounding, largest, logSumExp64, readCache, REPO, tempDir, writeRecipe } from './helpers.js';

const V = 50257;
const T = 512;
const K = 8;
const FULL_ROW_BYTES = T * V * 4;

interface Measured { summary: { cacheDir: string; rows: number }; maxRssBytes: number }

async function measure(recipe: string, rows: number, cwd: string): Promise<Measured> {
  // compiled: the child loads no tsx (test/fixtures/compiled.ts)
  const { stdout } = await promisify(execFile)(process.execPath, [
    compiledTestChild(path.join(REPO, 'test/precompute/fixtures/rss-precompute.ts')), recipe, `dataset.limit=${rows}`, `cache.dir=cache-${rows}`,
  ], { cwd, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Measured;
}

test('V = 50257, T = 512: topk k=8 matches a direct run, and peak RSS stays flat from 2 to 8 rows', async () => {
  const dir = await tempDir('pre-vocab');
  const teacher = gpt2VocabModel({ seed: 91 });
  writeFileSync(path.join(dir, 'gpt2v.onnx'), teacher.bytes);
  const rng = new Rng(3);
  const stream = Array.from({ length: 8 * T + 1 }, () => rng.int(V));
  writeFileSync(path.join(dir, 'ids.jsonl'), Array.from({ length: 8 }, (_, r) => JSON.stringify({ input_ids: stream.slice(r * T, r * T + T), labels: stream.slice(r * T + 1, r * T + T + 1) })).join('\n'));
  const recipe = writeRecipe(dir, 'r.yaml', {
    teacher: { path: 'gpt2v.onnx', batch_size: 1 },
    // random ids over the whole vocabulary: a byte dataset would be refused as not the teacher's vocabulary
    dataset: { name: 'file', path: 'ids.jsonl', label: 'labels', dtypes: { input_ids: 'int32', labels: 'int32' } },
    targets: { kind: 'topk', k: K, dtype: 'float16' },
    cache: { shard_rows: 2 },
  });
  const [small, large] = await Promise.all([measure(recipe, 2, dir), measure(recipe, 8, dir)]);
  assert.equal(large.summary.rows, 8);
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;
  console.log(`peak RSS: ${mb(small.maxRssBytes)} for 2 rows, ${mb(large.maxRssBytes)} for 8 rows; full float32 logits would be ${mb(8 * FULL_ROW_BYTES)} for 8 rows`);
  // six more rows would add 6 x 103 MB if full logits were held; allow a small fraction of one row for noise
  assert.ok(large.maxRssBytes - small.maxRssBytes < FULL_ROW_BYTES / 2, `RSS grew by ${mb(large.maxRssBytes - small.maxRssBytes)} from 2 to 8 rows`);
  assert.ok(large.maxRssBytes < 8 * FULL_ROW_BYTES, `peak RSS ${mb(large.maxRssBytes)} vs ${mb(8 * FULL_ROW_BYTES)} of full logits`);

  // row 0 against the original teacher
  const { columns, manifest } = await readCache(large.summary.cacheDir);
  assert.equal(manifest.targets.idDtype, 'uint16');
  const inputIds = (columns.input_ids as Int32Array).subarray(0, T);
  const logits = await directRun(teacher.bytes, 1, 1, () => ({ input_ids: int64(inputIds, [1, T]), attention_mask: int64(new Int32Array(T).fill(1), [1, T]) }));
  const ids = columns.topk_ids as Uint16Array;
  const values = fromFloat16Bits(columns.topk_logits as Uint16Array);
  const lse = columns.logsumexp as Float32Array;
  // the head takes logsumexp in two levels, 1733 blocks of 29 (src/precompute/head/soft-targets.ts): float32 error
  // up to (1733 + 29) * 2^-24 in the worst case, plus the rounding of lse itself (an ulp of |lse|)
  const bound = (ref: number): number => (1733 + 29) * 2 ** -24 + Math.abs(ref) * 2 ** -23;
  let worst = 0;
  let errorSum = 0;
  for (let t = 0; t < T; t++) {
    const row = logits.subarray(t * V, (t + 1) * V);
    const top = largest(row, 0, V, K);
    const got = Array.from(ids.subarray(t * K, (t + 1) * K));
    assert.deepEqual(got.map((id) => row[id]!), top, `position ${t}: the k largest logits, in order`);
    for (let j = 0; j < K; j++) assert.ok(isFloat16Rounding(values[t * K + j]!, top[j]!), `position ${t} slot ${j}`);
    const ref = logSumExp64(row, 0, V);
    const error = Math.abs(lse[t]! - ref);
    assert.ok(error <= bound(ref), `position ${t}: logsumexp ${lse[t]} vs float64 ${ref}, expected an error <= ${bound(ref)}`);
    errorSum += error;
    worst = Math.max(worst, error);
  }
  console.log(`logsumexp vs float64 at V=${V}: mean error ${(errorSum / T).toExponential(2)}, worst ${worst.toExponential(2)}`);
  assert.ok(errorSum / T <= 1e-5, `mean logsumexp error ${errorSum / T}`);
});
