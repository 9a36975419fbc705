import * as tf from '@tensorflow/tfjs';
import { TrainError, assert } from '../../core/errors/index.js';
import { bucketDivergence } from './divergence.js';
import { fullBuckets, sampledForwardKl, topkBuckets } from './buckets.js';
import { gatherAt } from './gather.js';
import { fillWhere, logSumExpRows } from './rows.js';
import { expectShape, keepRows, maskedSum, meanOf, rowMask, type MaskedSum } from './mask.js';
import { resolveAlpha, resolveDistill, type KdLossOptions, type ResolvedDistill, type TeacherTargets } from './options.js';

/** The KD objective's masked sums; the training step divides by the total count. */
export interface KdLossSum extends MaskedSum {
  /** Sum over unmasked rows of (1 - alpha) * CE + alpha * T^2 * D (what to differentiate). */
  sum: tf.Scalar;
  /** Sum over unmasked rows of T^2 * D, not weighted by alpha. */
  distillSum: tf.Scalar;
  /** Sum over unmasked rows of the hard-label CE at T=1; 0 without labels. */
  hardSum: tf.Scalar;
}

/** Student logits as float32 [M,V] with masked rows zeroed. */
function studentRows(logits: tf.Tensor, keep: tf.Tensor1D): tf.Tensor2D {
  return keepRows(tf.cast(logits, 'float32'), keep, 0) as tf.Tensor2D;
}

/** D(teacher_T, student_T) per row [M] (no T^2 factor); masked rows hold finite junk. */
export function distillRows(logits: tf.Tensor2D, teacher: TeacherTargets, keep: tf.Tensor1D, o: ResolvedDistill): tf.Tensor1D {
  return tf.tidy(() => {
    const [rows, vocab] = logits.shape;
    const T = o.temperature;
    switch (teacher.kind) {
      case 'full': {
        expectShape(teacher.logits, [rows, vocab], 'teacher logits');
        const b = fullBuckets(logits, keepRows(tf.cast(teacher.logits, 'float32'), keep, 0) as tf.Tensor2D, T);
        return bucketDivergence(b.teacher, b.student, o.divergence, o.beta);
      }
      case 'topk': {
        assert(teacher.ids.rank === 2 && teacher.ids.shape[0] === rows && teacher.ids.shape[1]! <= vocab,
          () => `expected topk ids of shape [${rows}, k <= ${vocab}], got [${teacher.ids.shape}]`, TrainError);
        const k = teacher.ids.shape[1]!;
        expectShape(teacher.logits, [rows, k], 'topk logits');
        expectShape(teacher.logsumexp, [rows], 'teacher logsumexp');
        const ids = keepRows(tf.cast(teacher.ids, 'int32'), keep, 0) as tf.Tensor2D;
        // padding rows become a valid uniform teacher: logits 0, lse log V
        const z = keepRows(tf.cast(teacher.logits, 'float32'), keep, 0) as tf.Tensor2D;
        const lse = keepRows(tf.cast(teacher.logsumexp, 'float32'), keep, Math.log(vocab)) as tf.Tensor1D;
        const b = topkBuckets(logits, ids, z, lse, T, o.tail);
        return bucketDivergence(b.teacher, b.student, o.divergence, o.beta);
      }
      case 'sampled': {
        assert(teacher.ids.rank === 2 && teacher.ids.shape[0] === rows,
          () => `expected sampled ids of shape [${rows}, n], got [${teacher.ids.shape}]`, TrainError);
        expectShape(teacher.counts, teacher.ids.shape, 'sample counts');
        const counts = keepRows(tf.cast(teacher.counts, 'float32'), keep, 0) as tf.Tensor2D;
        // padding entries (count 0) may carry any id, e.g. -1: point them at a valid column
        const ids = fillWhere(tf.lessEqual(counts, 0), 0, tf.cast(teacher.ids, 'int32')) as tf.Tensor2D;
        return sampledForwardKl(logits, ids, counts, T);
      }
    }
  });
}

/** Hard-label cross-entropy per row [M] at T=1; masked rows' labels are replaced by 0. */
function crossEntropyRows(logits: tf.Tensor2D, labels: tf.Tensor, keep: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const rows = logits.shape[0];
    expectShape(labels, [rows], 'labels');
    const ids = tf.reshape(keepRows(tf.cast(labels, 'int32'), keep, 0), [rows, 1]) as tf.Tensor2D;
    return tf.sub(logSumExpRows(logits), tf.reshape(gatherAt(logits, ids), [rows])) as tf.Tensor1D;
  });
}

/** Asserts student logits are [M,V]. */
export function checkLogits(logits: tf.Tensor): void {
  assert(logits.rank === 2, () => `expected student logits of shape [M, V], got [${logits.shape}]; flatten batch and positions first`, TrainError);
}

/**
 * (1 - alpha) * CE(labels) + alpha * T^2 * D(teacher_T, student_T), summed over unmasked rows,
 * with the count. Differentiable in studentLogits (tf.grad / tf.variableGrads) on cpu and wasm.
 */
export function kdLossSum(studentLogits: tf.Tensor, teacher: TeacherTargets, mask: tf.Tensor, options: KdLossOptions = {}): KdLossSum {
  checkLogits(studentLogits);
  const o = resolveDistill(options, teacher.kind);
  const alpha = resolveAlpha(options);
  return tf.tidy(() => {
    const keep = rowMask(mask, studentLogits.shape[0]!);
    const logits = studentRows(studentLogits, keep);
    const distill = tf.mul(distillRows(logits, teacher, keep, o), o.temperature ** 2) as tf.Tensor1D;
    const hard = options.labels === undefined ? undefined : crossEntropyRows(logits, options.labels, keep);
    const total = hard === undefined ? distill : tf.add(tf.mul(distill, alpha), tf.mul(hard, 1 - alpha)) as tf.Tensor1D;
    const s = maskedSum(total, keep);
    return {
      sum: s.sum,
      count: s.count,
      distillSum: maskedSum(distill, keep).sum,
      hardSum: hard === undefined ? tf.scalar(0) : maskedSum(hard, keep).sum,
    };
  });
}

/** kdLossSum normalised by the number of unmasked rows (0 when all are masked). */
export function kdLoss(studentLogits: tf.Tensor, teacher: TeacherTargets, mask: tf.Tensor, options: KdLossOptions = {}): tf.Scalar {
  return tf.tidy(() => meanOf(kdLossSum(studentLogits, teacher, mask, options)));
}

/** Hard-label cross-entropy at T=1 summed over unmasked rows, with the count (a no-teacher baseline). */
export function hardLabelLossSum(studentLogits: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor): MaskedSum {
  checkLogits(studentLogits);
  return tf.tidy(() => {
    const keep = rowMask(mask, studentLogits.shape[0]!);
    const s = maskedSum(crossEntropyRows(studentRows(studentLogits, keep), labels, keep), keep);
    return { sum: s.sum, count: s.count };
  });
}

/** hardLabelLossSum normalised by the number of unmasked rows. */
export function hardLabelLoss(studentLogits: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => meanOf(hardLabelLossSum(studentLogits, labels, mask)));
}
