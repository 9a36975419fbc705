import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/backend/index.js';
import { buildStudent } from '../../../src/students/index.js';
import { trainStep } from '../../../src/train/index.js';
import { AdamW } from '../../../src/optim/index.js';
import { Rng } from '../../../src/util/index.js';
await selectBackend((process.argv[2] as 'wasm') ?? 'wasm'); const H = Number(process.argv[4] ?? 1200);
const B = Number(process.argv[3] ?? 256);
const st = buildStudent({ arch: 'mlp', inputs: 784, hidden: [H, H], activation: 'relu', dropout: 0, classes: 10 }, { seed: 1 });
const rng = new Rng(1);
const k = 8;
const ids = new Int32Array(B * k); for (let i = 0; i < B; i++) for (let j = 0; j < k; j++) ids[i * k + j] = j;
const batch = {
  inputs: tf.tensor2d(Float32Array.from({ length: B * 784 }, () => rng.next()), [B, 784]),
  labels: tf.tensor1d(Int32Array.from({ length: B }, () => rng.int(10)), 'int32'),
  mask: tf.ones([B]) as tf.Tensor1D,
  teacher: { kind: 'topk' as const, ids: tf.tensor2d(ids, [B, k], 'int32'), logits: tf.randomNormal([B, k]), logsumexp: tf.fill([B], 3) },
  rows: B,
};
const opt = new AdamW(st.params, { lr: 1e-3 });
const loss = { alpha: 0.5, temperature: 2, tail: 'ghost' as const };
for (let i = 0; i < 2; i++) trainStep(st, opt, [batch], loss, 1e-3, 1, i);
const t0 = performance.now();
const n = Number(process.argv[5] ?? 5);
for (let i = 0; i < n; i++) trainStep(st, opt, [batch], loss, 1e-3, 1, i);
const ms = (performance.now() - t0) / n;
console.log('ms/step', ms.toFixed(1), 'GFLOP/s', (3 * st.flopsPerSample() * B / ms / 1e6).toFixed(2));
const p = await tf.profile(() => { trainStep(st, opt, [batch], loss, 1e-3, 1, 9); });
const by = new Map<string, { ms: number; n: number }>();
let total = 0;
for (const kk of p.kernels) {
  const key = `${kk.name} ${JSON.stringify(kk.inputShapes)}`;
  const e = by.get(key) ?? { ms: 0, n: 0 }; e.ms += kk.kernelTimeMs as number; e.n++; by.set(key, e); total += kk.kernelTimeMs as number;
}
console.log('total kernel ms', total.toFixed(1), 'kernels', p.kernels.length);
for (const [key, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30)) console.log(e.ms.toFixed(2).padStart(8), String(e.n).padStart(3), key);
