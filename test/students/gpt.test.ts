import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildStudent, flopsPerSample, type GptSpec } from '../../src/train/students/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import { assertClose, assertNoLeak, use } from '../nn/helpers.js';

const spec: GptSpec = { arch: 'gpt', vocab: 13, dModel: 8, layers: 2, heads: 2, seqLen: 6, mlpRatio: 2, dropout: 0.1 };
const ids = (B: number, T: number, shift = 0): Int32Array => Int32Array.from({ length: B * T }, (_, i) => (i * 5 + shift) % spec.vocab);

test('gpt: parameter count equals the hand formula, untied and tied', async () => {
  await use('cpu');
  const { vocab: V, dModel: D, seqLen: T, layers: L } = spec;
  const F = 2 * D;
  const block = 2 * D + (D * 3 * D + 3 * D) + (D * D + D) + 2 * D + (D * F + F) + (F * D + D);
  const shared = V * D + T * D + L * block + 2 * D;
  const untied = buildStudent(spec), tied = buildStudent({ ...spec, tiedHead: true });
  assert.equal(untied.parameterCount(), shared + D * V);
  assert.equal(tied.parameterCount(), shared);
  assert.ok(!('lm_head/kernel' in tied.params) && 'lm_head/kernel' in untied.params);
  assert.equal(flopsPerSample(spec), L * (2 * T * (D * 3 * D + D * D + D * F + F * D) + 2 * T * T * D * 2) + 2 * T * D * V);
  untied.dispose();
  tied.dispose();
});

test('gpt: logits [B,T,V] for T = seqLen and T < seqLen; wasm equals cpu; no leaks; rejects bad ids', async () => {
  const out: Record<string, Float32Array> = {};
  for (const backend of ['cpu', 'wasm'] as const) {
    await use(backend);
    for (const tiedHead of [false, true]) {
      const st = buildStudent({ ...spec, tiedHead }, { seed: 4 });
      for (const T of [6, 4]) {
        const x = tf.tensor2d(ids(3, T), [3, T], 'int32');
        const y = st.forward(st.params, x, { training: false });
        assert.deepEqual(y.shape, [3, T, spec.vocab]);
        out[`${backend}/${tiedHead}/${T}`] = Float32Array.from(y.dataSync());
        assertNoLeak('gpt forward', () => { st.forward(st.params, x, { training: true, step: 1 }).dispose(); });
        tf.dispose([x, y]);
      }
      assert.throws(() => st.forward(st.params, tf.zeros([2, 7], 'int32'), { training: false }), TrainError);
      assert.throws(() => st.forward(st.params, tf.zeros([2, 3], 'float32'), { training: false }), TrainError);
      assert.throws(() => st.forward(st.params, tf.tensor2d([[0, 1], [2, spec.vocab]], [2, 2], 'int32'), { training: false }), /outside vocab/);
      st.dispose();
    }
  }
  for (const key of Object.keys(out).filter((k) => k.startsWith('cpu/'))) {
    assertClose(out[key.replace('cpu/', 'wasm/')]!, out[key]!, 1e-4, `gpt ${key}`);
  }
});

test('gpt: changing token t leaves logits at positions < t unchanged and changes positions >= t', async () => {
  await use('wasm');
  const st = buildStudent(spec, { seed: 5 });
  const B = 2, T = 6, V = spec.vocab, t = 3;
  const base = ids(B, T);
  const changed = Int32Array.from(base);
  for (let b = 0; b < B; b++) changed[b * T + t] = (base[b * T + t]! + 4) % V;
  const run = (d: Int32Array): Float32Array => tf.tidy(() => Float32Array.from(st.forward(st.params, tf.tensor2d(d, [B, T], 'int32'), { training: false }).dataSync()));
  const [y0, y1] = [run(base), run(changed)];
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T; i++) {
      const at = (y: Float32Array): number[] => Array.from(y.subarray((b * T + i) * V, (b * T + i + 1) * V));
      if (i < t) assert.deepEqual(at(y1), at(y0), `expected logits at ${i} < ${t} unchanged`);
      else assert.notDeepEqual(at(y1), at(y0), `expected logits at ${i} >= ${t} to change`);
    }
  }
  st.dispose();
});
