import * as tf from '@tensorflow/tfjs';
import { TrainError } from '../../core/errors/index.js';
import { DropoutStream } from '../nn/index.js';
import type { Params } from './params.js';

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Training mode: dropout active. */
  training: boolean;
  /** Training step index; with the student's seed it fixes the dropout masks (default 0). */
  step?: number;
}

/** The dropout stream of a pass, or null when nothing is dropped. */
export function dropoutStream(seed: number, options: ForwardOptions, anyDropout: boolean): DropoutStream | null {
  return options.training && anyDropout ? new DropoutStream(seed, options.step ?? 0) : null;
}

/** The variable `name` as a tensor of rank R (throws if the params are not this student's). */
export function param<R extends tf.Rank>(params: Params, name: string): tf.Tensor<R> {
  const v = params[name];
  if (v === undefined) throw new TrainError(`student parameter '${name}' is missing; pass the params built for this student's spec`);
  return v as unknown as tf.Tensor<R>;
}
