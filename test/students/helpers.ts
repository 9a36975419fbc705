// Shared helpers for the students tests (not a test file itself).
import * as tf from '@tensorflow/tfjs';
import type { Student } from '../../src/train/students/index.js';

/** Mean cross-entropy of logits [..., C] against int labels of the same leading shape. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const C = logits.shape[logits.rank - 1]!;
  const flat = tf.reshape(logits, [-1, C]);
  const oh = tf.oneHot(tf.reshape(labels, [-1]) as tf.Tensor1D, C);
  return tf.neg(tf.mean(tf.sum(tf.mul(oh, tf.logSoftmax(flat)), -1))) as tf.Scalar;
}

/** Runs `steps` plain SGD steps (training mode, step index 0..steps-1); returns the loss before each step. */
export function sgd(student: Student, x: tf.Tensor, labels: tf.Tensor, steps: number, lr: number): number[] {
  const vars = Object.values(student.params);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(student.forward(student.params, x, { training: true, step: s }), labels), vars);
      losses.push(value.dataSync()[0]!);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(lr, grads[v.name]!)));
    });
  }
  return losses;
}

/** Evaluation-mode loss. */
export function evalLoss(student: Student, x: tf.Tensor, labels: tf.Tensor): number {
  return tf.tidy(() => crossEntropy(student.forward(student.params, x, { training: false }), labels).dataSync()[0]!);
}

/** Float64 erf (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7). */
export function erf64(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
