import * as tf from '@tensorflow/tfjs';

/** LayerNorm epsilon used by every kennis student (added to the biased variance, as PyTorch and ONNX LayerNormalization). */
export const LAYER_NORM_EPSILON = 1e-5;

/**
 * LayerNorm over the last axis of x [M,D]: y = (x - mean) / sqrt(var + eps) * gamma + beta, with the
 * biased variance (mean of squared deviations). The custom gradient is the closed form
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * gamma,
 *   dgamma = sum(dy * xhat, 0), dbeta = sum(dy, 0),
 * a handful of ops instead of the long chain tfjs derives for moments().
 */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number = LAYER_NORM_EPSILON): tf.Tensor2D {
  return layerNormOp(eps)(x, gamma, beta) as tf.Tensor2D;
}

type Op = (...inputs: tf.Tensor[]) => tf.Tensor;
const ops = new Map<number, Op>();

function layerNormOp(eps: number): Op {
  let op = ops.get(eps);
  if (op === undefined) {
    op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, gamma, beta] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const mean = tf.mean(x!, -1, true);
      const xc = tf.sub(x!, mean);
      const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps));
      const xhat = tf.mul(xc, rstd);
      save([xhat, rstd, gamma!]);
      return {
        value: tf.add(tf.mul(xhat, gamma!), beta!),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sXhat, sRstd, sGamma] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const g = tf.mul(dy, sGamma);
          const inner = tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(sXhat, tf.mean(tf.mul(g, sXhat), -1, true)));
          return [tf.mul(inner, sRstd), tf.sum(tf.mul(dy, sXhat), 0), tf.sum(dy, 0)];
        },
      };
    }) as Op;
    ops.set(eps, op);
  }
  return op;
}
