import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GradientAccumulator, clipByGlobalNorm } from '../../src/train/optim/index.js';
import { Rng } from '../../src/core/util/index.js';
import { SHAPES, disposeAll, makeGrads, randomGradSeq } from './reference.js';

await tf.setBackend('cpu');

function norm64(gs: Record<string, Float32Array>): number {
  let s = 0;
  for (const g of Object.values(gs)) for (const x of g) s += x * x;
  return Math.sqrt(s);
}

const read = (ts: Record<string, tf.Tensor>) =>
  Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, t.dataSync() as Float32Array]));

/** |a - e| <= rel * magnitude, where magnitude defaults to max(|e|, 1e-3) (pass sum of |terms| for sums that cancel). */
function assertClose(
  actual: Record<string, Float32Array>, expected: Record<string, Float64Array>, rel: number,
  magnitude?: Record<string, Float64Array>,
): void {
  for (const [k, e] of Object.entries(expected)) {
    const a = actual[k]!;
    assert.equal(a.length, e.length);
    for (let j = 0; j < e.length; j++) {
      const m = magnitude?.[k]![j] ?? Math.max(Math.abs(e[j]!), 1e-3);
      assert.ok(Math.abs(a[j]! - e[j]!) <= rel * m, `${k}[${j}]: expected ${e[j]}, got ${a[j]}`);
    }
  }
}

test('clipByGlobalNorm returns the pre-clip norm and scales to maxNorm like a float64 reference', () => {
  const [values] = randomGradSeq(31, 1);
  const expectedNorm = norm64(values!);
  const before = tf.memory().numTensors;
  const grads = makeGrads(values!);
  const maxNorm = expectedNorm / 3;
  const out = clipByGlobalNorm(grads, maxNorm);
  assert.ok(Math.abs(out.norm - expectedNorm) <= 1e-6 * expectedNorm, `expected norm ${expectedNorm}, got ${out.norm}`);
  const scale = maxNorm / (expectedNorm + 1e-6);
  assertClose(read(out.grads), Object.fromEntries(Object.entries(values!).map(([k, v]) => [k, Float64Array.from(v, (x) => x * scale)])), 1e-6);
  assert.ok(Math.abs(norm64(read(out.grads)) - maxNorm) <= 1e-5 * maxNorm);
  // inputs untouched and still alive; result owned by the caller
  assert.deepEqual(grads['dense/kernel']!.dataSync(), values!['dense/kernel']);
  disposeAll(grads);
  disposeAll(out.grads);
  assert.equal(tf.memory().numTensors, before);
});

test('clipByGlobalNorm leaves gradients under maxNorm unchanged', () => {
  const [values] = randomGradSeq(32, 1);
  const grads = makeGrads(values!);
  const out = clipByGlobalNorm(grads, norm64(values!) * 2);
  for (const k of Object.keys(values!)) assert.deepEqual(out.grads[k]!.dataSync(), values![k]);
  assert.notEqual(out.grads['dense/kernel'], grads['dense/kernel']);
  disposeAll(grads);
  disposeAll(out.grads);
});

test('clipByGlobalNorm reports a non-finite norm without scaling', () => {
  const g = tf.tensor([1, Number.POSITIVE_INFINITY, 2]);
  const out = clipByGlobalNorm({ g }, 1);
  assert.equal(out.norm, Number.POSITIVE_INFINITY);
  assert.deepEqual(Array.from(out.grads.g!.dataSync()), [1, Number.POSITIVE_INFINITY, 2]);
  g.dispose();
  disposeAll(out.grads);
});

test('GradientAccumulator sums micro-batches, disposes its inputs and scales on take()', () => {
  const seq = randomGradSeq(33, 4);
  const before = tf.memory().numTensors;
  const acc = new GradientAccumulator();
  const inputs: tf.Tensor[] = [];
  for (const values of seq) {
    // micro-batch grads typically come out of a tf.tidy; the sum must survive it
    tf.tidy(() => {
      const grads = makeGrads(values);
      inputs.push(...Object.values(grads));
      acc.add(grads);
    });
  }
  assert.equal(acc.count, 4);
  const counts = new Rng(34).int(50) + 10;
  const mean = acc.take(1 / counts);
  assert.equal(acc.count, 0);
  const expected: Record<string, Float64Array> = {};
  const magnitude: Record<string, Float64Array> = {};
  for (const [k, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((a, b) => a * b, 1);
    expected[k] = Float64Array.from({ length: n }, (_, j) => seq.reduce((s, g) => s + g[k]![j]!, 0) / counts);
    magnitude[k] = Float64Array.from({ length: n }, (_, j) => seq.reduce((s, g) => s + Math.abs(g[k]![j]!), 0) / counts);
  }
  assertClose(read(mean), expected, 1e-6, magnitude);
  for (const k of Object.keys(SHAPES)) assert.deepEqual(mean[k]!.shape, SHAPES[k]);
  // every input was disposed: the first became the running sum, which was freed on the next add
  assert.ok(inputs.every((t) => t.isDisposed));
  disposeAll(mean);
  assert.equal(tf.memory().numTensors, before);
});

test('GradientAccumulator take() without scale hands over the raw sum; reset() frees it', () => {
  const acc = new GradientAccumulator();
  const before = tf.memory().numTensors;
  acc.add({ w: tf.tensor([1, 2, 3]) });
  acc.add({ w: tf.tensor([10, 20, 30]), b: tf.tensor([5]) });
  const sum = acc.take();
  assert.deepEqual(Array.from(sum.w!.dataSync()), [11, 22, 33]);
  assert.deepEqual(Array.from(sum.b!.dataSync()), [5]);
  disposeAll(sum);
  acc.add({ w: tf.tensor([1, 2, 3]) });
  const ok = tf.tensor([7]);
  const bad = tf.tensor([1, 2]);
  assert.throws(() => acc.add({ b: ok, w: bad }), /expected gradient 'w' of shape \[3\], got \[2\]/);
  // a rejected micro-batch is not taken: both tensors stay alive and with the caller
  assert.ok(!ok.isDisposed && !bad.isDisposed);
  assert.equal(acc.count, 1);
  ok.dispose();
  bad.dispose();
  acc.reset();
  assert.equal(tf.memory().numTensors, before);
});
