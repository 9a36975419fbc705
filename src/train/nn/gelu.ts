import * as tf from '@tensorflow/tfjs';

/**
 * Exact (erf) GELU: y = 0.5 * x * (1 + erf(x / sqrt(2))), expressible in ONNX with Div/Erf/Add/Mul
 * (or Gelu approximate="none" in opset 20). Custom gradient: dy * (Phi(x) + x * phi(x)) with
 * Phi(x) = 0.5 * (1 + erf(x / sqrt(2))) and phi(x) = exp(-x^2 / 2) / sqrt(2*pi).
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  return geluOp(x) as T;
}

const geluOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sCdf] = saved as [tf.Tensor, tf.Tensor];
      const pdf = tf.mul(1 / Math.sqrt(2 * Math.PI), tf.exp(tf.mul(-0.5, tf.square(sx))));
      return [tf.mul(dy, tf.add(sCdf, tf.mul(sx, pdf)))];
    },
  };
});
