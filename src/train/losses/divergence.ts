import * as tf from '@tensorflow/tfjs';
import type { Divergence } from './options.js';

/**
 * Divergences between two distributions over the same B buckets, given as log-probabilities
 * [M,B] (teacher `lt`, student `ls`). Buckets are vocabulary entries (full targets), the top-k ids
 * plus a ghost bucket (topk), or the top-k ids alone (renormalized topk).
 *
 * Teacher log-probs may be -Infinity (zero mass); student log-probs must be finite (a student
 * bucket with no mass is represented by a very negative finite value, see NEG_BIG).
 * Every term is written so that neither the value nor the gradient can become NaN.
 */

/** Finite stand-in for -Infinity on the student side: exp() of it is exactly 0 in float32. */
export const NEG_BIG = -1e30;

/**
 * ln(2^-126), the log of the smallest normal float32. Reverse KL is +Infinity whenever the teacher
 * has zero mass where the student has some; clamping the teacher's log-probs here keeps the loss
 * and its gradient finite while still pushing the student's mass off those entries.
 */
export const REVERSE_LOG_FLOOR = -126 * Math.LN2;

/**
 * KL(p || q) per row with p the teacher (lp may be -Infinity): sum over p > 0 of p (lp - lq).
 * The p > 0 test has no gradient, which is fine because it only reads the teacher.
 */
function klFromTeacher(lp: tf.Tensor, lq: tf.Tensor): tf.Tensor {
  const p = tf.exp(lp);
  // where p = 0 use lq in place of lp so the difference is 0 and never -Inf - x
  const diff = tf.sub(tf.where(tf.greater(p, 0), lp, lq), lq);
  return tf.sum(tf.mul(p, diff), -1);
}

/** KL(p || q) per row with p the student: lp and lq both finite, so no guard is needed. */
function klFromStudent(lp: tf.Tensor, lq: tf.Tensor): tf.Tensor {
  return tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq)), -1);
}

/** log(exp(a) + exp(b)) elementwise; exact when one side is -Infinity. */
export function logAddExp(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const hi = tf.maximum(a, b);
  const lo = tf.minimum(a, b);
  return tf.add(hi, tf.log1p(tf.exp(tf.sub(lo, hi))));
}

/** D(teacher, student) per row [M] for teacher log-probs lt and student log-probs ls [M,B]. */
export function bucketDivergence(lt: tf.Tensor, ls: tf.Tensor, divergence: Divergence, beta: number): tf.Tensor1D {
  return tf.tidy(() => {
    switch (divergence) {
      case 'forward_kl':
        return klFromTeacher(lt, ls) as tf.Tensor1D;
      case 'reverse_kl':
        return klFromStudent(ls, tf.maximum(lt, REVERSE_LOG_FLOOR)) as tf.Tensor1D;
      case 'symmetric': {
        const fwd = tf.mul(klFromTeacher(lt, ls), beta);
        const rev = tf.mul(klFromStudent(ls, tf.maximum(lt, REVERSE_LOG_FLOOR)), 1 - beta);
        return tf.add(fwd, rev) as tf.Tensor1D;
      }
      case 'jsd': {
        // generalized JSD at beta = 0.5: 0.5 KL(p || m) + 0.5 KL(q || m), m = 0.5 p + 0.5 q
        const lm = tf.add(logAddExp(lt, ls), Math.log(0.5));
        return tf.mul(tf.add(klFromTeacher(lt, lm), klFromStudent(ls, lm)), 0.5) as tf.Tensor1D;
      }
    }
  });
}
