import * as tf from '@tensorflow/tfjs';
import { TrainError } from '../../core/errors/index.js';

/** Options of conv2dSame(). */
export interface ConvOptions {
  /** Activation fused into the forward conv: 'linear' (default) or 'relu'. */
  activation?: 'linear' | 'relu';
  /** Whether dx is computed (default true); false for a first layer whose input needs no gradient. */
  inputGrad?: boolean;
}

/**
 * y = act(conv2d(x, W, stride 1, 'same') + b) for x [B,H,W,Ci] (NHWC), W [k,k,Ci,Co] (HWIO), b [Co],
 * odd k (symmetric padding (k-1)/2). The wasm backend has no Conv2DBackpropFilter kernel and its
 * Conv2DBackpropInput is a slow loop (~1.3 GFLOP/s), so the gradient is written with forward
 * convolutions (XNNPACK):
 *   dx = conv2d(dz, transpose(reverse(W, [0,1]), [0,1,3,2]), 'same')
 *   dW = transpose(conv2d(transpose(pad(x), [3,1,2,0]), transpose(dz, [1,2,0,3]), 'valid'), [1,2,0,3])
 *   db = sum(dz, [0,1,2]),  dz = dy * act'(y).
 */
export function conv2dSame(x: tf.Tensor4D, W: tf.Tensor4D, b: tf.Tensor1D, options: ConvOptions = {}): tf.Tensor4D {
  const k = W.shape[0];
  if (k % 2 !== 1 || W.shape[1] !== k) throw new TrainError(`conv kernel must be odd and square, got [${W.shape[0]},${W.shape[1]}]; use kernel 1, 3, 5, ...`);
  return convOp(options.activation ?? 'linear', options.inputGrad ?? true)(x, W, b) as tf.Tensor4D;
}

type Op = (...inputs: tf.Tensor[]) => tf.Tensor;
const ops = new Map<string, Op>();

function convOp(activation: 'linear' | 'relu', inputGrad: boolean): Op {
  const key = `${activation}/${inputGrad}`;
  let op = ops.get(key);
  if (op === undefined) {
    op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, W, b] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D];
      const save = args[3] as tf.GradSaveFunc;
      const y = tf.fused.conv2d({ x, filter: W, strides: 1, pad: 'same', bias: b, activation });
      save(activation === 'relu' ? [x, W, y] : [x, W]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sW, sy] = saved as tf.Tensor4D[];
          const dz = (activation === 'relu' ? tf.mul(dy, tf.step(sy!)) : dy) as tf.Tensor4D;
          const p = (sW!.shape[0] - 1) / 2;
          const dx = inputGrad
            ? tf.conv2d(dz, tf.transpose(tf.reverse(sW!, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'same')
            : tf.zerosLike(sx!);
          const xt = tf.transpose(tf.pad(sx!, [[0, 0], [p, p], [p, p], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D;
          const dzt = tf.transpose(dz, [1, 2, 0, 3]) as tf.Tensor4D;
          const dW = tf.transpose(tf.conv2d(xt, dzt, 1, 'valid'), [1, 2, 0, 3]);
          return [dx, dW, tf.sum(dz, [0, 1, 2])];
        },
      };
    }) as Op;
    ops.set(key, op);
  }
  return op;
}
