// Float64 reference optimizers and random fixtures shared by the optim tests.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/util/index.js';

export const SHAPES: Record<string, number[]> = {
  'dense/kernel': [8, 5],
  'dense/bias': [5],
  'ln/gamma': [5],
  'ln/beta': [5],
  'emb/weight': [16, 4],
};

/** Random float32-representable values (so tfjs and the float64 reference start from the same numbers). */
export function randomValues(rng: Rng, shape: number[], scale = 1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

export function randomParamValues(seed: number): Record<string, Float32Array> {
  const rng = new Rng(seed);
  return Object.fromEntries(Object.entries(SHAPES).map(([k, s]) => [k, randomValues(rng, s)]));
}

/** `steps` rounds of random gradients for every parameter. */
export function randomGradSeq(seed: number, steps: number): Record<string, Float32Array>[] {
  const rng = new Rng(seed);
  return Array.from({ length: steps }, () =>
    Object.fromEntries(Object.entries(SHAPES).map(([k, s]) => [k, randomValues(rng, s, 0.5)])));
}

export function makeVariables(values: Record<string, Float32Array>): Record<string, tf.Variable> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) =>
    [k, tf.tidy(() => tf.variable(tf.tensor(v, SHAPES[k]!, 'float32'), true))]));
}

export function makeGrads(values: Record<string, Float32Array>): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, tf.tensor(v, SHAPES[k]!, 'float32')]));
}

export function readVariables(vars: Record<string, tf.Variable>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, Float32Array.from(v.dataSync() as Float32Array)]));
}

export function disposeAll(ts: Record<string, tf.Tensor>): void {
  for (const t of Object.values(ts)) t.dispose();
}

export interface RefAdamW { lr: number[]; beta1: number; beta2: number; eps: number; wd: number; decayed: Set<string> }

/** Textbook AdamW (decoupled decay, bias-corrected) in float64. */
export function referenceAdamW(init: Record<string, Float32Array>, grads: Record<string, Float32Array>[], o: RefAdamW): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [name, p0] of Object.entries(init)) {
    const p = Float64Array.from(p0);
    const m = new Float64Array(p.length);
    const v = new Float64Array(p.length);
    grads.forEach((gs, i) => {
      const t = i + 1;
      const lr = o.lr[i]!;
      const g = gs[name]!;
      for (let j = 0; j < p.length; j++) {
        if (o.decayed.has(name)) p[j] = p[j]! - lr * o.wd * p[j]!;
        m[j] = o.beta1 * m[j]! + (1 - o.beta1) * g[j]!;
        v[j] = o.beta2 * v[j]! + (1 - o.beta2) * g[j]! * g[j]!;
        const mHat = m[j]! / (1 - o.beta1 ** t);
        const vHat = v[j]! / (1 - o.beta2 ** t);
        p[j] = p[j]! - (lr * mHat) / (Math.sqrt(vHat) + o.eps);
      }
    });
    out[name] = p;
  }
  return out;
}

export interface RefSGD { lr: number[]; momentum: number; nesterov: boolean; wd: number; decayed: Set<string> }

/** Momentum SGD with L2 decay (torch.optim.SGD semantics) in float64. */
export function referenceSGD(init: Record<string, Float32Array>, grads: Record<string, Float32Array>[], o: RefSGD): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [name, p0] of Object.entries(init)) {
    const p = Float64Array.from(p0);
    const buf = new Float64Array(p.length);
    grads.forEach((gs, i) => {
      const g = gs[name]!;
      for (let j = 0; j < p.length; j++) {
        const gj = g[j]! + (o.decayed.has(name) ? o.wd * p[j]! : 0);
        buf[j] = o.momentum * buf[j]! + gj;
        const d = o.nesterov ? gj + o.momentum * buf[j]! : buf[j]!;
        p[j] = p[j]! - o.lr[i]! * d;
      }
    });
    out[name] = p;
  }
  return out;
}

/**
 * Largest |a - b| / max(|b|, |b0|, floor): float32 rounds at the magnitude a value had along its
 * trajectory, so a param that moved from ~1 to ~0.001 is judged against ~1, not against 0.001.
 */
export function maxRelError(
  actual: Record<string, Float32Array>, expected: Record<string, Float64Array>,
  start: Record<string, Float32Array> = {}, floor = 1e-3,
): number {
  let worst = 0;
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name]!;
    const s = start[name];
    for (let j = 0; j < e.length; j++) {
      const scale = Math.max(Math.abs(e[j]!), Math.abs(s?.[j] ?? 0), floor);
      worst = Math.max(worst, Math.abs(a[j]! - e[j]!) / scale);
    }
  }
  return worst;
}
