import * as tf from '@tensorflow/tfjs';

/**
 * Batched a·b for a [B,M,K], b [B,K,N] -> [B,M,N], with a gradient made of the same kind of
 * product: da = bmm(dy, transpose(b)), db = bmm(transpose(a), dy).
 *
 * Why not tf.matMul: the wasm backend sends every batched (B>1) or transposed matMul to a scalar
 * loop (~1 GFLOP/s). On wasm each batch entry is cut out with gatherND (a memcpy; tf.slice would
 * copy the whole input per call) and multiplied with the XNNPACK 2-D path (~6 GFLOP/s on attention
 * sizes); other backends use tf.matMul, which is fast there.
 */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return bmmOp(a, b) as tf.Tensor3D;
}

/** The forward product without a gradient of its own (used inside custom gradients). */
export function bmmRaw(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a, b);
  return tf.tidy(() => {
    const batch = a.shape[0];
    if (batch === 1) return tf.matMul(a, b);
    const out: tf.Tensor2D[] = [];
    for (let i = 0; i < batch; i++) {
      const idx = tf.tensor2d([[i]], [1, 1], 'int32');
      const ai = tf.gatherND(a, idx) as tf.Tensor3D;
      const bi = tf.gatherND(b, idx) as tf.Tensor3D;
      out.push(tf.matMul(ai, bi).reshape([a.shape[1], b.shape[2]]));
    }
    return tf.stack(out) as tf.Tensor3D;
  });
}

const bmmOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b] = args as tf.Tensor3D[];
  const save = args[2] as tf.GradSaveFunc;
  save([a!, b!]);
  return {
    value: bmmRaw(a!, b!),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor3D[];
      const g = dy as tf.Tensor3D;
      return [bmmRaw(g, tf.transpose(sb!, [0, 2, 1])), bmmRaw(tf.transpose(sa!, [0, 2, 1]), g)];
    },
  };
});
