// Shared helpers for the nn and students tests (not a test file itself).
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../../src/train/backend/index.js';
import { Rng } from '../../src/core/util/index.js';

/** Plain float data drawn from N(0, scale^2) with a seeded Rng. */
export function normalData(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

/** Switches the global backend (tensors created before are moved lazily by tfjs). */
export async function use(name: BackendName): Promise<void> {
  await selectBackend(name);
}

/** |a - e| <= tol * (1 + |e|) elementwise, with the worst index in the message. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: expected ${expected.length} values, got ${actual.length}`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / (1 + Math.abs(expected[i]!));
    if (!(err <= worstErr)) { worst = i; worstErr = err; }
  }
  assert.ok(worstErr <= tol, `${label}: expected within ${tol}, got relative error ${worstErr} at ${worst} (${actual[worst]} vs ${expected[worst]})`);
}

/** Values of tensors as Float32Arrays, disposing the tensors. */
export function take(tensors: tf.Tensor[]): Float32Array[] {
  const out = tensors.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(tensors);
  return out;
}

/** Runs fn and asserts that it leaves no tensor behind. */
export function assertNoLeak(label: string, fn: () => void): void {
  const before = tf.memory().numTensors;
  fn();
  assert.equal(tf.memory().numTensors, before, `${label}: expected ${before} live tensors afterwards, got ${tf.memory().numTensors}`);
}

/**
 * Value and gradients of sum(f(inputs) * probe) w.r.t. the float inputs; the fixed random probe
 * makes every output element matter with a different weight.
 */
export function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], probe: Float32Array): Float32Array[] {
  return take(tf.tidy(() => {
    const wrt = inputs.filter((t) => t.dtype === 'float32');
    const others = inputs.map((t) => (t.dtype === 'float32' ? null : t));
    const call = (...ws: tf.Tensor[]): tf.Tensor => {
      let k = 0;
      const y = f(...others.map((t) => t ?? ws[k++]!));
      return tf.sum(tf.mul(y, tf.tensor(probe, y.shape)));
    };
    const y = tf.tidy(() => f(...inputs));
    const { grads } = tf.valueAndGrads(call)(wrt);
    return [y, ...grads];
  }));
}
