import * as tf from '@tensorflow/tfjs';
import { selectBackend } from './src/backend/index.js';
import { buildStudent } from './src/students/index.js';
import { Rng } from './src/util/index.js';
await selectBackend('wasm');
const rng = new Rng(1);
const st = buildStudent({ arch: 'gpt', vocab: 256, dModel: 128, layers: 2, heads: 4, seqLen: 128 });
const x = tf.tensor2d(Int32Array.from({ length: 16 * 128 }, () => rng.int(256)), [16, 128], 'int32');
const vars = Object.values(st.params);
const step = () => tf.tidy(() => {
  const { value, grads } = tf.variableGrads(() => { const l = st.forward(st.params, x, { training: true, step: 0 }); return tf.mean(tf.square(l)) as tf.Scalar; }, vars);
  for (const v of vars) v.assign(tf.sub(v, tf.mul(0.01, grads[v.name]!)));
  value.dataSync();
});
step();
const info = await tf.profile(() => { step(); });
const agg = new Map<string, [number, number]>();
for (const k of info.kernels) { const a = agg.get(k.name) ?? [0, 0]; a[0] += k.kernelTimeMs as number; a[1]++; agg.set(k.name, a); }
const total = [...agg.values()].reduce((s, a) => s + a[0], 0);
console.log('total kernel ms', total.toFixed(1), 'kernels', info.kernels.length);
for (const [n, [ms, c]] of [...agg.entries()].sort((a, b) => b[1][0] - a[1][0]).slice(0, 18)) console.log(n.padEnd(20), ms.toFixed(1).padStart(8), String(c).padStart(6));
