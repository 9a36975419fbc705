import * as tf from '@tensorflow/tfjs';
import { whereRows } from './rows.js';
import { TrainError, assert } from '../../core/errors/index.js';

/** A masked sum and the number of rows it covers; divide by the total count over accumulation steps. */
export interface MaskedSum {
  /** Sum of the per-row values over unmasked rows. */
  sum: tf.Scalar;
  /** Number of unmasked rows. */
  count: tf.Scalar;
}

/** Boolean [M] from a 0/1 mask of any dtype (> 0 counts). */
export function rowMask(mask: tf.Tensor, rows: number): tf.Tensor1D {
  assert(mask.rank === 1 && mask.shape[0] === rows, () => `expected mask of shape [${rows}], got [${mask.shape}]`, TrainError);
  return tf.greater(tf.cast(mask, 'float32'), 0) as tf.Tensor1D;
}

/**
 * Replaces masked rows of x (rank >= 1, rows first) with `fill`, so padding with NaN, -Infinity
 * or out-of-range ids can not reach the value or, via 0 * NaN, the gradient.
 */
export function keepRows<T extends tf.Tensor>(x: T, keep: tf.Tensor1D, fill: number): T {
  return whereRows(keep, x, fill);
}

/** Sum of rows[m] over kept rows, and their count. */
export function maskedSum(rows: tf.Tensor1D, keep: tf.Tensor1D): MaskedSum {
  return tf.tidy(() => ({
    sum: tf.sum(tf.where(keep, rows, tf.zerosLike(rows))) as tf.Scalar,
    count: tf.sum(tf.cast(keep, 'float32')) as tf.Scalar,
  }));
}

/** sum / count, and 0 (not NaN) when count is 0. */
export function meanOf(s: MaskedSum): tf.Scalar {
  return tf.tidy(() => tf.div(s.sum, tf.maximum(s.count, 1)) as tf.Scalar);
}

/** Asserts a tensor's shape, naming it. */
export function expectShape(x: tf.Tensor, shape: readonly number[], name: string): void {
  const ok = x.rank === shape.length && shape.every((d, i) => d === x.shape[i]);
  assert(ok, () => `expected ${name} of shape [${shape}], got [${x.shape}]`, TrainError);
}
