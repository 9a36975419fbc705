import * as tf from '@tensorflow/tfjs';
import { TrainError } from '../../core/errors/index.js';
import type { Grads, Optimizer, OptimizerState, Params } from './types.js';

/** What a concrete optimizer does to one parameter in one step. */
export interface UpdateContext {
  /** Parameter name. */
  name: string;
  /** The parameter variable (assign the new value to it). */
  param: tf.Variable;
  /** Its gradient, still to be multiplied by `gradScale`. */
  grad: tf.Tensor;
  /** Factor the gradient is multiplied by (mean over positions times clipping), folded into the rule's own scalar multiplies. */
  gradScale: number;
  /** Its slots by slot name (assign new values to them). */
  slots: Readonly<Record<string, tf.Variable>>;
  /** Learning rate of this step. */
  lr: number;
  /** 1-based index of this step. */
  t: number;
}

/**
 * Shared machinery of slot-based optimizers: zero-initialised slot variables per parameter,
 * gradient validation, one tf.tidy per parameter (so intermediates of a large embedding are freed
 * before the next parameter), and exact state()/loadState().
 */
export abstract class SlotOptimizer implements Optimizer {
  private t = 0;
  private readonly slotVars = new Map<string, Record<string, tf.Variable>>();

  protected constructor(
    protected readonly params: Params,
    slotNames: readonly string[],
    private readonly defaultLr: number,
  ) {
    checkLr(defaultLr);
    for (const [name, p] of Object.entries(params)) {
      const slots: Record<string, tf.Variable> = {};
      for (const s of slotNames) slots[s] = tf.tidy(() => tf.variable(tf.zeros(p.shape, 'float32'), false));
      this.slotVars.set(name, slots);
    }
  }

  get stepCount(): number {
    return this.t;
  }

  step(grads: Grads, lr: number = this.defaultLr, gradScale = 1): void {
    checkLr(lr);
    if (!Number.isFinite(gradScale)) throw new TrainError(`gradient scale must be finite, got ${gradScale}`);
    for (const [name, g] of Object.entries(grads)) {
      const p = this.params[name];
      if (p === undefined) {
        throw new TrainError(`gradient '${name}' has no parameter; expected one of ${Object.keys(this.params).join(', ')}`);
      }
      if (!sameShape(g.shape, p.shape)) {
        throw new TrainError(`gradient '${name}' has shape [${g.shape}], expected [${p.shape}] like its parameter`);
      }
    }
    this.t += 1;
    for (const [name, grad] of Object.entries(grads)) {
      const param = this.params[name]!;
      const slots = this.slotVars.get(name)!;
      tf.tidy(() => this.update({ name, param, grad, gradScale, slots, lr, t: this.t }));
    }
  }

  /** Applies the update rule to one parameter; runs inside tf.tidy. */
  protected abstract update(ctx: UpdateContext): void;

  state(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [name, vars] of this.slotVars) {
      for (const [s, v] of Object.entries(vars)) {
        // dataSync may hand out the backend's own buffer, so copy
        slots[`${name}/${s}`] = { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
      }
    }
    return { step: this.t, slots };
  }

  loadState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new TrainError(`optimizer state step must be a non-negative integer, got ${state.step}; the checkpoint is corrupt`);
    }
    const expected = new Map<string, tf.Variable>();
    for (const [name, vars] of this.slotVars) {
      for (const [s, v] of Object.entries(vars)) expected.set(`${name}/${s}`, v);
    }
    const given = Object.keys(state.slots);
    const missing = [...expected.keys()].filter((k) => !(k in state.slots));
    const extra = given.filter((k) => !expected.has(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new TrainError(
        `optimizer state slots do not match: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]; ` +
        'resume with the same optimizer type and student architecture');
    }
    for (const [key, v] of expected) {
      const slot = state.slots[key]!;
      const n = slot.shape.reduce((a, b) => a * b, 1);
      if (!sameShape(slot.shape, v.shape) || slot.data.length !== n) {
        throw new TrainError(
          `optimizer state slot '${key}' has shape [${slot.shape}] with ${slot.data.length} values, expected [${v.shape}]; ` +
          'resume with the same student architecture');
      }
    }
    for (const [key, v] of expected) {
      const slot = state.slots[key]!;
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from(slot.data), slot.shape, 'float32')));
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const vars of this.slotVars.values()) for (const v of Object.values(vars)) v.dispose();
    this.slotVars.clear();
  }
}

function checkLr(lr: number): void {
  if (!Number.isFinite(lr) || lr < 0) throw new TrainError(`learning rate must be a finite number >= 0, got ${lr}; check the optimizer lr and schedule`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
