import type { Manifest } from '../cache/index.js';
import type { CacheLoader, LoaderBatch } from './loader/index.js';
import type { KdLossOptions } from './losses/index.js';
import type { OptimizerState } from './optim/index.js';
import type { BackendMemory } from './tensorboard/index.js';
import type { StudentSpec, WeightMap } from './students/index.js';
import type { StudentInput } from './student-spec.js';
import type { EvalMetrics } from './evaluate.js';
import type { StepResult } from './step.js';

/** Optimizer settings a trainer applies (from the recipe's train section). */
export interface OptimizerSettings {
  kind: 'adamw' | 'sgd';
  /** Base learning rate (the schedule passes the step's lr to step()). */
  lr: number;
  weightDecay: number;
  /** sgd only. */
  momentum: number;
  /** Global-norm clipping of the mean gradient; 0 = off. */
  clipNorm: number;
}

/** What a training backend is built from. */
export interface TrainerSetup {
  spec: StudentSpec;
  /** Which cache column feeds the student, and how. */
  input: StudentInput;
  manifest: Manifest;
  loss: KdLossOptions;
  optimizer: OptimizerSettings;
  /** Seed of the student's initial weights and its dropout masks. */
  seed: number;
  /** Threads the backend may use (0: all cores). */
  threads: number;
}

/**
 * One student being trained on one backend: the seam between the training loop (train/run.ts)
 * and the tfjs (train/tfjs-trainer.ts) and onnxruntime (train/onnxruntime/) implementations.
 * Weights and optimizer state are plain data, so checkpoints do not depend on the backend.
 */
export interface StudentTrainer {
  /** Backend name for logs and summaries, e.g. 'onnxruntime', 'wasm'. */
  readonly backend: string;
  /** Threads it computes on ('native' when the backend manages its own). */
  readonly threads: number | 'native';
  /** Trainable parameters. */
  parameterCount(): number;
  /**
   * One optimizer step over micro-batches (gradient accumulation): the loss sums of all of them,
   * divided by their unmasked positions, as one large batch would give; clipping, then the update.
   * `step` is the 0-based index of this optimizer step (dropout masks are seeded by it).
   */
  step(micro: readonly LoaderBatch[], lr: number, step: number): Promise<StepResult>;
  /** Held-out metrics over every batch of `loader` (no dropout). */
  evaluate(loader: CacheLoader, manifest: Manifest): Promise<EvalMetrics>;
  /** A copy of the current weights by kennis weight name (train/students/README.md). */
  getWeights(): WeightMap;
  setWeights(weights: WeightMap): void;
  optimizerState(): OptimizerState;
  /**
   * The last step's gradient of the mean loss per parameter (before clipping), copied out, for
   * TensorBoard histograms; backends that do not keep it omit the method.
   */
  lastGradients?(): Record<string, Float32Array>;
  /** The backend's own tensor memory, when it keeps count (TensorBoard's memory scalars). */
  memory?(): BackendMemory;
  loadOptimizerState(state: OptimizerState): void;
  dispose(): void;
}
