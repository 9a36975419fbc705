import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { bmm, conv2dSame, dense, embedding, gelu, layerNorm, LAYER_NORM_EPSILON } from '../../src/train/nn/index.js';
import { Rng } from '../../src/core/util/index.js';
import { assertClose, assertNoLeak, normalData, use, valueAndGrads } from './helpers.js';

// Each case: the custom-gradient op, the naive formulation whose gradient tfjs derives itself, and inputs.
interface Case {
  name: string;
  custom: (...xs: tf.Tensor[]) => tf.Tensor;
  naive: (...xs: tf.Tensor[]) => tf.Tensor;
  inputs: () => tf.Tensor[];
  outSize: number;
}

const rng = new Rng(7);
const M = 12, K = 9, N = 7;
const data = {
  x: normalData(rng, M * K), W: normalData(rng, K * N, 0.5), b: normalData(rng, N),
  a3: normalData(rng, 3 * 5 * 4), b3: normalData(rng, 3 * 4 * 6),
  ids: Int32Array.from({ length: 20 }, (_, i) => (i * 7) % 11), // duplicates included
  table: normalData(rng, 11 * 5),
  ln: normalData(rng, M * K, 3), g: normalData(rng, K), beta: normalData(rng, K),
  img: normalData(rng, 2 * 6 * 5 * 3), f: normalData(rng, 3 * 3 * 3 * 4, 0.5), fb: normalData(rng, 4),
};

const cases: Case[] = [
  {
    name: 'dense', outSize: M * N,
    custom: (x, W, b) => dense(x as tf.Tensor2D, W as tf.Tensor2D, b as tf.Tensor1D),
    naive: (x, W, b) => tf.add(tf.matMul(x as tf.Tensor2D, W as tf.Tensor2D), b!),
    inputs: () => [tf.tensor2d(data.x, [M, K]), tf.tensor2d(data.W, [K, N]), tf.tensor1d(data.b)],
  },
  {
    name: 'dense relu', outSize: M * N,
    custom: (x, W, b) => dense(x as tf.Tensor2D, W as tf.Tensor2D, b as tf.Tensor1D, { activation: 'relu' }),
    naive: (x, W, b) => tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, W as tf.Tensor2D), b!)),
    inputs: () => [tf.tensor2d(data.x, [M, K]), tf.tensor2d(data.W, [K, N]), tf.tensor1d(data.b)],
  },
  {
    name: 'dense no bias', outSize: M * N,
    custom: (x, W) => dense(x as tf.Tensor2D, W as tf.Tensor2D),
    naive: (x, W) => tf.matMul(x as tf.Tensor2D, W as tf.Tensor2D),
    inputs: () => [tf.tensor2d(data.x, [M, K]), tf.tensor2d(data.W, [K, N])],
  },
  {
    name: 'bmm', outSize: 3 * 5 * 6,
    custom: (a, b) => bmm(a as tf.Tensor3D, b as tf.Tensor3D),
    naive: (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    inputs: () => [tf.tensor3d(data.a3, [3, 5, 4]), tf.tensor3d(data.b3, [3, 4, 6])],
  },
  {
    name: 'embedding', outSize: 20 * 5,
    custom: (ids, t) => embedding(ids as tf.Tensor1D, t as tf.Tensor2D),
    naive: (ids, t) => tf.gather(t!, ids!),
    inputs: () => [tf.tensor1d(data.ids, 'int32'), tf.tensor2d(data.table, [11, 5])],
  },
  {
    name: 'layerNorm', outSize: M * K,
    custom: (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D),
    naive: (x, g, b) => {
      const { mean, variance } = tf.moments(x!, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x!, mean), tf.sqrt(tf.add(variance, LAYER_NORM_EPSILON))), g!), b!);
    },
    inputs: () => [tf.tensor2d(data.ln, [M, K]), tf.tensor1d(data.g), tf.tensor1d(data.beta)],
  },
  {
    name: 'gelu', outSize: M * K,
    custom: (x) => gelu(x!),
    naive: (x) => tf.mul(tf.mul(0.5, x!), tf.add(1, tf.erf(tf.div(x!, Math.SQRT2)))),
    inputs: () => [tf.tensor2d(data.ln, [M, K])],
  },
  {
    name: 'conv2dSame relu', outSize: 2 * 6 * 5 * 4,
    custom: (x, f, b) => conv2dSame(x as tf.Tensor4D, f as tf.Tensor4D, b as tf.Tensor1D, { activation: 'relu' }),
    naive: (x, f, b) => tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), b!)),
    inputs: () => [tf.tensor4d(data.img, [2, 6, 5, 3]), tf.tensor4d(data.f, [3, 3, 3, 4]), tf.tensor1d(data.fb)],
  },
];

for (const c of cases) {
  test(`${c.name}: value and gradients equal tfjs's own on the naive formulation (cpu), and wasm equals cpu`, async () => {
    const probe = normalData(new Rng(99), c.outSize);
    await use('cpu');
    const inputsCpu = c.inputs();
    const expected = valueAndGrads(c.naive, inputsCpu, probe);
    const actual = valueAndGrads(c.custom, inputsCpu, probe);
    assert.equal(actual.length, expected.length);
    expected.forEach((e, i) => assertClose(actual[i]!, e, 1e-5, `${c.name} cpu output ${i}`));
    tf.dispose(inputsCpu);

    await use('wasm');
    const inputsWasm = c.inputs();
    const onWasm = valueAndGrads(c.custom, inputsWasm, probe);
    actual.forEach((e, i) => assertClose(onWasm[i]!, e, 1e-4, `${c.name} wasm output ${i}`));
    assertNoLeak(c.name, () => { valueAndGrads(c.custom, inputsWasm, probe); });
    tf.dispose(inputsWasm);
  });
}

test('dense with inputGrad: false returns a zero input gradient and the same weight gradients', async () => {
  await use('wasm');
  const x = tf.tensor2d(data.x, [M, K]), W = tf.tensor2d(data.W, [K, N]), b = tf.tensor1d(data.b);
  const probe = normalData(new Rng(3), M * N);
  const full = valueAndGrads((x, W, b) => dense(x as tf.Tensor2D, W as tf.Tensor2D, b as tf.Tensor1D), [x, W, b], probe);
  const lean = valueAndGrads((x, W, b) => dense(x as tf.Tensor2D, W as tf.Tensor2D, b as tf.Tensor1D, { inputGrad: false }), [x, W, b], probe);
  assert.ok(lean[1]!.every((v) => v === 0), 'expected dx to be all zeros');
  assert.ok(full[1]!.some((v) => v !== 0), 'expected the full dx to be non-zero');
  assert.deepEqual(lean[2], full[2]);
  assert.deepEqual(lean[3], full[3]);
  tf.dispose([x, W, b]);
});
