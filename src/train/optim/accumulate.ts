import * as tf from '@tensorflow/tfjs';
import type { Grads } from './types.js';

/**
 * Sums gradients over micro-batches. Loss per micro-batch should be a SUM over its unmasked
 * positions, so that dividing the accumulated sum by the total count of all micro-batches gives
 * the exact mean gradient (a mean of means would over-weight short micro-batches).
 */
export class GradientAccumulator {
  private sums = new Map<string, tf.Tensor>();
  private n = 0;

  /** Micro-batches added since the last take()/reset(). */
  get count(): number {
    return this.n;
  }

  /** Adds one micro-batch's gradients and takes ownership of them (they become or join the sum); on a shape mismatch it throws and takes nothing. */
  add(grads: Grads): void {
    // validate everything first so a rejected micro-batch leaves the sums untouched
    for (const [name, g] of Object.entries(grads)) {
      const prev = this.sums.get(name);
      if (prev !== undefined && (prev.shape.length !== g.shape.length || prev.shape.some((d, i) => d !== g.shape[i]))) {
        throw new RangeError(`expected gradient '${name}' of shape [${prev.shape}], got [${g.shape}]`);
      }
    }
    for (const [name, g] of Object.entries(grads)) {
      const prev = this.sums.get(name);
      if (prev === undefined) {
        // keep: the caller may call add() inside a tf.tidy that would otherwise free the sum
        this.sums.set(name, tf.keep(g));
        continue;
      }
      const next = tf.keep(tf.add(prev, g));
      prev.dispose();
      g.dispose();
      this.sums.set(name, next);
    }
    this.n += 1;
  }

  /**
   * Returns the accumulated sums times `scale` (e.g. 1 / unmaskedCount), hands their ownership
   * to the caller and resets the accumulator.
   */
  take(scale = 1): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, s] of this.sums) {
      if (scale === 1) {
        out[name] = s;
      } else {
        out[name] = tf.keep(tf.mul(s, scale));
        s.dispose();
      }
    }
    this.sums = new Map();
    this.n = 0;
    return out;
  }

  /** Drops the accumulated sums. */
  reset(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums = new Map();
    this.n = 0;
  }

  /** Same as reset(); for symmetry with the optimizers. */
  dispose(): void {
    this.reset();
  }
}
