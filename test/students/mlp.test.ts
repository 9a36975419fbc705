import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildStudent, flopsPerSample, type MlpActivation, type MlpSpec } from '../../src/train/students/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import { Rng } from '../../src/core/util/index.js';
import { assertClose, assertNoLeak, normalData, use } from '../nn/helpers.js';
import { erf64 } from './helpers.js';

const spec = (activation: MlpActivation): MlpSpec => ({ arch: 'mlp', inputs: 6, hidden: [5, 4], activation, dropout: 0.2, classes: 3 });

// float64 forward from the exported weights, following the documented math.
function reference(s: MlpSpec, w: Record<string, { shape: number[]; data: Float32Array }>, x: Float32Array, B: number): number[] {
  const act = (v: number): number =>
    s.activation === 'relu' ? Math.max(0, v) : s.activation === 'tanh' ? Math.tanh(v) : 0.5 * v * (1 + erf64(v / Math.SQRT2));
  let h = Array.from({ length: B }, (_, b) => Array.from(x.subarray(b * s.inputs, (b + 1) * s.inputs)));
  const n = s.hidden.length;
  for (let i = 0; i <= n; i++) {
    const k = w[`dense_${i}/kernel`]!, bias = w[`dense_${i}/bias`]!;
    const [fin, fout] = k.shape as [number, number];
    h = h.map((row) => Array.from({ length: fout }, (_, o) => {
      let z = bias.data[o]!;
      for (let j = 0; j < fin; j++) z += row[j]! * k.data[j * fout + o]!;
      return i < n ? act(z) : z;
    }));
  }
  return h.flat();
}

for (const activation of ['relu', 'gelu', 'tanh'] as const) {
  test(`mlp ${activation}: logits [B,classes] equal a float64 reference on cpu and wasm; eval mode ignores dropout`, async () => {
    const s = spec(activation);
    const B = 4;
    const x = normalData(new Rng(2), B * s.inputs);
    for (const backend of ['cpu', 'wasm'] as const) {
      await use(backend);
      const st = buildStudent(s, { seed: 3 });
      const expected = reference(s, st.getWeights(), x, B);
      const xs = tf.tensor2d(x, [B, s.inputs]);
      const y = st.forward(st.params, xs, { training: false });
      assert.deepEqual(y.shape, [B, s.classes]);
      assertClose(y.dataSync(), expected, 1e-5, `${activation} ${backend}`);
      assertNoLeak('mlp forward', () => { st.forward(st.params, xs, { training: false }).dispose(); });
      tf.dispose([xs, y]);
      st.dispose();
    }
  });
}

test('mlp: parameter count is sum of in*out + out; FLOPs are 2*sum(in*out); inputs [B,2,3] are flattened', async () => {
  await use('cpu');
  const s: MlpSpec = { arch: 'mlp', inputs: 6, hidden: [5, 4], activation: 'relu', dropout: 0, classes: 3 };
  const st = buildStudent(s);
  assert.equal(st.parameterCount(), 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
  assert.equal(flopsPerSample(s), 2 * (6 * 5 + 5 * 4 + 4 * 3));
  assert.deepEqual(Object.keys(st.params), ['dense_0/kernel', 'dense_0/bias', 'dense_1/kernel', 'dense_1/bias', 'dense_2/kernel', 'dense_2/bias']);
  const y = tf.tidy(() => st.forward(st.params, tf.zeros([2, 2, 3]), { training: false }));
  assert.deepEqual(y.shape, [2, 3]);
  assert.throws(() => st.forward(st.params, tf.zeros([2, 7]), { training: false }), TrainError);
  y.dispose();
  st.dispose();
});

test('mlp: initial weights follow He/Glorot bounds, zero biases, and depend only on the seed', async () => {
  await use('cpu');
  const s: MlpSpec = { arch: 'mlp', inputs: 50, hidden: [40], activation: 'relu', dropout: 0, classes: 10 };
  const [a, b, c] = [buildStudent(s, { seed: 1 }), buildStudent(s, { seed: 1 }), buildStudent(s, { seed: 2 })];
  const wa = a.getWeights();
  assert.deepEqual(b.getWeights(), wa);
  assert.notDeepEqual(c.getWeights()['dense_0/kernel']!.data, wa['dense_0/kernel']!.data);
  const he = Math.sqrt(6 / 50), glorot = Math.sqrt(6 / (40 + 10));
  const k0 = wa['dense_0/kernel']!.data, k1 = wa['dense_1/kernel']!.data;
  assert.ok(k0.every((v) => Math.abs(v) <= he) && Math.max(...k0.map(Math.abs)) > 0.9 * he, 'expected dense_0 in He-uniform bounds');
  assert.ok(k1.every((v) => Math.abs(v) <= glorot) && Math.max(...k1.map(Math.abs)) > 0.9 * glorot, 'expected output layer in Glorot bounds');
  assert.ok(wa['dense_0/bias']!.data.every((v) => v === 0));
  [a, b, c].forEach((st) => st.dispose());
});

test('mlp: setWeights round-trips getWeights and rejects other shapes or names', async () => {
  await use('cpu');
  const s = spec('relu');
  const a = buildStudent(s, { seed: 1 }), b = buildStudent(s, { seed: 2 });
  b.setWeights(a.getWeights());
  assert.deepEqual(b.getWeights(), a.getWeights());
  const w = a.getWeights();
  assert.throws(() => b.setWeights({ ...w, 'dense_0/kernel': { shape: [5, 6], data: w['dense_0/kernel']!.data } }), TrainError);
  assert.throws(() => b.setWeights({ ...w, extra: { shape: [1], data: new Float32Array(1) } }), TrainError);
  const { ['dense_1/bias']: _drop, ...missing } = w;
  assert.throws(() => b.setWeights(missing), TrainError);
  assert.throws(() => buildStudent({ ...s, hidden: [0] }), TrainError);
  a.dispose();
  b.dispose();
});
