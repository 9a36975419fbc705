import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../src/backend/index.js';
await selectBackend('wasm');
function t(label: string, f: () => tf.Tensor, reps = 20) {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) { const y = f(); y.dataSync(); y.dispose(); }
  console.log(label, ((performance.now() - t0) / reps).toFixed(2), 'ms');
}
const x = tf.randomNormal([256, 1200]);
const w = tf.randomNormal([1200, 1200]);
const w0 = tf.randomNormal([784, 1200]);
t('transpose 256x1200', () => tf.transpose(x));
t('transpose 1200x1200', () => tf.transpose(w));
t('clone 256x1200', () => tf.clone(x));
t('clone 1200x1200', () => tf.clone(w));
t('mul scalar 1200x1200', () => tf.mul(w, 0.5));
t('step+mul 256x1200', () => tf.mul(x, tf.step(x)));
t('matmul 256x1200x1200', () => tf.matMul(x, w), 5);
t('matmul 1200x256x1200', () => tf.matMul(tf.transpose(x), x), 5);
t('matmul tA 1200x256x1200', () => tf.matMul(x, x, true, false), 2);
t('fused relu 256x1200x1200', () => tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, activation: 'relu' }), 5);
t('matmul 256x784x1200', () => tf.matMul(tf.slice(x, [0, 0], [256, 784]), w0), 5);
