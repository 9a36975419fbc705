import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/backend/index.js';
import { dense as denseNew } from '../../../src/nn/index.js';
import { dense as denseOld } from './_dense_old.js';
import { kdLossSum } from '../../../src/losses/index.js';
import { AdamW, clipByGlobalNorm, GradientAccumulator } from '../../../src/optim/index.js';
import { Rng } from '../../../src/util/index.js';
await selectBackend('wasm');
const B = Number(process.argv[2] ?? 256), H = Number(process.argv[3] ?? 1200);
const widths = [784, H, H, 10];
const rng = new Rng(1);
function params() {
  const p: tf.Variable[] = [];
  for (let i = 0; i < 3; i++) { p.push(tf.variable(tf.randomUniform([widths[i]!, widths[i + 1]!], -0.05, 0.05, 'float32', 1))); p.push(tf.variable(tf.zeros([widths[i + 1]!]))); }
  return p;
}
const k = 8;
const ids = new Int32Array(B * k); for (let i = 0; i < B; i++) for (let j = 0; j < k; j++) ids[i * k + j] = j;
const x = tf.tensor2d(Float32Array.from({ length: B * 784 }, () => rng.next()), [B, 784]);
const labels = tf.tensor1d(Int32Array.from({ length: B }, () => rng.int(10)), 'int32');
const mask = tf.ones([B]);
const teacher = { kind: 'topk' as const, ids: tf.tensor2d(ids, [B, k], 'int32'), logits: tf.randomNormal([B, k]), logsumexp: tf.fill([B], 3) };
type D = typeof denseNew;
function rig(d: D) {
  const p = params();
  const named: Record<string, tf.Variable> = {}; p.forEach((v, i) => named[`p${i}`] = v);
  const opt = new AdamW(named, { lr: 1e-3 });
  return () => {
    const acc = new GradientAccumulator();
    const { value, grads } = tf.variableGrads(() => {
      let h = x;
      for (let i = 0; i < 3; i++) h = d(h, p[2 * i] as tf.Tensor2D, p[2 * i + 1] as tf.Tensor1D, { activation: i < 2 ? 'relu' : 'linear', inputGrad: i > 0 });
      return kdLossSum(h, teacher, mask, { alpha: 0.5, temperature: 2, labels }).sum;
    }, p);
    acc.add(grads); value.dataSync(); value.dispose();
    const summed = acc.take(1 / B);
    const c = clipByGlobalNorm(summed, 1);
    tf.dispose(Object.values(summed));
    const byName: Record<string, tf.Tensor> = {}; p.forEach((v, i) => byName[`p${i}`] = c.grads[v.name]!);
    opt.step(byName, 1e-3);
    tf.dispose(Object.values(c.grads));
  };
}
const a = rig(denseOld), b = rig(denseNew);
a(); b(); a(); b();
const ta: number[] = [], tb: number[] = [];
for (let r = 0; r < Number(process.argv[4] ?? 8); r++) {
  let t = process.cpuUsage(); a(); let d = process.cpuUsage(t); ta.push((d.user + d.system) / 1000);
  t = process.cpuUsage(); b(); d = process.cpuUsage(t); tb.push((d.user + d.system) / 1000);
}
const med = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]!;
const fl = 3 * 2 * (784 * H + H * H + H * 10) * B;
console.log(`B=${B} H=${H} old ${med(ta).toFixed(1)} ms (${(fl / med(ta) / 1e6).toFixed(2)} GF/s)  new ${med(tb).toFixed(1)} ms (${(fl / med(tb) / 1e6).toFixed(2)} GF/s)  new/old ${(med(tb) / med(ta)).toFixed(3)}  per-round ratios ${tb.map((v, i) => (v / ta[i]!).toFixed(2)).join(' ')}`);
console.log('tensors', tf.memory().numTensors);
