import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { fillWhere, logSumExpRows, repeatColumns, whereRows } from '../../src/train/losses/rows.js';
import { gaussian, logSumExp, matrix } from './reference.js';

await tf.setBackend('wasm');
await tf.ready();

test('logSumExpRows equals a float64 logsumexp, and its gradient dy * softmax, with -inf entries', () => {
  const rnd = gaussian(5);
  const x = matrix(6, 9, rnd, 4).map((r) => r.map((v) => Math.fround(v)));
  x[2]![3] = -Infinity;
  x[4]![0] = -Infinity;
  const dy = [0.5, -1, 2, 0.25, 1, -0.75];
  const before = tf.memory().numTensors;
  const xt = tf.tensor2d(x);
  const value = logSumExpRows(xt);
  const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(logSumExpRows(t as tf.Tensor2D), tf.tensor1d(dy))))(xt);
  const v = value.dataSync();
  const g = grad.arraySync() as number[][];
  x.forEach((row, m) => {
    const lse = logSumExp(row);
    assert.ok(Math.abs(v[m]! - lse) < 1e-5, `row ${m}: expected ${lse}, got ${v[m]}`);
    row.forEach((xi, j) => {
      const want = dy[m]! * Math.exp(xi - lse);
      assert.ok(Math.abs(g[m]![j]! - want) < 1e-6, `d/dx[${m},${j}]: expected ${want}, got ${g[m]![j]}`);
    });
  });
  const kept = logSumExpRows(xt, true);
  assert.deepEqual(kept.shape, [6, 1]);
  tf.dispose([xt, value, grad, kept]);
  assert.equal(tf.memory().numTensors, before, 'expected no leaked tensors');
});

test('whereRows, fillWhere and repeatColumns equal the broadcasting tf ops they replace', () => {
  const rnd = gaussian(9);
  const x = tf.tensor2d(matrix(5, 7, rnd, 1));
  const x3 = tf.reshape(x, [5, 7, 1]);
  const keep = tf.tensor1d([true, false, true, true, false], 'bool');
  const cond = tf.greater(x, 0);
  const check = (a: tf.Tensor, b: tf.Tensor) => assert.deepEqual(a.arraySync(), b.arraySync());
  check(whereRows(keep, x, -3), tf.where<tf.Tensor>(tf.reshape(keep, [5, 1]), x, tf.scalar(-3)));
  check(whereRows(keep, x3, 2), tf.where<tf.Tensor>(tf.reshape(keep, [5, 1, 1]), x3, tf.scalar(2)));
  check(fillWhere(cond, -1e30, x), tf.where<tf.Tensor>(cond, tf.scalar(-1e30), x));
  check(repeatColumns(tf.tensor1d([1, 2, 3], 'int32'), 4), tf.tile(tf.tensor2d([[1], [2], [3]], [3, 1], 'int32'), [1, 4]));
});
