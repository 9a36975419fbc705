import * as tf from '@tensorflow/tfjs';
import { TrainError } from '../../core/errors/index.js';
import { bmm } from './bmm.js';
import { dense } from './dense.js';
import { dropout, type DropoutStream } from './dropout.js';

/** Additive mask value for future positions; exp(-1e9 - max) is exactly 0 in float32. */
export const ATTENTION_MASK_VALUE = -1e9;

/** Weights of one causal self-attention layer. */
export interface AttentionWeights {
  /** [D, 3D]: columns [0,D) are q, [D,2D) k, [2D,3D) v; head h owns columns h*dh..(h+1)*dh-1 of each. */
  qkvKernel: tf.Tensor2D;
  /** [3D], same column layout as qkvKernel. */
  qkvBias: tf.Tensor1D;
  /** [D, D] output projection; input rows ordered head-major (head h at rows h*dh..). */
  projKernel: tf.Tensor2D;
  /** [D]. */
  projBias: tf.Tensor1D;
}

/** Shape and regularisation of an attention call. */
export interface AttentionOptions {
  /** Batch size B (x has B*T rows). */
  batch: number;
  /** Sequence length T. */
  seqLen: number;
  /** Number of heads H; D must be divisible by H. */
  heads: number;
  /** Dropout rate on the attention probabilities (0 = none). */
  dropout?: number;
  /** Mask source; null or undefined at inference. */
  stream?: DropoutStream | null;
}

/**
 * Multi-head causal self-attention on x [B*T, D] (rows batch-major) -> [B*T, D]:
 *   [q|k|v] = x·Wqkv + bqkv;  per head: P = softmax(q·kᵀ / sqrt(dh) + M);  o = P·v;  y = o·Wproj + bproj
 * with M[i][j] = 0 for j <= i and ATTENTION_MASK_VALUE for j > i. q is scaled by 1/sqrt(dh) before
 * the product (same math, T*dh instead of T*T multiplies). Products are bmm()/dense(), whose
 * gradients avoid wasm's slow transposed and batched matMul paths.
 */
export function causalSelfAttention(x: tf.Tensor2D, w: AttentionWeights, options: AttentionOptions): tf.Tensor2D {
  const { batch: B, seqLen: T, heads: H } = options;
  const D = x.shape[1];
  const dh = D / H;
  if (!Number.isInteger(dh)) throw new TrainError(`attention dModel ${D} is not divisible by heads ${H}; choose heads that divide dModel`);
  return tf.tidy(() => {
    const qkv = dense(x, w.qkvKernel, w.qkvBias);
    // Column split, then a rank-4 transpose per part: wasm's rank-5 transpose is a slow generic loop.
    const [q, k, v] = tf.split(qkv, 3, 1).map((t) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]) as tf.Tensor3D) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const scores = bmm(tf.mul(q, 1 / Math.sqrt(dh)), tf.transpose(k, [0, 2, 1]));
    let probs = tf.softmax(tf.add(scores, causalMask(T))) as tf.Tensor3D;
    probs = dropout(probs, options.dropout ?? 0, options.stream ?? null);
    const o = bmm(probs, v);
    const merged = tf.reshape(tf.transpose(tf.reshape(o, [B, H, T, dh]), [0, 2, 1, 3]), [B * T, D]) as tf.Tensor2D;
    return dense(merged, w.projKernel, w.projBias);
  });
}

/** [T,T] additive causal mask: 0 on and below the diagonal, ATTENTION_MASK_VALUE above. */
export function causalMask(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = ATTENTION_MASK_VALUE;
  return tf.tensor2d(m, [T, T]);
}
