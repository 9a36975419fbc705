import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { distillationLoss, klDivergence } from '../../src/train/losses/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import { distillRow, gaussian, kdLossRef, matrix, type Div } from './reference.js';
import { close } from './helpers.js';

await tf.setBackend('cpu');

const f32 = (m: number[][]) => m.map((r) => r.map((v) => Math.fround(v)));

test('klDivergence on plain arrays is the mean true divergence at T, without the T^2 factor', () => {
  const rnd = gaussian(99);
  const teacher = f32(matrix(3, 9, rnd, 3));
  const student = f32(matrix(3, 9, rnd, 2));
  for (const divergence of ['forward_kl', 'reverse_kl', 'symmetric', 'jsd'] as Div[]) {
    for (const temperature of [1, 3]) {
      const ref = teacher.reduce((s, row, i) => s + distillRow(student[i]!, { kind: 'full', logits: row }, temperature, divergence, 0.3), 0) / 3;
      close(klDivergence(teacher, student, { temperature, divergence, beta: 0.3 }), ref, 1e-5, 1e-7, `${divergence} T=${temperature}`);
    }
  }
  // typed-array rows, a single row, and a mask
  const typed = teacher.map((r) => Float32Array.from(r));
  close(klDivergence(typed, student.map((r) => Float64Array.from(r))), klDivergence(teacher, student), 0, 0, 'typed rows');
  const one = distillRow(student[1]!, { kind: 'full', logits: teacher[1]! }, 1, 'forward_kl');
  close(klDivergence(teacher[1]!, student[1]!), one, 1e-5, 1e-7, 'single row');
  close(klDivergence(teacher, student, { mask: [0, 1, 0] }), one, 1e-5, 1e-7, 'masked');
});

test('distillationLoss on plain arrays equals the float64 KD loss with labels and alpha', () => {
  const rnd = gaussian(100);
  const teacher = f32(matrix(4, 6, rnd, 2));
  const student = f32(matrix(4, 6, rnd, 2));
  const labels = [0, 5, 2, 3];
  const mask = [1, 1, 1, 0];
  const got = distillationLoss(teacher, student, { temperature: 2, alpha: 0.7, labels, mask, divergence: 'jsd' });
  const ref = kdLossRef(student, teacher.map((logits) => ({ kind: 'full', logits })), mask, { T: 2, div: 'jsd', alpha: 0.7 }, labels);
  close(got, ref, 1e-5, 1e-7, 'distillationLoss');
});

test('plain functions leave no tensors behind and reject ragged input with TrainError', () => {
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    klDivergence([[1, 2, 3], [0, 0, 1]], [[3, 2, 1], [1, 0, 0]], { temperature: 2 });
    distillationLoss([[1, 2, 3]], [[3, 2, 1]], { alpha: 0.5, labels: [2] });
  }
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => klDivergence([[1, 2, 3], [1, 2]], [[1, 2, 3], [1, 2, 3]]),
    (e: Error) => e instanceof TrainError && /expected every row of teacher logits to have 3 values, got 2 in row 1/.test(e.message));
  assert.throws(() => klDivergence([[1, 2, 3]], [[1, 2]]), (e: Error) => e instanceof TrainError && /shape \[1,3\]/.test(e.message));
  assert.throws(() => klDivergence([], []), TrainError);
  assert.equal(tf.memory().numTensors, before);
});
