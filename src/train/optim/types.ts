import type * as tf from '@tensorflow/tfjs';

/** The trainable parameters an optimizer updates, by name (a functional student's explicit variables). */
export type Params = Readonly<Record<string, tf.Variable>>;

/** Gradients by parameter name; a parameter without an entry is left untouched for that step. */
export type Grads = Readonly<Record<string, tf.Tensor>>;

/** One optimizer slot (e.g. Adam's first moment of one parameter) as plain data. */
export interface SlotState {
  /** Shape of the slot, equal to its parameter's shape. */
  shape: number[];
  /** Row-major float32 values (a copy, safe to keep or serialize). */
  data: Float32Array;
}

/** Everything an optimizer needs to resume bit-identically; params are checkpointed separately. */
export interface OptimizerState {
  /** Number of steps taken so far (drives Adam's bias correction). */
  step: number;
  /** Slot values keyed `<param>/<slot>`, e.g. `dense1/kernel/m`. */
  slots: Record<string, SlotState>;
}

/** Common interface of kennis optimizers. */
export interface Optimizer {
  /** Steps taken so far; pass it to an LR schedule to get the LR of the next step. */
  readonly stepCount: number;
  /**
   * Applies one update in place (variable.assign) with learning rate `lr` (default: the options' lr),
   * using `grads` times `gradScale` (default 1; lets the caller fold a mean and a clipping factor in
   * without another pass over the gradients). Does not dispose `grads`.
   */
  step(grads: Grads, lr?: number, gradScale?: number): void;
  /** A deep copy of the optimizer state. */
  state(): OptimizerState;
  /** Restores a state produced by state() of an optimizer over the same parameter names and shapes. */
  loadState(state: OptimizerState): void;
  /** Releases the slots (not the parameters). */
  dispose(): void;
}

/** Decides whether a parameter is excluded from weight decay. */
export type DecayFilter = (name: string, shape: readonly number[]) => boolean;
