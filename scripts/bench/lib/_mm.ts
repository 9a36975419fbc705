import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/backend/index.js';
await selectBackend('wasm');
function t(label: string, M: number, K: number, N: number, fresh: boolean, reps = 5) {
  const a = tf.randomNormal([M, K]) as tf.Tensor2D;
  let b = tf.randomNormal([K, N]) as tf.Tensor2D;
  tf.matMul(a, b).dispose();
  let ms = 0;
  for (let i = 0; i < reps; i++) {
    if (fresh) { const nb = tf.add(b, 0) as tf.Tensor2D; b.dispose(); b = nb; }
    const t0 = process.cpuUsage();
    const c = tf.matMul(a, b); c.dataSync(); const d = process.cpuUsage(t0); ms += (d.user + d.system) / 1000; c.dispose();
  }
  ms /= reps;
  console.log(label, `${M}x${K}x${N}`, fresh ? 'fresh b' : 'same b', ms.toFixed(1), 'ms', (2 * M * K * N / ms / 1e6).toFixed(1), 'GFLOP/s');
}
for (const f of [false, true]) {
  t('mm', 256, 1200, 1200, f);
  t('mm', 256, 784, 1200, f);
  t('mm', 1200, 256, 1200, f);
  t('mm', 784, 256, 1200, f);
  t('mm', 1024, 1024, 1024, f);
  t('mm', 2048, 128, 384, f);
}
