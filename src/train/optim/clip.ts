import * as tf from '@tensorflow/tfjs';
import type { Grads } from './types.js';

/** Result of clipByGlobalNorm. */
export interface ClippedGrads {
  /** New tensors owned by the caller (scaled copies, or clones when no clipping was needed). */
  grads: Record<string, tf.Tensor>;
  /** Global L2 norm of the input gradients, before clipping (NaN/Infinity if any is non-finite). */
  norm: number;
}

/**
 * Scales all gradients by min(1, maxNorm / (norm + 1e-6)) where norm is their joint L2 norm,
 * as torch.nn.utils.clip_grad_norm_. Inputs are not disposed. A non-finite norm leaves the
 * gradients unscaled so the caller can see it and skip the step.
 */
export function clipByGlobalNorm(grads: Grads, maxNorm: number): ClippedGrads {
  const entries = Object.entries(grads);
  const norm = globalNorm(grads);
  const scale = clipFactor(norm, maxNorm);
  const out: Record<string, tf.Tensor> = {};
  for (const [name, g] of entries) out[name] = tf.tidy(() => (scale < 1 ? tf.mul(g, scale) : tf.clone(g)));
  return { grads: out, norm };
}

/** The factor min(1, maxNorm / (norm + 1e-6)) clipByGlobalNorm scales by; 1 for a non-finite norm. */
export function clipFactor(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`expected maxNorm > 0, got ${maxNorm}`);
  return Number.isFinite(norm) ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
}

/** Joint L2 norm of a set of tensors, as a number. */
export function globalNorm(tensors: Grads): number {
  const list = Object.values(tensors);
  if (list.length === 0) return 0;
  const total = tf.tidy(() => tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(tf.cast(g, 'float32')))))));
  try {
    return total.dataSync()[0]!;
  } finally {
    total.dispose();
  }
}
