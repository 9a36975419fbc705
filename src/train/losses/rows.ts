/**
 * Row-wise building blocks of the losses that stay on wasm's fast paths. Two tfjs ops are ~50x
 * slower there than their arithmetic suggests (measured at [2048,256]): tf.where with a broadcast
 * condition or fill value (162 ms vs 10 ms same-shape: it tiles both through a generic loop), and
 * the gradient of tf.logSumExp (165 ms: it differentiates the max shift through a broadcast
 * Equal). These avoid both and compute the same values.
 */
import * as tf from '@tensorflow/tfjs';

/** `col` ([M] or [M,1]) repeated across `width` columns as [M,width] (an outer product with ones: one fast matMul). */
export function repeatColumns(col: tf.Tensor, width: number): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = col.shape[0]!;
    const asFloat = col.dtype === 'float32' ? col : tf.cast(col, 'float32');
    const out = tf.matMul(tf.reshape(asFloat, [rows, 1]), tf.ones([1, width]));
    return (col.dtype === 'bool' ? tf.cast(out, 'bool') : col.dtype === 'float32' ? out : tf.cast(out, col.dtype)) as tf.Tensor2D;
  });
}

/**
 * where(keep[m], x[m, ...], fill) for x of any rank >= 1 and keep [M] bool, without broadcasting:
 * the condition is expanded by repeatColumns and the fill is a same-shape tensor.
 */
export function whereRows<T extends tf.Tensor>(keep: tf.Tensor, x: T, fill: number): T {
  return tf.tidy(() => {
    const rows = x.shape[0]!;
    const width = x.size / Math.max(rows, 1);
    const cond = x.rank === 1 ? tf.reshape(keep, [rows]) : tf.reshape(repeatColumns(keep, width), x.shape);
    return tf.where(cond, x, tf.fill(x.shape, fill, x.dtype)) as T;
  });
}

/** where(cond, fill, x) with a scalar fill, without broadcasting it. */
export function fillWhere<T extends tf.Tensor>(cond: tf.Tensor, fill: number, x: T): T {
  return tf.tidy(() => tf.where(cond, tf.fill(x.shape, fill, x.dtype), x) as T);
}

/**
 * log(sum(exp(x), 1)) for x [M,V], as [M] or (keepDims) [M,1]; values as tf.logSumExp. The
 * gradient is dy * softmax(x): the max shift cancels out of it exactly, so it needs no Equal.
 */
export function logSumExpRows(x: tf.Tensor2D, keepDims = false): tf.Tensor {
  const rows = x.shape[0];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const max = tf.max(input, 1, true);
    const lse = tf.add(max, tf.log(tf.sum(tf.exp(tf.sub(input, max)), 1, true)));
    save([input, lse]);
    return {
      value: keepDims ? lse : tf.reshape(lse, [rows]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.exp(tf.sub(saved[0]!, saved[1]!)), tf.reshape(dy, [rows, 1])),
    };
  });
  return op(x);
}
