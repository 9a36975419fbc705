import * as tf from '@tensorflow/tfjs';
import { TrainError } from '../../core/errors/index.js';
import { Rng } from '../../core/util/index.js';

/**
 * The dropout masks of one training step. Mask number n of step s is drawn from
 * Rng.derive(seed, s, n), so a run is reproducible and a resumed run draws the same masks as an
 * uninterrupted one; it depends only on (seed, step, call order within the forward pass).
 */
export class DropoutStream {
  private site = 0;

  constructor(
    /** Base seed of the run. */
    readonly seed: number,
    /** Index of the training step. */
    readonly step: number,
  ) {}

  /** Inverted-dropout mask: 0 with probability rate, else 1/(1-rate). */
  mask(shape: readonly number[], rate: number): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(dropoutMaskValues(this.seed, this.step, this.site++, n, rate), [...shape], 'float32');
  }
}

/** The values of mask number `site` of step `step` (n entries, row-major), as DropoutStream draws them. */
export function dropoutMaskValues(seed: number, step: number, site: number, n: number, rate: number): Float32Array {
  const draws = Rng.derive(seed, step, site).fillUint32(new Uint32Array(n));
  // u / 2^32 < rate exactly when u < rate * 2^32 (both sides scaled by a power of two)
  const below = rate * 4294967296;
  const keep = 1 / (1 - rate);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = draws[i]! < below ? 0 : keep;
  return data;
}

/**
 * Inverted dropout: x * mask (mask from `stream`), identity when stream is null or rate is 0.
 * The gradient is dy * mask (tfjs's own Mul gradient against a constant).
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, stream: DropoutStream | null): T {
  if (stream === null || rate <= 0) return x;
  if (!(rate < 1)) throw new TrainError(`dropout rate must be in [0, 1), got ${rate}; fix the student's dropout setting`);
  return tf.tidy(() => tf.mul(x, stream.mask(x.shape, rate))) as T;
}
