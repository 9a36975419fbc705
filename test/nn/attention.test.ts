import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { causalSelfAttention, type AttentionWeights } from '../../src/train/nn/index.js';
import { Rng } from '../../src/core/util/index.js';
import { assertClose, assertNoLeak, normalData, use, valueAndGrads } from './helpers.js';

const B = 2, T = 5, D = 8, H = 2, dh = D / H;
const rng = new Rng(11);
const data = {
  x: normalData(rng, B * T * D), qkvK: normalData(rng, D * 3 * D, 0.4), qkvB: normalData(rng, 3 * D, 0.1),
  projK: normalData(rng, D * D, 0.4), projB: normalData(rng, D, 0.1),
};
const inputs = (): tf.Tensor[] => [
  tf.tensor2d(data.x, [B * T, D]), tf.tensor2d(data.qkvK, [D, 3 * D]), tf.tensor1d(data.qkvB),
  tf.tensor2d(data.projK, [D, D]), tf.tensor1d(data.projB),
];
const weights = (qkvKernel: tf.Tensor, qkvBias: tf.Tensor, projKernel: tf.Tensor, projBias: tf.Tensor): AttentionWeights =>
  ({ qkvKernel, qkvBias, projKernel, projBias }) as AttentionWeights;

const custom = (x: tf.Tensor, ...w: tf.Tensor[]): tf.Tensor =>
  causalSelfAttention(x as tf.Tensor2D, weights(w[0]!, w[1]!, w[2]!, w[3]!), { batch: B, seqLen: T, heads: H });

// The textbook formulation with tf.matMul and per-head slicing; tfjs derives its gradient.
function naive(x: tf.Tensor, qkvK: tf.Tensor, qkvB: tf.Tensor, projK: tf.Tensor, projB: tf.Tensor): tf.Tensor {
  const qkv = tf.add(tf.matMul(x as tf.Tensor2D, qkvK as tf.Tensor2D), qkvB);
  const heads: tf.Tensor[] = [];
  const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0); // 1 on and below the diagonal
  for (let h = 0; h < H; h++) {
    const part = (j: number): tf.Tensor3D => tf.reshape(tf.slice(qkv, [0, j * D + h * dh], [B * T, dh]), [B, T, dh]);
    const s = tf.div(tf.matMul(part(0), part(1), false, true), Math.sqrt(dh));
    const masked = tf.add(tf.mul(s, mask), tf.mul(tf.sub(1, mask), -1e9));
    heads.push(tf.reshape(tf.matMul(tf.softmax(masked), part(2)), [B * T, dh]));
  }
  return tf.add(tf.matMul(tf.concat(heads, 1) as tf.Tensor2D, projK as tf.Tensor2D), projB);
}

test('causalSelfAttention: value and all gradients equal the naive formulation on cpu; wasm equals cpu; no leaks', async () => {
  const probe = normalData(new Rng(5), B * T * D);
  const f = (...xs: tf.Tensor[]): tf.Tensor => custom(xs[0]!, ...xs.slice(1));
  const g = (...xs: tf.Tensor[]): tf.Tensor => naive(xs[0]!, xs[1]!, xs[2]!, xs[3]!, xs[4]!);
  await use('cpu');
  const cpuIn = inputs();
  const expected = valueAndGrads(g, cpuIn, probe);
  const actual = valueAndGrads(f, cpuIn, probe);
  expected.forEach((e, i) => assertClose(actual[i]!, e, 1e-5, `attention cpu output ${i}`));
  tf.dispose(cpuIn);
  await use('wasm');
  const wasmIn = inputs();
  const onWasm = valueAndGrads(f, wasmIn, probe);
  actual.forEach((e, i) => assertClose(onWasm[i]!, e, 1e-4, `attention wasm output ${i}`));
  assertNoLeak('attention', () => { valueAndGrads(f, wasmIn, probe); });
  tf.dispose(wasmIn);
});

test('causalSelfAttention: output at position i does not depend on inputs at positions > i', async () => {
  await use('cpu');
  const [x, ...w] = inputs();
  const changed = Float32Array.from(data.x);
  const t = 3;
  for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) changed[(b * T + t) * D + d]! += 5;
  const y0 = tf.tidy(() => custom(x!, ...w).dataSync());
  const y1 = tf.tidy(() => custom(tf.tensor2d(changed, [B * T, D]), ...w).dataSync());
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      const row = (k: ArrayLike<number>): number[] => Array.from({ length: D }, (_, d) => k[(b * T + i) * D + d]!);
      if (i < t) assert.deepEqual(row(y1), row(y0), `expected row ${i} of batch ${b} unchanged`);
      else assert.notDeepEqual(row(y1), row(y0), `expected row ${i} of batch ${b} to change`);
    }
  }
  tf.dispose([x!, ...w]);
});
