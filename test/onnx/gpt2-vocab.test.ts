import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendSoftTargetHead } from '../../src/precompute/head/index.js';
import { Rng } from '../../src/core/util/rng.js';
import { gpt2VocabModel } from '../fixtures/teachers.js';
import { drawWithinTolerance, inverseCdfAll, logSumExp, softmax, topK } from './reference.js';
import { floatTensor, int64Tensor, runOnce, type ort } from './run.js';

const V = 50257;
const T = 512;
const teacher = gpt2VocabModel({ seed: 17 });
const rng = new Rng(1);
const ids = Array.from({ length: T }, () => rng.int(V));
const feeds = (): Record<string, ort.Tensor> => ({ input_ids: int64Tensor(ids, [1, T]), attention_mask: int64Tensor(ids.map(() => 1), [1, T]) });

/** The plain model's full [1, 512, 50257] logits, computed once for both tests. */
let plain: Float32Array | undefined;
async function plainLogits(): Promise<Float32Array> {
  plain ??= (await runOnce(teacher.bytes, feeds())).outputs.logits!.data as Float32Array;
  return plain;
}
const row = (data: Float32Array, t: number): Float32Array => data.subarray(t * V, (t + 1) * V);

test('V=50257, T=512: topk head shapes, and ids/values/logsumexp against JS on the first positions', async () => {
  const k = 16;
  const { outputs, outputNames } = await runOnce(appendSoftTargetHead(teacher.bytes, { kind: 'topk', k }), feeds());
  assert.deepStrictEqual([...outputNames], ['topk_logits', 'topk_ids', 'logsumexp']);
  assert.deepStrictEqual(outputs.topk_logits!.dims, [1, T, k]);
  assert.deepStrictEqual(outputs.topk_ids!.dims, [1, T, k]);
  assert.deepStrictEqual(outputs.logsumexp!.dims, [1, T]);
  const data = await plainLogits();
  const idx = outputs.topk_ids!.data as Int32Array;
  const vals = outputs.topk_logits!.data as Float32Array;
  const lse = outputs.logsumexp!.data as Float32Array;
  for (let t = 0; t < 6; t++) {
    const r = row(data, t);
    const want = topK(r, k);
    for (let j = 0; j < k; j++) {
      const id = idx[t * k + j]!;
      if (id !== want[j]) assert.equal(r[id], r[want[j]!], 'ties aside, ids equal');
      assert.equal(vals[t * k + j], r[id]);
    }
    assert.ok(Math.abs(lse[t]! - logSumExp(r)) < 1e-4);
  }
  // all positions: the top value is the row max (cheap check over the whole sequence)
  for (let t = 0; t < T; t++) {
    const r = row(data, t);
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, r[v]!);
    assert.equal(vals[t * k], max);
  }
});

test('V=50257, T=512: sampled draws equal the JS float64 inverse CDF at every position (< 0.5% boundary cases)', async () => {
  const n = 8;
  const u = new Float32Array(T * n);
  for (let t = 0; t < T; t++) {
    const r = Rng.derive(7, t);
    for (let j = 0; j < n; j++) u[t * n + j] = r.next();
  }
  const head = appendSoftTargetHead(teacher.bytes, { kind: 'sampled', samples: n, temperature: 0.9 });
  const { outputs } = await runOnce(head, { ...feeds(), uniforms: floatTensor(u, [1, T, n]) });
  assert.deepStrictEqual(outputs.sample_ids!.dims, [1, T, n]);
  const got = outputs.sample_ids!.data as Int32Array;
  const data = await plainLogits();
  let mismatches = 0;
  for (let t = 0; t < T; t++) {
    const p = softmax(row(data, t), 0.9);
    const want = inverseCdfAll(p, u.subarray(t * n, (t + 1) * n));
    for (let j = 0; j < n; j++) {
      const id = got[t * n + j]!;
      if (id === want[j]) continue;
      mismatches++;
      assert.ok(drawWithinTolerance(p, id, u[t * n + j]!, 1e-6), `position ${t}: id ${id} is not at a CDF boundary of u=${u[t * n + j]}`);
    }
  }
  assert.ok(mismatches < 0.005 * got.length, `${mismatches} of ${got.length} draws differ`);
});
