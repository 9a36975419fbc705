import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm');
function time(name: string, flops: number, f: () => tf.Tensor) {
  for (let i = 0; i < 2; i++) f().dispose();
  const n = 5; const t0 = performance.now();
  for (let i = 0; i < n; i++) { const r = f(); r.dataSync(); r.dispose(); }
  const ms = (performance.now() - t0) / n;
  console.log(name.padEnd(40), ms.toFixed(3), 'ms', (flops / ms / 1e6).toFixed(2), 'GFLOP/s');
}
for (const [B, H, Ci, Co, K] of [[64, 28, 1, 32, 3], [64, 14, 32, 64, 3], [64, 28, 16, 32, 5]] as const) {
  console.log(B, H, Ci, Co, K);
  const x = tf.randomNormal([B, H, H, Ci]) as tf.Tensor4D, w = tf.randomNormal([K, K, Ci, Co]) as tf.Tensor4D, dy = tf.randomNormal([B, H, H, Co]) as tf.Tensor4D;
  const f = 2 * B * H * H * K * K * Ci * Co;
  const p = (K - 1) / 2;
  time(' fwd conv2d', f, () => tf.conv2d(x, w, 1, 'same'));
  time(' dx conv2d flipped', f, () => tf.tidy(() => tf.conv2d(dy, tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'same')));
  time(' dx conv2dTranspose', f, () => tf.conv2dTranspose(dy, w, [B, H, H, Ci], 1, 'same'));
  time(' dW conv trick', f, () => tf.tidy(() => {
    const xp = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
    const xt = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [Ci, Hp, Wp, B]
    const ft = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, B, Co]
    const r = tf.conv2d(xt, ft, 1, 'valid'); // [Ci, K, K, Co]
    return tf.transpose(r, [1, 2, 0, 3]);
  }));
  time(' dW im2col concat', f, () => tf.tidy(() => {
    const xp = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
    const cols: tf.Tensor[] = [];
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) cols.push(tf.slice(xp, [0, i, j, 0], [B, H, H, Ci]));
    const patches = tf.concat(cols, 3).reshape([B * H * H, K * K * Ci]);
    return tf.matMul(tf.transpose(patches), dy.reshape([B * H * H, Co])).reshape([K, K, Ci, Co]);
  }));
  time(' dW im2col per-offset', f, () => tf.tidy(() => {
    const xp = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
    const dy2 = dy.reshape([B * H * H, Co]);
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) parts.push(tf.matMul(tf.transpose(tf.slice(xp, [0, i, j, 0], [B, H, H, Ci]).reshape([B * H * H, Ci])), dy2));
    return tf.stack(parts).reshape([K, K, Ci, Co]);
  }));
}
