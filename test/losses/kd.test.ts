import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { kdLoss, kdLossSum, hardLabelLoss, kdMetrics, type KdLossOptions, type TopkTail } from '../../src/train/losses/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import { f32, gaussian, kdLossRef, logSumExp, makeTargets, matrix, numericGrad, softmax, topIds, distillRow, type Div, type Form, type RefTarget } from './reference.js';
import { close, closeMatrix, disposeTargets, toTf } from './helpers.js';

await tf.setBackend('cpu');

const DIVS: Div[] = ['forward_kl', 'reverse_kl', 'symmetric', 'jsd'];
const RTOL = 1e-5;




/** Appends a padding row full of garbage: NaN logits, out-of-range ids, label -100. */
function withPadding(student: number[][], targets: RefTarget[], V: number): { student: number[][]; targets: RefTarget[] } {
  const t = targets[0]!;
  const junk: RefTarget = t.kind === 'full' ? { kind: 'full', logits: Array(V).fill(NaN) }
    : t.kind === 'topk' ? { ...t, ids: t.ids.map(() => 999), logits: t.ids.map(() => NaN), lse: NaN }
      : { kind: 'sampled', ids: t.ids.map(() => -7), counts: t.ids.map(() => NaN) };
  return { student: [...student, Array(V).fill(NaN)], targets: [...targets, junk] };
}

interface Case {
  student: number[][];
  targets: RefTarget[];
  mask: number[];
  labels?: number[];
  T: number;
  div: Div;
  alpha: number;
  tail?: TopkTail;
}

/** Loss and gradient from tf on cpu. */
function runTf(c: Case): { loss: number; grad: Float32Array } {
  const targets = toTf(c.targets);
  const x = tf.tensor2d(c.student);
  const mask = tf.tensor1d(c.mask);
  const labels = c.labels ? tf.tensor1d(c.labels, 'int32') : undefined;
  const opts: KdLossOptions = { temperature: c.T, divergence: c.div, alpha: c.alpha, tail: c.tail ?? 'ghost', labels };
  const { value, grad } = tf.valueAndGrad((s: tf.Tensor) => kdLoss(s, targets, mask, opts))(x);
  const out = { loss: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
  tf.dispose([value, grad, x, mask, ...(labels ? [labels] : [])]);
  disposeTargets(targets);
  return out;
}

function checkAgainstReference(c: Case, what: string, rtol = RTOL, atol = 1e-6): void {
  const o = { T: c.T, div: c.div, alpha: c.alpha };
  const f = (x: number[][]) => kdLossRef(x, c.targets, c.mask, o, c.labels);
  const got = runTf(c);
  close(got.loss, f(c.student), rtol, atol, `${what} loss`);
  closeMatrix(got.grad, numericGrad(f, c.student), rtol, atol, `${what} grad`);
}

test('every target form, divergence, T and alpha matches the float64 reference in value and gradient', () => {
  const rnd = gaussian(42);
  const M = 4;
  const V = 12;
  const k = 4;
  let cases = 0;
  for (const form of ['full', 'ghost', 'renormalize', 'sampled'] as Form[]) {
    const teacher = f32(matrix(M, V, rnd, 3));
    const base = f32(matrix(M, V, rnd, 2));
    const padded = withPadding(base, makeTargets(teacher, form, k, rnd), V);
    const labels = [...Array.from({ length: M }, (_, i) => (i * 5) % V), -100];
    const mask = [...Array(M).fill(1), 0];
    for (const div of form === 'sampled' ? (['forward_kl'] as Div[]) : DIVS) {
      for (const T of [1, 2, 4]) {
        for (const alpha of [0, 0.5, 1]) {
          const tail = form === 'renormalize' ? 'renormalize' : 'ghost';
          checkAgainstReference({ ...padded, mask, labels, T, div, alpha, tail }, `${form}/${div}/T=${T}/alpha=${alpha}`);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 3 * 4 * 9 + 9);
});

test('-Infinity teacher logits (masked vocabulary entries) give finite, exact losses and gradients', () => {
  const V = 6;
  const student = f32([[0.3, -1.2, 2.0, 0.1, -0.5, 1.1], [1.0, 0.0, -1.0, 0.5, 0.25, -2.0]]);
  const teacher = [[2.0, -Infinity, 1.0, -Infinity, 0.5, 0.0], [-Infinity, 3.0, -Infinity, -Infinity, 1.0, 1.0]];
  for (const div of DIVS) {
    for (const T of [1, 2, 4]) {
      const targets: RefTarget[] = teacher.map((logits) => ({ kind: 'full', logits }));
      checkAgainstReference({ student, targets, mask: [1, 1], T, div, alpha: 1 }, `full -inf ${div} T=${T}`);
      // renormalized top-4 includes an -inf logit in the second row
      const topk: RefTarget[] = teacher.map((row) => {
        const ids = topIds(row, 4);
        return { kind: 'topk', ids, logits: ids.map((i) => row[i]!), lse: Math.fround(logSumExp(row)), tail: 'renormalize' };
      });
      checkAgainstReference({ student, targets: topk, mask: [1, 1], T, div, alpha: 1, tail: 'renormalize' }, `renormalize -inf ${div} T=${T}`);
    }
  }
  // ghost top-3 where the teacher tail is empty (row 2: every other entry is -inf): tail mass 0
  for (const div of ['forward_kl', 'jsd'] as Div[]) {
    const ghost: RefTarget[] = teacher.map((row) => {
      const ids = topIds(row, 3);
      return { kind: 'topk', ids, logits: ids.map((i) => row[i]!), lse: Math.fround(logSumExp(row)), tail: 'ghost' };
    });
    checkAgainstReference({ student, targets: ghost, mask: [1, 1], T: 2, div, alpha: 1 }, `ghost -inf ${div}`);
  }
  assert.equal(V, student[0]!.length);
});

test('a fully masked batch gives loss 0, sum 0, count 0 and an all-zero gradient, never NaN', () => {
  const rnd = gaussian(7);
  const V = 8;
  for (const form of ['full', 'ghost', 'renormalize', 'sampled'] as Form[]) {
    const teacher = matrix(3, V, rnd, 3);
    const targets = toTf(makeTargets(teacher, form, 3, rnd));
    const x = tf.tensor2d([[NaN, ...Array(V - 1).fill(1)], ...matrix(2, V, rnd)]);
    const mask = tf.zeros([3]);
    const labels = tf.tensor1d([-100, 3, 99], 'int32');
    for (const div of form === 'sampled' ? (['forward_kl'] as Div[]) : DIVS) {
      const opts: KdLossOptions = { temperature: 2, divergence: div, alpha: 0.5, labels, tail: form === 'renormalize' ? 'renormalize' : 'ghost' };
      const { value, grad } = tf.valueAndGrad((s: tf.Tensor) => kdLoss(s, targets, mask, opts))(x);
      assert.equal(value.dataSync()[0], 0, `${form}/${div} loss`);
      assert.ok(Array.from(grad.dataSync()).every((g) => g === 0), `${form}/${div} grad all zero`);
      const parts = kdLossSum(x, targets, mask, opts);
      assert.deepEqual([parts.sum, parts.count, parts.distillSum, parts.hardSum].map((t) => t.dataSync()[0]), [0, 0, 0, 0]);
      tf.dispose([value, grad, parts.sum, parts.count, parts.distillSum, parts.hardSum]);
    }
    tf.dispose([x, mask, labels]);
    disposeTargets(targets);
  }
});

/** Loss and gradient for one student matrix under two target forms. */
function sameAsFull(student: number[][], teacher: number[][], other: RefTarget[], opts: KdLossOptions, rtol: number, atol: number, what: string): void {
  const full = runTf({ student, targets: teacher.map((logits) => ({ kind: 'full', logits })), mask: student.map(() => 1), T: opts.temperature!, div: opts.divergence!, alpha: 1 });
  const alt = runTf({ student, targets: other, mask: student.map(() => 1), T: opts.temperature!, div: opts.divergence!, alpha: 1, tail: opts.tail });
  close(alt.loss, full.loss, rtol, atol, `${what} loss`);
  const fullGrad = [Array.from(full.grad)];
  closeMatrix(alt.grad, fullGrad, rtol, atol, `${what} grad`);
  // and both agree with the float64 reference for full targets
  close(full.loss, kdLossRef(student, teacher.map((logits) => ({ kind: 'full', logits })), student.map(() => 1), { T: opts.temperature!, div: opts.divergence!, alpha: 1 }), RTOL, 1e-6, `${what} full vs reference`);
}

test('topk with k = V equals full targets, for ghost and renormalize, every divergence and T', () => {
  const rnd = gaussian(11);
  const V = 10;
  const teacher = f32(matrix(3, V, rnd, 3));
  const student = f32(matrix(3, V, rnd, 2));
  for (const tail of ['ghost', 'renormalize'] as TopkTail[]) {
    const topk: RefTarget[] = teacher.map((row) => {
      const ids = topIds(row, V);
      return { kind: 'topk', ids, logits: ids.map((i) => row[i]!), lse: Math.fround(logSumExp(row)), tail };
    });
    for (const divergence of DIVS) {
      for (const temperature of [1, 2, 4]) {
        sameAsFull(student, teacher, topk, { temperature, divergence, tail }, RTOL, 1e-6, `${tail}/${divergence}/T=${temperature}`);
      }
    }
  }
});

test('sampled counts proportional to the tempered teacher approximate full forward KL', () => {
  const rnd = gaussian(5);
  const V = 12;
  const n = 1_000_000;
  const teacher = f32(matrix(3, V, rnd, 2));
  const student = f32(matrix(3, V, rnd, 2));
  for (const temperature of [1, 2, 4]) {
    const sampled: RefTarget[] = teacher.map((row) => {
      const p = softmax(row.map((z) => z / temperature));
      return { kind: 'sampled', ids: p.map((_, i) => i), counts: p.map((v) => Math.round(v * n)) };
    });
    sameAsFull(student, teacher, sampled, { temperature, divergence: 'forward_kl' }, 1e-4, 1e-5, `sampled T=${temperature}`);
  }
});

test('the forward KL reported is the true KL: zero for identical distributions, unlike cross-entropy', () => {
  const logits = [[1, 2, 3, -1], [0.5, 0.5, -2, 4]];
  const x = tf.tensor2d(logits);
  const t = toTf(logits.map((l) => ({ kind: 'full', logits: l })));
  const mask = tf.ones([2]);
  for (const divergence of DIVS) {
    const v = kdLoss(x, t, mask, { divergence, temperature: 2 });
    close(v.dataSync()[0]!, 0, 0, 1e-6, divergence);
    v.dispose();
  }
  tf.dispose([x, mask]);
  disposeTargets(t);
});

test('sums over micro-batches divided by the total count equal the loss of the whole batch', () => {
  const rnd = gaussian(3);
  const V = 7;
  const teacher = f32(matrix(6, V, rnd, 2));
  const student = f32(matrix(6, V, rnd, 2));
  const mask = [1, 1, 0, 1, 0, 0];
  const labels = [1, 2, 3, 4, 5, 6];
  const opts = { temperature: 2, alpha: 0.3 };
  const whole = kdLossRef(student, teacher.map((logits) => ({ kind: 'full', logits })), mask, { ...opts, T: 2, div: 'forward_kl' }, labels);
  let sum = 0;
  let count = 0;
  for (const [a, b] of [[0, 2], [2, 6]] as const) {
    const t = toTf(teacher.slice(a, b).map((logits) => ({ kind: 'full', logits })));
    const x = tf.tensor2d(student.slice(a, b));
    const m = tf.tensor1d(mask.slice(a, b));
    const l = tf.tensor1d(labels.slice(a, b), 'int32');
    const parts = kdLossSum(x, t, m, { ...opts, labels: l });
    sum += parts.sum.dataSync()[0]!;
    count += parts.count.dataSync()[0]!;
    tf.dispose([x, m, l, parts.sum, parts.count, parts.distillSum, parts.hardSum]);
    disposeTargets(t);
  }
  assert.equal(count, 3);
  close(sum / count, whole, RTOL, 1e-6, 'accumulated');
});

test('tf.variableGrads through kdLoss equals tf.grad', () => {
  const rnd = gaussian(9);
  const V = 9;
  const teacher = matrix(3, V, rnd, 2);
  const targets = toTf(makeTargets(teacher, 'ghost', 3, rnd));
  const v = tf.variable(tf.tensor2d(matrix(3, V, rnd)));
  const mask = tf.tensor1d([1, 0, 1]);
  const opts: KdLossOptions = { temperature: 2, divergence: 'jsd' };
  const { value, grads } = tf.variableGrads(() => kdLoss(v, targets, mask, opts), [v]);
  const g = tf.grad((s: tf.Tensor) => kdLoss(s, targets, mask, opts))(v);
  closeMatrix(grads[v.name]!.dataSync(), [Array.from(g.dataSync())], 1e-6, 0, 'variableGrads');
  assert.ok(value.dataSync()[0]! > 0);
  tf.dispose([value, g, v, mask, ...Object.values(grads)]);
  disposeTargets(targets);
});

test('hard-label CE alone and the metrics match the reference', () => {
  const rnd = gaussian(13);
  const V = 10;
  const teacher = f32(matrix(5, V, rnd, 3));
  const student = f32(matrix(5, V, rnd, 3));
  const labels = [3, 1, 4, 1, 5];
  const mask = [1, 1, 1, 0, 1];
  const x = tf.tensor2d(student);
  const m = tf.tensor1d(mask);
  const ce = hardLabelLoss(x, tf.tensor1d(labels, 'int32'), m);
  const refCe = [0, 1, 2, 4].reduce((s, i) => s + logSumExp(student[i]!) - student[i]![labels[i]!]!, 0) / 4;
  close(ce.dataSync()[0]!, refCe, RTOL, 1e-6, 'hard CE');
  const argmax = (r: number[]) => r.indexOf(Math.max(...r));
  const kept = [0, 1, 2, 4];
  /** Teacher top-1: argmax of the logits, or the most drawn id (duplicates pooled). */
  const top1 = (r: RefTarget, i: number): number => {
    if (r.kind !== 'sampled') return argmax(teacher[i]!);
    const pooled = new Map<number, number>();
    r.ids.forEach((id, j) => pooled.set(id, (pooled.get(id) ?? 0) + r.counts[j]!));
    return [...pooled].sort((a, b) => b[1] - a[1])[0]![0];
  };
  for (const form of ['full', 'ghost', 'sampled'] as Form[]) {
    const refs = makeTargets(teacher, form, 4, rnd);
    const refAgree = kept.filter((i) => argmax(student[i]!) === top1(refs[i]!, i)).length / 4;
    const t = toTf(refs);
    const met = kdMetrics(x, t, m);
    close(met.agreement.dataSync()[0]!, refAgree, 0, 1e-7, `${form} agreement`);
    const refKl = kept.reduce((s, i) => s + distillRow(student[i]!, refs[i]!, 1, 'forward_kl'), 0) / 4;
    close(met.kl.dataSync()[0]!, refKl, RTOL, 1e-6, `${form} kl`);
    tf.dispose([met.agreement, met.kl]);
    disposeTargets(t);
  }
  tf.dispose([x, m, ce]);
});

test('bad inputs raise TrainError with the expected and actual values', () => {
  const x = tf.zeros([2, 4]);
  const mask = tf.ones([2]);
  const full = { kind: 'full' as const, logits: tf.zeros([2, 4]) };
  const sampled = { kind: 'sampled' as const, ids: tf.zeros([2, 3], 'int32'), counts: tf.ones([2, 3]) };
  assert.throws(() => kdLoss(x, full, mask, { alpha: 0.5 }), (e: Error) => e instanceof TrainError && /no labels/.test(e.message));
  assert.throws(() => kdLoss(x, sampled, mask, { divergence: 'reverse_kl' }), (e: Error) => e instanceof TrainError && /'forward_kl' only/.test(e.message));
  assert.throws(() => kdLoss(x, full, tf.ones([3]), {}), (e: Error) => e instanceof TrainError && /expected mask of shape \[2\], got \[3\]/.test(e.message));
  assert.throws(() => kdLoss(x, { kind: 'full', logits: tf.zeros([2, 5]) }, mask), (e: Error) => e instanceof TrainError && /teacher logits of shape \[2,4\], got \[2,5\]/.test(e.message));
  assert.throws(() => kdLoss(x, full, mask, { temperature: 0 }), TrainError);
  const rank3 = tf.zeros([2, 3, 4]);
  assert.throws(() => kdLoss(rank3, full, mask), (e: Error) => e instanceof TrainError && /flatten/.test(e.message));
  tf.dispose([x, mask, rank3]);
  disposeTargets(full);
  disposeTargets(sampled);
});

test('no tensor leaks across many loss, gradient and metric calls', () => {
  const rnd = gaussian(21);
  const V = 16;
  const teacher = matrix(4, V, rnd, 2);
  const inputs = (['full', 'ghost', 'renormalize', 'sampled'] as Form[]).map((form) => ({ form, t: toTf(makeTargets(teacher, form, 5, rnd)) }));
  const x = tf.tensor2d(matrix(4, V, rnd));
  const mask = tf.tensor1d([1, 1, 0, 1]);
  const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
  const before = tf.memory().numTensors;
  for (let i = 0; i < 25; i++) {
    for (const { form, t } of inputs) {
      const opts: KdLossOptions = { temperature: 2, alpha: 0.5, labels, tail: form === 'renormalize' ? 'renormalize' : 'ghost', divergence: form === 'sampled' ? 'forward_kl' : DIVS[i % 4]! };
      const { value, grad } = tf.valueAndGrad((s: tf.Tensor) => kdLoss(s, t, mask, opts))(x);
      const parts = kdLossSum(x, t, mask, opts);
      const met = kdMetrics(x, t, mask);
      tf.dispose([value, grad, parts.sum, parts.count, parts.distillSum, parts.hardSum, met.agreement, met.kl]);
    }
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, mask, labels]);
  for (const { t } of inputs) disposeTargets(t);
});
