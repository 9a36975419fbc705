import * as tf from '@tensorflow/tfjs';
import { TrainError } from '../../core/errors/index.js';
import { Rng } from '../../core/util/index.js';

/** Trainable parameters by kennis name, e.g. `dense_0/kernel` (naming scheme: src/students/README.md). */
export type Params = Record<string, tf.Variable>;

/** One parameter's values as plain data, for checkpoints and ONNX export. */
export interface WeightEntry {
  /** Shape, row-major. */
  shape: number[];
  /** Values (a copy). */
  data: Float32Array;
}

/** All parameters' values by kennis name. */
export type WeightMap = Record<string, WeightEntry>;

/** How a parameter is initialised. */
export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  /** U(-a, a) with a = sqrt(6 / (fanIn + fanOut)). */
  | { kind: 'glorotUniform'; fanIn: number; fanOut: number }
  /** U(-a, a) with a = sqrt(6 / fanIn), for ReLU/GELU layers. */
  | { kind: 'heUniform'; fanIn: number }
  /** N(0, std^2). */
  | { kind: 'normal'; std: number };

/** A parameter to create: name, shape, initialiser. */
export interface ParamDef {
  /** kennis name. */
  name: string;
  /** Shape. */
  shape: number[];
  /** Initialiser. */
  init: Init;
}

let modelCounter = 0;

/**
 * Creates the variables of `defs`. Parameter i draws from Rng.derive(seed, i), so weights depend
 * only on the seed and the definition order. tfjs variable names must be globally unique, so each
 * model gets its own prefix; the Params keys are the plain kennis names.
 */
export function createParams(defs: readonly ParamDef[], seed: number): Params {
  const prefix = `kennis_${modelCounter++}`;
  const params: Params = {};
  for (const [name, w] of Object.entries(initialWeights(defs, seed))) {
    params[name] = tf.tidy(() => tf.variable(tf.tensor(w.data, w.shape, 'float32'), true, `${prefix}/${name}`));
  }
  return params;
}

/** The initial values of `defs` as plain data: parameter i draws from Rng.derive(seed, i). */
export function initialWeights(defs: readonly ParamDef[], seed: number): WeightMap {
  const out: WeightMap = {};
  defs.forEach((d, i) => { out[d.name] = { shape: [...d.shape], data: initValues(d.init, sizeOf(d.shape), Rng.derive(seed, i)) }; });
  return out;
}

function initValues(init: Init, n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  switch (init.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'glorotUniform':
    case 'heUniform': {
      const a = Math.sqrt(6 / (init.kind === 'heUniform' ? init.fanIn : init.fanIn + init.fanOut));
      for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * a;
      return out;
    }
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = rng.normal() * init.std;
      return out;
  }
}

/** Total number of scalar parameters. */
export function parameterCount(params: Params): number {
  return Object.values(params).reduce((s, v) => s + v.size, 0);
}

/** Copies of all parameter values by name, in definition order. */
export function getWeights(params: Params): WeightMap {
  const out: WeightMap = {};
  for (const [name, v] of Object.entries(params)) out[name] = { shape: [...v.shape], data: Float32Array.from(v.dataSync()) };
  return out;
}

/** Assigns every parameter from `weights`; names and shapes must match exactly. */
export function setWeights(params: Params, weights: WeightMap): void {
  const extra = Object.keys(weights).filter((k) => !(k in params));
  if (extra.length > 0) throw new TrainError(`weights have unknown parameter '${extra[0]}'; expected only ${Object.keys(params).join(', ')}`);
  for (const [name, v] of Object.entries(params)) {
    const w = weights[name];
    if (w === undefined) throw new TrainError(`weights lack parameter '${name}'; load a checkpoint of the same student spec`);
    if (w.shape.length !== v.shape.length || w.shape.some((d, i) => d !== v.shape[i]) || w.data.length !== v.size) {
      throw new TrainError(`weight '${name}' has shape [${w.shape}] with ${w.data.length} values, expected [${v.shape}]; load a checkpoint of the same student spec`);
    }
  }
  for (const [name, v] of Object.entries(params)) {
    const w = weights[name]!;
    tf.tidy(() => v.assign(tf.tensor(w.data, w.shape, 'float32')));
  }
}

/** Disposes all variables. */
export function disposeParams(params: Params): void {
  for (const v of Object.values(params)) v.dispose();
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
