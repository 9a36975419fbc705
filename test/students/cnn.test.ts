import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildStudent, flopsPerSample, type CnnSpec, type WeightMap } from '../../src/train/students/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import { Rng } from '../../src/core/util/index.js';
import { assertClose, assertNoLeak, normalData, use } from '../nn/helpers.js';

const spec: CnnSpec = { arch: 'cnn', inputShape: [6, 5, 2], conv: [{ filters: 3, kernel: 3, pool: 2 }, { filters: 4, kernel: 1 }], dense: [5], classes: 3, dropout: 0.5 };

// float64 forward following the documented math: NHWC, HWIO kernels, zero 'same' padding, valid max pool, NHWC flatten.
function reference(w: WeightMap, x: Float32Array, B: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let [H, W, C] = spec.inputShape;
    let img = Array.from(x.subarray(b * H * W * C, (b + 1) * H * W * C));
    spec.conv.forEach((l, i) => {
      const k = w[`conv_${i}/kernel`]!.data, bias = w[`conv_${i}/bias`]!.data, K = l.kernel, p = (K - 1) / 2, Co = l.filters;
      const y: number[] = new Array(H * W * Co).fill(0);
      for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) for (let o = 0; o < Co; o++) {
        let z = bias[o]!;
        for (let dr = 0; dr < K; dr++) for (let dc = 0; dc < K; dc++) {
          const rr = r + dr - p, cc = c + dc - p;
          if (rr < 0 || rr >= H || cc < 0 || cc >= W) continue;
          for (let ci = 0; ci < C; ci++) z += img[(rr * W + cc) * C + ci]! * k[((dr * K + dc) * C + ci) * Co + o]!;
        }
        y[(r * W + c) * Co + o] = Math.max(0, z);
      }
      const P = l.pool ?? 1, H2 = Math.floor(H / P), W2 = Math.floor(W / P);
      img = new Array(H2 * W2 * Co).fill(-Infinity);
      for (let r = 0; r < H2 * P; r++) for (let c = 0; c < W2 * P; c++) for (let o = 0; o < Co; o++) {
        const idx = (Math.floor(r / P) * W2 + Math.floor(c / P)) * Co + o;
        img[idx] = Math.max(img[idx]!, y[(r * W + c) * Co + o]!);
      }
      [H, W, C] = [H2, W2, Co];
    });
    let h = img;
    for (let j = 0; j <= spec.dense.length; j++) {
      const k = w[`dense_${j}/kernel`]!, bias = w[`dense_${j}/bias`]!.data;
      const [fin, fout] = k.shape as [number, number];
      h = Array.from({ length: fout }, (_, o) => {
        let z = bias[o]!;
        for (let i = 0; i < fin; i++) z += h[i]! * k.data[i * fout + o]!;
        return j < spec.dense.length ? Math.max(0, z) : z;
      });
    }
    out.push(...h);
  }
  return out;
}

test('cnn: logits equal a float64 reference (NHWC, same padding, max pool, NHWC flatten) on cpu and wasm', async () => {
  const B = 3;
  const x = normalData(new Rng(8), B * 6 * 5 * 2);
  for (const backend of ['cpu', 'wasm'] as const) {
    await use(backend);
    const st = buildStudent(spec, { seed: 2 });
    // non-zero biases so their placement is checked too
    const w = st.getWeights();
    for (const [name, e] of Object.entries(w)) if (name.endsWith('/bias')) e.data.set(normalData(new Rng(name.length), e.data.length, 0.3));
    st.setWeights(w);
    const expected = reference(w, x, B);
    for (const shape of [[B, 6 * 5 * 2], [B, 6, 5, 2]]) {
      const xs = tf.tensor(x, shape);
      const y = st.forward(st.params, xs, { training: false });
      assert.deepEqual(y.shape, [B, 3]);
      assertClose(y.dataSync(), expected, 1e-5, `cnn ${backend} input [${shape}]`);
      assertNoLeak('cnn forward', () => { st.forward(st.params, xs, { training: true, step: 0 }).dispose(); });
      tf.dispose([xs, y]);
    }
    st.dispose();
  }
});

test('cnn: parameter count and FLOPs follow the hand formulas; bad specs and inputs throw TrainError', async () => {
  await use('cpu');
  const st = buildStudent(spec);
  const flat = 3 * 2 * 4; // 6x5 pooled by 2 -> 3x2, 4 channels
  assert.equal(st.parameterCount(), (3 * 3 * 2 * 3 + 3) + (1 * 1 * 3 * 4 + 4) + (flat * 5 + 5) + (5 * 3 + 3));
  assert.equal(flopsPerSample(spec), 2 * 6 * 5 * 9 * 2 * 3 + 2 * 3 * 2 * 1 * 3 * 4 + 2 * flat * 5 + 2 * 5 * 3);
  assert.throws(() => st.forward(st.params, tf.zeros([2, 59]), { training: false }), TrainError);
  assert.throws(() => buildStudent({ ...spec, conv: [{ filters: 2, kernel: 2 }] }), TrainError);
  assert.throws(() => buildStudent({ ...spec, conv: [{ filters: 2, kernel: 3, pool: 8 }] }), TrainError);
  st.dispose();
});
