import * as tf from '@tensorflow/tfjs';
import { TrainError, assert } from '../../core/errors/index.js';

/**
 * Row-wise gathers over a [M,V] matrix without the gather gradient.
 *
 * tf.gather's gradient is UnsortedSegmentSum, which the wasm backend lacks. A one-hot product
 * avoids it but costs M*k*V memory (and the tape keeps it until backprop), which is 4 GB for
 * M=1024, k=20, V=50257. Instead we gather forward on the flattened matrix and give the op a
 * custom gradient that scatters dy back with ScatterNd (present on cpu and wasm): O(M*k) in the
 * forward, one dense [M,V] gradient in the backward (which the softmax gradient needs anyway).
 */

/**
 * Flat indices row*V + id, so one 1-D gather/scatter serves all rows. The offsets are built
 * full-size on the host: wasm's broadcasting int32 add of an [M,1] column runs ~200 ns/element.
 */
function flatIndices(ids: tf.Tensor2D, vocab: number): tf.Tensor2D {
  const [rows, k] = ids.shape;
  assert(rows * vocab < 2 ** 31, () => `expected rows*vocab < 2^31 for int32 indices, got ${rows}*${vocab}; split the batch`, TrainError);
  const offsets = new Int32Array(rows * k);
  for (let m = 0; m < rows; m++) offsets.fill(m * vocab, m * k, (m + 1) * k);
  return tf.add(tf.cast(ids, 'int32'), tf.tensor2d(offsets, [rows, k], 'int32'));
}

/** x[m, ids[m, j]] as [M,k], any dtype, forward only (no gradient). */
export function takeAlongRows(x: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [rows, vocab] = x.shape;
    return tf.reshape<tf.Rank.R2>(tf.gather(tf.reshape<tf.Rank.R1>(x, [rows * vocab]), flatIndices(ids, vocab)), [rows, ids.shape[1]]);
  });
}

/** x[m, ids[m, j]] as [M,k], differentiable in x on every backend (duplicate ids sum their gradients). */
export function gatherAt(x: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [rows, vocab] = x.shape;
    const k = ids.shape[1];
    const flat = flatIndices(ids, vocab);
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xin, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([flat]);
      return {
        value: tf.reshape<tf.Rank.R2>(tf.gather(tf.reshape<tf.Rank.R1>(xin, [rows * vocab]), flat), [rows, k]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.reshape(tf.scatterND(tf.reshape(saved[0]!, [rows * k, 1]), tf.reshape(dy, [rows * k]), [rows * vocab]), [rows, vocab]),
      };
    });
    return op(x);
  });
}

/** Boolean [M,V]: true where column v is one of the row's ids. */
export function membership(ids: tf.Tensor2D, vocab: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [rows, k] = ids.shape;
    const ones = tf.ones([rows * k]);
    const hits = tf.scatterND(tf.reshape(flatIndices(ids, vocab), [rows * k, 1]), ones, [rows * vocab]);
    return tf.greater(tf.reshape(hits, [rows, vocab]), 0) as tf.Tensor2D;
  });
}
