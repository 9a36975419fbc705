import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { dropout, DropoutStream } from '../../src/train/nn/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import { assertNoLeak, use } from './helpers.js';

const n = 20000;
const x = (): tf.Tensor => tf.range(1, n + 1, 1, 'float32');

test('dropout masks depend only on (seed, step, call order): equal when repeated, different across steps', async () => {
  await use('wasm');
  const xs = x();
  const draw = (seed: number, step: number): Float32Array[] => {
    const s = new DropoutStream(seed, step);
    return [0, 1].map(() => tf.tidy(() => Float32Array.from(dropout(xs, 0.3, s).dataSync())));
  };
  const [a1, a2] = draw(1, 4);
  const [b1, b2] = draw(1, 4);
  assert.deepEqual(b1, a1);
  assert.deepEqual(b2, a2);
  assert.notDeepEqual(a2, a1, 'expected the second call of a step to draw a new mask');
  assert.notDeepEqual(draw(1, 5)[0], a1, 'expected another step to draw another mask');
  assert.notDeepEqual(draw(2, 4)[0], a1, 'expected another seed to draw another mask');
  xs.dispose();
});

test('dropout zeroes about rate of the values and scales the rest by 1/(1-rate); gradient is the mask', async () => {
  await use('cpu');
  const rate = 0.25;
  const xs = x();
  const y = tf.tidy(() => dropout(xs, rate, new DropoutStream(9, 0))).dataSync();
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(dropout(t, rate, new DropoutStream(9, 0))))(xs)).dataSync();
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] === 0) { zeros++; assert.equal(g[i], 0); continue; }
    assert.ok(Math.abs(y[i]! - (i + 1) / (1 - rate)) <= 1e-6 * (i + 1), `expected x/(1-rate) at ${i}, got ${y[i]}`);
    assert.ok(Math.abs(g[i]! - 1 / (1 - rate)) < 1e-6, `expected gradient 1/(1-rate) at ${i}, got ${g[i]}`);
  }
  const sd = Math.sqrt(n * rate * (1 - rate));
  assert.ok(Math.abs(zeros - n * rate) < 4 * sd, `expected about ${n * rate} zeros, got ${zeros}`);
  assertNoLeak('dropout', () => { tf.tidy(() => dropout(xs, rate, new DropoutStream(9, 1))).dispose(); });
  xs.dispose();
});

test('dropout is the identity without a stream or at rate 0, and rejects rate >= 1', async () => {
  await use('cpu');
  const xs = x();
  assert.equal(dropout(xs, 0.5, null), xs);
  assert.equal(dropout(xs, 0, new DropoutStream(1, 1)), xs);
  assert.throws(() => dropout(xs, 1, new DropoutStream(1, 1)), TrainError);
  xs.dispose();
});
