import * as tf from '@tensorflow/tfjs';
import { SlotOptimizer, type UpdateContext } from './base.js';
import { decayedNames, defaultExcludeFromDecay } from './decay.js';
import type { DecayFilter, Params } from './types.js';

/** AdamW hyper-parameters. */
export interface AdamWOptions {
  /** Default learning rate when step() is called without one. */
  lr: number;
  /** Decay rate of the first-moment estimate. */
  beta1?: number;
  /** Decay rate of the second-moment estimate. */
  beta2?: number;
  /** Added to sqrt(v_hat) for numerical stability. */
  eps?: number;
  /** Decoupled weight decay coefficient; each step multiplies params by (1 - lr * weightDecay). */
  weightDecay?: number;
  /** Parameters that get no weight decay; default: biases, LayerNorm gamma/beta and rank<=1 params. */
  excludeFromDecay?: DecayFilter;
}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter), with bias correction, following
 * PyTorch's torch.optim.AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). Slots: `<param>/m`, `<param>/v`.
 */
export class AdamW extends SlotOptimizer {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly decayed: ReadonlySet<string>;

  constructor(params: Params, options: AdamWOptions) {
    super(params, ['m', 'v'], options.lr);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    this.decayed = decayedNames(params, options.excludeFromDecay ?? defaultExcludeFromDecay);
  }

  protected update({ name, param, grad, gradScale, slots, lr, t }: UpdateContext): void {
    const { beta1, beta2, eps } = this;
    // every scalar (gradScale, bias corrections, lr) is folded into JS numbers: on wasm each tensor
    // op is a full pass over the parameter, so the rule is kept at 12 passes (13 with decay)
    const m = tf.add(tf.mul(slots.m!, beta1), tf.mul(grad, (1 - beta1) * gradScale));
    const v = tf.add(tf.mul(slots.v!, beta2), tf.mul(tf.square(grad), (1 - beta2) * gradScale * gradScale));
    slots.m!.assign(m);
    slots.v!.assign(v);
    if (lr === 0) return;
    // lr * m_hat / (sqrt(v_hat) + eps) == m / (sqrt(v) * a + b)
    const stepSize = lr / (1 - beta1 ** t);
    const a = 1 / (Math.sqrt(1 - beta2 ** t) * stepSize);
    const b = eps / stepSize;
    let p: tf.Tensor = param;
    if (this.weightDecay !== 0 && this.decayed.has(name)) p = tf.mul(p, 1 - lr * this.weightDecay);
    param.assign(tf.sub(p, tf.div(m, tf.add(tf.mul(tf.sqrt(v), a), b))));
  }
}
