import * as tf from '@tensorflow/tfjs';
import { SlotOptimizer, type UpdateContext } from './base.js';
import { decayedNames, defaultExcludeFromDecay } from './decay.js';
import type { DecayFilter, Params } from './types.js';

/** SGD hyper-parameters. */
export interface SGDOptions {
  /** Default learning rate when step() is called without one. */
  lr: number;
  /** Momentum factor; 0 disables the velocity slot. */
  momentum?: number;
  /** Use Nesterov momentum (g + momentum * buf) instead of the buffer itself. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (coupled, as in torch.optim.SGD). */
  weightDecay?: number;
  /** Parameters that get no weight decay; default: biases, LayerNorm gamma/beta and rank<=1 params. */
  excludeFromDecay?: DecayFilter;
}

/**
 * SGD with optional (Nesterov) momentum, following torch.optim.SGD with dampening 0:
 * g += wd p; buf = momentum buf + g; d = nesterov ? g + momentum buf : buf; p -= lr d.
 * Slot: `<param>/momentum` (absent when momentum is 0).
 */
export class SGD extends SlotOptimizer {
  private readonly momentum: number;
  private readonly nesterov: boolean;
  private readonly weightDecay: number;
  private readonly decayed: ReadonlySet<string>;

  constructor(params: Params, options: SGDOptions) {
    const momentum = options.momentum ?? 0.9;
    super(params, momentum !== 0 ? ['momentum'] : [], options.lr);
    this.momentum = momentum;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    this.decayed = decayedNames(params, options.excludeFromDecay ?? defaultExcludeFromDecay);
  }

  protected update({ name, param, grad, gradScale, slots, lr }: UpdateContext): void {
    let g: tf.Tensor = gradScale === 1 ? grad : tf.mul(grad, gradScale);
    if (this.weightDecay !== 0 && this.decayed.has(name)) g = tf.add(g, tf.mul(param, this.weightDecay));
    let d = g;
    if (this.momentum !== 0) {
      const buf = tf.add(tf.mul(slots.momentum!, this.momentum), g);
      d = this.nesterov ? tf.add(g, tf.mul(buf, this.momentum)) : buf;
      slots.momentum!.assign(buf);
    }
    param.assign(tf.sub(param, tf.mul(d, lr)));
  }
}
