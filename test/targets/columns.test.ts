import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TeacherError } from '../../src/core/errors/index.js';
import { countDraws, targetColumns, type TargetSpec } from '../../src/cache/targets/index.js';
import { flatValues } from '../../src/core/util/arrow.js';
import { fromFloat16Bits } from '../../src/core/util/float16.js';
import { Rng } from '../../src/core/util/rng.js';

test('countDraws collapses draws into ascending unique ids with counts, padded to n slots', () => {
  const rng = new Rng(5);
  const n = 16, positions = 200, vocab = 12;
  const draws = Int32Array.from({ length: n * positions }, () => rng.int(vocab));
  const { ids, counts } = countDraws(draws, n, vocab);
  for (let p = 0; p < positions; p++) {
    const expected = new Map<number, number>();
    for (const d of draws.subarray(p * n, (p + 1) * n)) expected.set(d, (expected.get(d) ?? 0) + 1);
    const got = new Map<number, number>();
    let prev = -1;
    for (let s = 0; s < n; s++) {
      const c = counts[p * n + s]!;
      if (c === 0) { assert.equal(ids[p * n + s], 0, 'padding slots hold id 0'); continue; }
      assert.ok(ids[p * n + s]! > prev, 'ids ascend');
      prev = ids[p * n + s]!;
      got.set(ids[p * n + s]!, c);
    }
    assert.deepEqual([...got.entries()].sort((a, b) => a[0] - b[0]), [...expected.entries()].sort((a, b) => a[0] - b[0]));
  }
});

test('topk columns carry ids in the smallest type and values in the stored dtype', () => {
  const spec: TargetSpec = { kind: 'topk', vocab: 300, k: 2, valueDtype: 'float16', idDtype: 'uint16', seqLen: 3, positionConvention: 'next-token' };
  const logits = Float32Array.from([5, 4, 3.5, 1, 0.25, -1, 9, 8, 7, 6, 5, 4]);
  const cols = targetColumns(spec, {
    topk_logits: { type: 'float32', data: logits, dims: [2, 3, 2] },
    topk_ids: { type: 'int32', data: Int32Array.from([1, 2, 299, 0, 7, 8, 3, 4, 5, 6, 9, 10]), dims: [2, 3, 2] },
    logsumexp: { type: 'float32', data: Float32Array.from([6, 4, 1, 10, 8, 6]), dims: [2, 3] },
  }, Int32Array.from([0, 1]));
  assert.equal(String(cols.topk_ids!.type), 'FixedSizeList[3]<FixedSizeList[2]<Uint16>>');
  assert.equal(String(cols.topk_logits!.type), 'FixedSizeList[3]<FixedSizeList[2]<Float16>>');
  assert.deepEqual(Array.from(flatValues(cols.topk_ids!) as Uint16Array), [1, 2, 299, 0, 7, 8, 3, 4, 5, 6, 9, 10]);
  // these values are exact in float16
  assert.deepEqual(Array.from(fromFloat16Bits(flatValues(cols.topk_logits!) as Uint16Array)), Array.from(logits));
  assert.deepEqual(Array.from(flatValues(cols.logsumexp!) as Float32Array), [6, 4, 1, 10, 8, 6]);
});

test('NaN or +Inf teacher outputs fail and name the dataset rows; -Inf is a legal logit', () => {
  const spec: TargetSpec = { kind: 'full', vocab: 3, valueDtype: 'float32', idDtype: 'uint8' };
  const ok = targetColumns(spec, { logits: { type: 'float32', data: Float32Array.from([0, -Infinity, 1, 2, 3, 4]), dims: [2, 3] } }, Int32Array.from([10, 11]));
  assert.equal(ok.logits!.length, 2);
  assert.throws(
    () => targetColumns(spec, { logits: { type: 'float32', data: Float32Array.from([0, 1, 2, NaN, 3, NaN, 1, 1, Infinity]), dims: [3, 3] } }, Int32Array.from([40, 41, 42])),
    (e: Error) => e instanceof TeacherError && /NaN\/Inf in 2 row\(s\) of this batch \(dataset rows 41, 42\)/.test(e.message),
  );
});
