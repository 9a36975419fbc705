import * as tf from '@tensorflow/tfjs';
import { mergeDuplicates } from './buckets.js';
import { takeAlongRows } from './gather.js';
import { checkLogits, distillRows } from './kd.js';
import { keepRows, maskedSum, rowMask } from './mask.js';
import { resolveDistill, type TeacherTargets, type TopkTail } from './options.js';

/** Evaluation sums over unmasked rows; divide by count (summed over batches) for means. */
export interface KdMetricsSum {
  /** Rows where the student's argmax equals the teacher's top-1 id. */
  agreeSum: tf.Scalar;
  /** Sum of forward KL(teacher || student) at T=1 (true KL, entropy term included). */
  klSum: tf.Scalar;
  /** Number of unmasked rows. */
  count: tf.Scalar;
}

/** Means of KdMetricsSum (0 when every row is masked). */
export interface KdMetrics {
  /** Top-1 agreement in [0, 1]. */
  agreement: tf.Scalar;
  /** Mean forward KL at T=1. */
  kl: tf.Scalar;
}

/** Options for the metrics. */
export interface KdMetricsOptions {
  /** Tail handling for topk targets. Default 'ghost' (exact at T=1). */
  tail?: TopkTail;
}

/** The teacher's most likely id per row [M] (first on ties; the mode for sampled targets). */
function teacherTop1(teacher: TeacherTargets, keep: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    if (teacher.kind === 'full') return tf.argMax(teacher.logits, 1) as tf.Tensor1D;
    const raw = keepRows(tf.cast(teacher.ids, 'int32'), keep, 0) as tf.Tensor2D;
    // sampled padding entries (count 0) may carry any id, e.g. -1
    const ids = teacher.kind === 'topk' ? raw : tf.where(tf.greater(teacher.counts, 0), raw, tf.zerosLike(raw)) as tf.Tensor2D;
    const rows = ids.shape[0];
    // the mode of the draws: duplicate ids pool their counts
    const scores = teacher.kind === 'topk' ? teacher.logits : mergeDuplicates(ids, tf.cast(teacher.counts, 'float32') as tf.Tensor2D);
    const best = tf.reshape(tf.argMax(scores, 1), [rows, 1]) as tf.Tensor2D;
    return tf.reshape(takeAlongRows(ids, best), [rows]) as tf.Tensor1D;
  });
}

/** Top-1 agreement and KL to the teacher at T=1, as sums with the count. */
export function kdMetricsSum(studentLogits: tf.Tensor, teacher: TeacherTargets, mask: tf.Tensor, options: KdMetricsOptions = {}): KdMetricsSum {
  checkLogits(studentLogits);
  const o = resolveDistill({ temperature: 1, divergence: 'forward_kl', tail: options.tail ?? 'ghost' }, teacher.kind);
  return tf.tidy(() => {
    const keep = rowMask(mask, studentLogits.shape[0]!);
    const logits = keepRows(tf.cast(studentLogits, 'float32'), keep, 0) as tf.Tensor2D;
    const agree = tf.cast(tf.equal(tf.argMax(logits, 1), teacherTop1(teacher, keep)), 'float32') as tf.Tensor1D;
    const kl = maskedSum(distillRows(logits, teacher, keep, o), keep);
    return { agreeSum: maskedSum(agree, keep).sum, klSum: kl.sum, count: kl.count };
  });
}

/** Top-1 agreement and mean KL at T=1 over unmasked rows. */
export function kdMetrics(studentLogits: tf.Tensor, teacher: TeacherTargets, mask: tf.Tensor, options: KdMetricsOptions = {}): KdMetrics {
  return tf.tidy(() => {
    const s = kdMetricsSum(studentLogits, teacher, mask, options);
    const n = tf.maximum(s.count, 1);
    return { agreement: tf.div(s.agreeSum, n) as tf.Scalar, kl: tf.div(s.klSum, n) as tf.Scalar };
  });
}
