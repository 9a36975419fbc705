import * as tf from '@tensorflow/tfjs';
import { TrainError, assert } from '../../core/errors/index.js';
import { distillRows, kdLoss } from './kd.js';
import { keepRows, maskedSum, meanOf, rowMask } from './mask.js';
import { resolveDistill, type Divergence } from './options.js';

/**
 * Plain-array front ends over the same tf code, for users who have logits as arrays: every call
 * runs inside tf.tidy on the current backend and returns a number.
 */

/** One row of logits, or a list of rows (number arrays or typed arrays). */
export type LogitRows = ArrayLike<number> | readonly ArrayLike<number>[];

/** Options of klDivergence. */
export interface KlDivergenceOptions {
  /** Temperature applied to both sides. Default 1. */
  temperature?: number;
  /** Which divergence. Default 'forward_kl' = KL(teacher || student). */
  divergence?: Divergence;
  /** Forward weight of 'symmetric'. Default 0.5. */
  beta?: number;
  /** Per-row 0/1 weights; rows with 0 are ignored. Default all 1. */
  mask?: ArrayLike<number>;
}

/** Options of distillationLoss. */
export interface DistillationLossOptions extends KlDivergenceOptions {
  /** Weight of the distillation term; 1 - alpha weighs hard-label CE. Default 1. */
  alpha?: number;
  /** Hard label per row; required when alpha < 1. */
  labels?: ArrayLike<number>;
}

function isRowList(x: LogitRows): x is readonly ArrayLike<number>[] {
  return x.length > 0 && typeof x[0] !== 'number';
}

/** [M,V] float32 tensor from rows; throws TrainError for ragged or empty input. */
function toMatrix(x: LogitRows, name: string): tf.Tensor2D {
  const rows: readonly ArrayLike<number>[] = isRowList(x) ? x : [x as ArrayLike<number>];
  const width = rows[0]?.length ?? 0;
  assert(rows.length > 0 && width > 0, () => `expected ${name} with at least one row and one column, got ${rows.length} rows of ${width}`, TrainError);
  const flat = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    assert(r.length === width, () => `expected every row of ${name} to have ${width} values, got ${r.length} in row ${i}`, TrainError);
    for (let j = 0; j < width; j++) flat[i * width + j] = r[j]!;
  });
  return tf.tensor2d(flat, [rows.length, width]);
}

function toMask(mask: ArrayLike<number> | undefined, rows: number): tf.Tensor1D {
  return mask === undefined ? tf.ones([rows]) : tf.tensor1d(Array.from(mask));
}

function sameShape(a: tf.Tensor2D, b: tf.Tensor2D): void {
  assert(a.shape[0] === b.shape[0] && a.shape[1] === b.shape[1],
    () => `expected student logits of shape [${a.shape}] like the teacher's, got [${b.shape}]`, TrainError);
}

/**
 * Mean over rows of D(softmax(teacher/T), softmax(student/T)): the true divergence (KL includes
 * the teacher entropy), without the T^2 factor of the KD loss.
 */
export function klDivergence(teacherLogits: LogitRows, studentLogits: LogitRows, options: KlDivergenceOptions = {}): number {
  const o = resolveDistill(options, 'full');
  return tf.tidy(() => {
    const t = toMatrix(teacherLogits, 'teacher logits');
    const s = toMatrix(studentLogits, 'student logits');
    sameShape(t, s);
    const keep = rowMask(toMask(options.mask, s.shape[0]), s.shape[0]);
    const student = keepRows(s, keep, 0);
    return meanOf(maskedSum(distillRows(student, { kind: 'full', logits: t }, keep, o), keep)).dataSync()[0]!;
  });
}

/** The KD loss (1 - alpha) * CE + alpha * T^2 * D, averaged over unmasked rows, for full teacher logits. */
export function distillationLoss(teacherLogits: LogitRows, studentLogits: LogitRows, options: DistillationLossOptions = {}): number {
  return tf.tidy(() => {
    const t = toMatrix(teacherLogits, 'teacher logits');
    const s = toMatrix(studentLogits, 'student logits');
    sameShape(t, s);
    const rows = s.shape[0];
    const { mask, labels, ...rest } = options;
    const labelTensor = labels === undefined ? undefined : tf.tensor1d(Array.from(labels), 'int32');
    return kdLoss(s, { kind: 'full', logits: t }, toMask(mask, rows), { ...rest, labels: labelTensor }).dataSync()[0]!;
  });
}
