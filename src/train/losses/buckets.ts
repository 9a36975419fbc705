import * as tf from '@tensorflow/tfjs';
import { NEG_BIG } from './divergence.js';
import { gatherAt, membership } from './gather.js';
import { fillWhere, logSumExpRows } from './rows.js';
import type { TopkTail } from './options.js';

/** Teacher and student log-probabilities over the same buckets [M,B]. */
export interface Buckets {
  /** Teacher log-probs; may hold -Infinity. */
  teacher: tf.Tensor2D;
  /** Student log-probs; finite. */
  student: tf.Tensor2D;
}

/** Full targets: both sides re-tempered exactly over the V entries. */
export function fullBuckets(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, temperature: number): Buckets {
  return tf.tidy(() => ({
    teacher: tf.logSoftmax(tf.div(teacherLogits, temperature)) as tf.Tensor2D,
    student: tf.logSoftmax(tf.div(studentLogits, temperature)) as tf.Tensor2D,
  }));
}

/**
 * Topk targets. 'renormalize': both sides are softmaxed over the k ids alone.
 * 'ghost': k + 1 buckets, the k ids and one ghost bucket holding all other mass.
 *
 * Teacher ghost at T=1 is exact: tail = 1 - sum_i exp(z_i - lse). For T != 1 the tempered
 * normaliser needs the tail logits, which are not stored; we assume the V - k tail tokens share
 * the tail mass equally (the maximum-entropy tail given its mass and size), so each has logit
 * u = lse + log(tail) - log(V - k) and the ghost's tempered logit is log(V - k) + u / T.
 * For T > 1 this is an upper bound on the true tempered tail (a single-token tail is the lower
 * bound); it is exact at T = 1 and for a flat tail. See docs/losses.md.
 *
 * Student ghost = logsumexp(z/T over non-top ids) - logsumexp(z/T), computed on the masked
 * logits rather than as log(1 - sum p), which loses all precision when the tail is small.
 */
export function topkBuckets(
  studentLogits: tf.Tensor2D, ids: tf.Tensor2D, teacherTopLogits: tf.Tensor2D, teacherLse: tf.Tensor1D,
  temperature: number, tail: TopkTail,
): Buckets {
  return tf.tidy(() => {
    const vocab = studentLogits.shape[1];
    const zs = tf.div(studentLogits, temperature) as tf.Tensor2D;
    const zt = tf.div(teacherTopLogits, temperature);
    if (tail === 'renormalize') {
      return { teacher: tf.logSoftmax(zt) as tf.Tensor2D, student: tf.logSoftmax(gatherAt(zs, ids)) as tf.Tensor2D };
    }
    const lseS = logSumExpRows(zs, true);
    const top = tf.sub(gatherAt(zs, ids), lseS);
    const outside = fillWhere(membership(ids, vocab), NEG_BIG, zs);
    const ghostS = tf.sub(logSumExpRows(outside, true), lseS);
    const ghostT = teacherGhostLogit(teacherTopLogits, teacherLse, vocab, temperature);
    return {
      teacher: tf.logSoftmax(tf.concat([zt, ghostT], 1)) as tf.Tensor2D,
      student: tf.concat([top, ghostS], 1) as tf.Tensor2D,
    };
  });
}

/**
 * Tail masses below this many float32 ulps of |lse| are rounding noise of the stored values (the
 * tail is 1 - exp(lseTop - lse), a difference of two float32 numbers) and count as exactly 0:
 * tempering at T > 1 would otherwise blow a 1e-7 noise tail up to a visible ghost bucket.
 */
export const TAIL_NOISE_ULPS = 8;

/** The teacher ghost bucket's logit at temperature T [M,1], under the equal-share tail rule. */
function teacherGhostLogit(z: tf.Tensor2D, lse: tf.Tensor1D, vocab: number, temperature: number): tf.Tensor2D {
  const [rows, k] = z.shape;
  if (k >= vocab) return tf.fill([rows, 1], -Infinity);
  // log(tail) = lse + log(1 - exp(lseTop - lse)); expm1 avoids a second cancellation
  const d = tf.sub(tf.logSumExp(z, 1), lse);
  const noise = tf.mul(tf.maximum(tf.abs(lse), 1), TAIL_NOISE_ULPS * 2 ** -24);
  const tail = tf.where(tf.less(tf.neg(d), noise), tf.zerosLike(d), tf.neg(tf.expm1(d)));
  const logTail = tf.add(lse, tf.log(tail));
  const logCount = Math.log(vocab - k);
  return tf.reshape(tf.add(tf.div(tf.sub(logTail, logCount), temperature), logCount), [rows, 1]);
}

/**
 * Sampled targets, forward KL only: q = counts / sum(counts) over the drawn ids (already at the
 * draw temperature, so T is not applied to q), student at T over the full vocabulary.
 * KL = sum_v q_v log q_v - sum_j q_j log p_student(id_j); duplicate ids are merged for the
 * entropy term (q_v sums their counts) so the value is exact either way. Cost M*n*n for the merge.
 */
export function sampledForwardKl(studentLogits: tf.Tensor2D, ids: tf.Tensor2D, counts: tf.Tensor2D, temperature: number): tf.Tensor1D {
  return tf.tidy(() => {
    const zs = tf.div(studentLogits, temperature) as tf.Tensor2D;
    const ls = tf.sub(gatherAt(zs, ids), logSumExpRows(zs, true));
    const c = tf.maximum(tf.cast(counts, 'float32'), 0);
    const q = tf.div(c, tf.maximum(tf.sum(c, 1, true), 1e-30)) as tf.Tensor2D;
    const merged = mergeDuplicates(ids, q);
    const drawn = tf.greater(q, 0);
    const logQ = tf.log(tf.where(drawn, merged, tf.onesLike(merged)));
    return tf.sum(tf.mul(q, tf.sub(tf.where(drawn, logQ, ls), ls)), 1) as tf.Tensor1D;
  });
}

/** For each entry j, the sum of values[m, j'] over entries j' with the same id (M*n*n work). */
export function mergeDuplicates(ids: tf.Tensor2D, values: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const same = tf.cast(tf.equal(tf.expandDims(ids, 2), tf.expandDims(ids, 1)), 'float32');
    return tf.sum(tf.mul(same, tf.expandDims(values, 1)), 2) as tf.Tensor2D;
  });
}
