import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendSoftTargetHead } from '../../src/onnx/index.js';
import { Rng } from '../../src/util/rng.js';
import { gpt2VocabModel } from '../fixtures/teachers.js';
import { inverseCdf, logSumExp, softmax, topK } from './reference.js';
import { floatTensor, int64Tensor, runOnce, type ort } from './run.js';

const V = 50257;
const T = 512;
const CHECKED = 4; // positions compared against JS over the full logits
const teacher = gpt2VocabModel({ seed: 17 });
const rng = new Rng(1);
const ids = Array.from({ length: T }, () => rng.int(V));
const feeds = (): Record<string, ort.Tensor> => ({ input_ids: int64Tensor(ids, [1, T]), attention_mask: int64Tensor(ids.map(() => 1), [1, T]) });

/** The plain model's logits for the first CHECKED positions (the full [1,512,50257] tensor is dropped after). */
async function firstRows(): Promise<Float32Array[]> {
  const data = (await runOnce(teacher.bytes, feeds())).outputs.logits!.data as Float32Array;
  return Array.from({ length: CHECKED }, (_, t) => data.slice(t * V, (t + 1) * V));
}

test('V=50257, T=512: topk head shapes, ids/values and logsumexp match JS on the first positions', async () => {
  const k = 16;
  const rows = await firstRows();
  const { outputs, outputNames } = await runOnce(appendSoftTargetHead(teacher.bytes, { kind: 'topk', k }), feeds());
  assert.deepStrictEqual([...outputNames], ['topk_logits', 'topk_ids', 'logsumexp']);
  assert.deepStrictEqual(outputs.topk_logits!.dims, [1, T, k]);
  assert.deepStrictEqual(outputs.topk_ids!.dims, [1, T, k]);
  assert.deepStrictEqual(outputs.logsumexp!.dims, [1, T]);
  const idx = outputs.topk_ids!.data as Int32Array;
  const vals = outputs.topk_logits!.data as Float32Array;
  rows.forEach((row, t) => {
    const want = topK(row, k);
    for (let j = 0; j < k; j++) {
      const id = idx[t * k + j]!;
      if (id !== want[j]) assert.equal(row[id], row[want[j]!], 'ties aside, ids equal');
      assert.equal(vals[t * k + j], row[id]);
    }
    assert.ok(Math.abs((outputs.logsumexp!.data as Float32Array)[t]! - logSumExp(row)) < 1e-4);
  });
  // every position's top value is its row maximum, so values are sorted and within the logsumexp
  for (let t = 0; t < T; t++) assert.ok(vals[t * k]! >= vals[t * k + k - 1]! && vals[t * k]! <= (outputs.logsumexp!.data as Float32Array)[t]!);
});

test('V=50257, T=512: sampled head draws match the JS inverse CDF on the first positions', async () => {
  const n = 4;
  const rows = await firstRows();
  const u = new Float32Array(T * n);
  for (let t = 0; t < T; t++) {
    const r = Rng.derive(7, t);
    for (let j = 0; j < n; j++) u[t * n + j] = r.next();
  }
  const { outputs } = await runOnce(appendSoftTargetHead(teacher.bytes, { kind: 'sampled', samples: n }), { ...feeds(), uniforms: floatTensor(u, [1, T, n]) });
  assert.deepStrictEqual(outputs.sample_ids!.dims, [1, T, n]);
  const got = outputs.sample_ids!.data as Int32Array;
  assert.ok(got.every((id) => id >= 0 && id < V));
  let mismatches = 0;
  rows.forEach((row, t) => {
    const p = softmax(row);
    for (let j = 0; j < n; j++) if (got[t * n + j] !== inverseCdf(p, u[t * n + j]!)) mismatches++;
  });
  assert.ok(mismatches <= 1, `${mismatches} of ${CHECKED * n} draws differ`);
});
