import type * as tf from '@tensorflow/tfjs';
import { cnnFlops, cnnForward, cnnParamDefs } from './cnn.js';
import type { ForwardOptions } from './forward.js';
import { gptFlops, gptForward, gptParamDefs } from './gpt.js';
import { mlpFlops, mlpForward, mlpParamDefs } from './mlp.js';
import { createParams, disposeParams, getWeights, parameterCount, setWeights, type ParamDef, type Params, type WeightMap } from './params.js';
import type { StudentSpec } from './spec.js';
import { validateSpec } from './validate.js';

/** Options of buildStudent(). */
export interface BuildOptions {
  /** Seed of the initial weights and (with the step index) of the dropout masks (default 0). */
  seed?: number;
}

/** A functional student: explicit parameters and a forward pass over them. */
export interface Student {
  /** The spec it was built from. */
  readonly spec: StudentSpec;
  /** Its seed. */
  readonly seed: number;
  /** Its trainable variables by kennis name, in definition order. */
  readonly params: Params;
  /** Logits ([B,classes], or [B,T,V] for gpt) from `params` (usually this.params) and inputs. */
  forward(params: Params, inputs: tf.Tensor, options: ForwardOptions): tf.Tensor;
  /** Total number of scalar parameters. */
  parameterCount(): number;
  /** Forward FLOPs per sample (training ≈ 3x). */
  flopsPerSample(): number;
  /** Copies of all weights by name. */
  getWeights(): WeightMap;
  /** Loads weights of the same spec. */
  setWeights(weights: WeightMap): void;
  /** Disposes the variables. */
  dispose(): void;
}

/** The parameters (names, shapes, initialisers) a spec defines, in order. */
export function paramDefs(spec: StudentSpec): ParamDef[] {
  switch (spec.arch) {
    case 'mlp': return mlpParamDefs(spec);
    case 'cnn': return cnnParamDefs(spec);
    case 'gpt': return gptParamDefs(spec);
  }
}

/** Forward FLOPs per sample of a spec (gpt: per sequence of seqLen tokens). */
export function flopsPerSample(spec: StudentSpec): number {
  switch (spec.arch) {
    case 'mlp': return mlpFlops(spec);
    case 'cnn': return cnnFlops(spec);
    case 'gpt': return gptFlops(spec);
  }
}

/** Validates the spec (TrainError on a bad field) and creates a student with seeded initial weights. */
export function buildStudent(spec: StudentSpec, options: BuildOptions = {}): Student {
  validateSpec(spec);
  const seed = options.seed ?? 0;
  const params = createParams(paramDefs(spec), seed);
  const forward = (p: Params, inputs: tf.Tensor, o: ForwardOptions): tf.Tensor => {
    switch (spec.arch) {
      case 'mlp': return mlpForward(spec, seed, p, inputs, o);
      case 'cnn': return cnnForward(spec, seed, p, inputs, o);
      case 'gpt': return gptForward(spec, seed, p, inputs, o);
    }
  };
  return {
    spec, seed, params, forward,
    parameterCount: () => parameterCount(params),
    flopsPerSample: () => flopsPerSample(spec),
    getWeights: () => getWeights(params),
    setWeights: (w) => setWeights(params, w),
    dispose: () => disposeParams(params),
  };
}
