import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constant, cosineWithWarmup } from '../../src/train/optim/index.js';
import { TrainError } from '../../src/core/errors/index.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-15 + 1e-12 * Math.abs(b), `expected ${b}, got ${a}`);

test('constant returns the same lr at every step', () => {
  const s = constant(3e-4);
  for (const step of [0, 1, 10, 1e6]) assert.equal(s(step), 3e-4);
  assert.throws(() => constant(-1), TrainError);
});

test('cosineWithWarmup: linear warmup, cosine to minLr, then flat', () => {
  const lr = 1e-3, minLr = 1e-4, warmupSteps = 100, totalSteps = 1100;
  const s = cosineWithWarmup({ lr, warmupSteps, totalSteps, minLr });
  close(s(0), 0);
  close(s(1), lr / 100);
  close(s(50), lr / 2);
  close(s(99), (lr * 99) / 100);
  close(s(100), lr);
  // a quarter of the way through the decay: cos(pi/4) = sqrt(2)/2
  close(s(350), minLr + ((lr - minLr) * (1 + Math.SQRT1_2)) / 2);
  close(s(600), (lr + minLr) / 2);
  close(s(850), minLr + ((lr - minLr) * (1 - Math.SQRT1_2)) / 2);
  close(s(1100), minLr);
  close(s(5000), minLr);
  for (let t = 100; t < 1100; t++) assert.ok(s(t + 1) <= s(t), `not decreasing at ${t}`);
});

test('cosineWithWarmup defaults minLr to 0 and allows no warmup', () => {
  const s = cosineWithWarmup({ lr: 0.5, warmupSteps: 0, totalSteps: 10 });
  close(s(0), 0.5);
  close(s(5), 0.25);
  close(s(10), 0);
});

test('cosineWithWarmup rejects impossible settings', () => {
  assert.throws(() => cosineWithWarmup({ lr: 1, warmupSteps: 20, totalSteps: 10 }), (e: unknown) => e instanceof TrainError && /warmupSteps/.test(e.message));
  assert.throws(() => cosineWithWarmup({ lr: 1, warmupSteps: 0, totalSteps: 0 }), TrainError);
  assert.throws(() => cosineWithWarmup({ lr: 1, warmupSteps: 0, totalSteps: 10, minLr: 2 }), TrainError);
  assert.throws(() => cosineWithWarmup({ lr: Number.NaN, warmupSteps: 0, totalSteps: 10 }), TrainError);
});
