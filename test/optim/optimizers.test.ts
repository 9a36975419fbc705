import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW, SGD, defaultExcludeFromDecay } from '../../src/train/optim/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import {
  SHAPES, disposeAll, makeGrads, makeVariables, maxRelError, randomGradSeq, randomParamValues, readVariables,
  referenceAdamW, referenceSGD,
} from './reference.js';

await tf.setBackend('cpu');

const STEPS = 10;
const LRS = Array.from({ length: STEPS }, (_, i) => 0.01 * (1 + 0.2 * i)); // varying lr exercises step(grads, lr)
// written out by hand rather than via defaultExcludeFromDecay, so the filter is tested too
const DECAYED = new Set(['dense/kernel', 'emb/weight']);

function runTf(opt: (vars: Record<string, tf.Variable>) => AdamW | SGD, init: Record<string, Float32Array>, seq: Record<string, Float32Array>[]) {
  const vars = makeVariables(init);
  const o = opt(vars);
  seq.forEach((g, i) => {
    const grads = makeGrads(g);
    o.step(grads, LRS[i]!);
    disposeAll(grads);
  });
  const out = readVariables(vars);
  o.dispose();
  disposeAll(vars);
  return out;
}

test('AdamW matches a float64 AdamW over 10 steps with default decay exclusion', () => {
  const init = randomParamValues(1);
  const seq = randomGradSeq(2, STEPS);
  for (const hp of [{ beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.01 }, { beta1: 0.8, beta2: 0.95, eps: 1e-6, wd: 0.1 }]) {
    const actual = runTf((v) => new AdamW(v, { lr: 1, beta1: hp.beta1, beta2: hp.beta2, eps: hp.eps, weightDecay: hp.wd }), init, seq);
    const expected = referenceAdamW(init, seq, { lr: LRS, ...hp, decayed: DECAYED });
    const err = maxRelError(actual, expected, init);
    assert.ok(err < 1e-6, `expected relative error < 1e-6, got ${err}`);
    // the params really moved, so the comparison is not vacuous
    assert.ok(maxRelError(init, expected) > 1e-2);
  }
});

test('AdamW defaults are beta1=0.9 beta2=0.999 eps=1e-8 weightDecay=0.01', () => {
  const init = randomParamValues(3);
  const seq = randomGradSeq(4, STEPS);
  const actual = runTf((v) => new AdamW(v, { lr: 1 }), init, seq);
  const expected = referenceAdamW(init, seq, { lr: LRS, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.01, decayed: DECAYED });
  assert.ok(maxRelError(actual, expected, init) < 1e-6);
});

test('SGD matches a float64 SGD over 10 steps (plain, momentum, Nesterov, with L2 decay)', () => {
  const init = randomParamValues(5);
  const seq = randomGradSeq(6, STEPS);
  for (const hp of [
    { momentum: 0, nesterov: false, wd: 0 },
    { momentum: 0.9, nesterov: false, wd: 0 },
    { momentum: 0.9, nesterov: true, wd: 0.05 },
    { momentum: 0.5, nesterov: false, wd: 0.05 },
  ]) {
    const actual = runTf((v) => new SGD(v, { lr: 1, momentum: hp.momentum, nesterov: hp.nesterov, weightDecay: hp.wd }), init, seq);
    const expected = referenceSGD(init, seq, { lr: LRS, ...hp, decayed: DECAYED });
    const err = maxRelError(actual, expected, init);
    assert.ok(err < 1e-6, `${JSON.stringify(hp)}: expected relative error < 1e-6, got ${err}`);
  }
});

test('SGD defaults are momentum=0.9, no Nesterov, no decay', () => {
  const init = randomParamValues(7);
  const seq = randomGradSeq(8, STEPS);
  const actual = runTf((v) => new SGD(v, { lr: 1 }), init, seq);
  const expected = referenceSGD(init, seq, { lr: LRS, momentum: 0.9, nesterov: false, wd: 0, decayed: new Set() });
  assert.ok(maxRelError(actual, expected, init) < 1e-6);
  assert.deepEqual(Object.keys(new SGD({}, { lr: 1, momentum: 0 }).state().slots), []);
});

test('default decay filter excludes biases, LayerNorm gamma/beta and rank<=1 params', () => {
  assert.equal(defaultExcludeFromDecay('dense/bias', [5]), true);
  assert.equal(defaultExcludeFromDecay('blk0/ln1_gamma', [1, 5]), true);
  assert.equal(defaultExcludeFromDecay('blk0.ln.beta', [1, 5]), true);
  assert.equal(defaultExcludeFromDecay('scale', [7]), true);
  assert.equal(defaultExcludeFromDecay('temperature', []), true);
  assert.equal(defaultExcludeFromDecay('dense/kernel', [8, 5]), false);
  assert.equal(defaultExcludeFromDecay('emb/weight', [16, 4]), false);
});

test('weight decay only shrinks the params the filter does not exclude', () => {
  // with zero gradients Adam's step is 0/(0+eps)=0, so only the decoupled decay moves params
  const init = randomParamValues(9);
  const zeros = Object.fromEntries(Object.entries(SHAPES).map(([k, s]) => [k, new Float32Array(s.reduce((a, b) => a * b, 1))]));
  const lr = 0.1, wd = 0.5;
  for (const [exclude, decayed] of [
    [undefined, DECAYED],
    [(name: string) => name.startsWith('emb'), new Set(['dense/kernel', 'dense/bias', 'ln/gamma', 'ln/beta'])],
  ] as const) {
    const vars = makeVariables(init);
    const opt = new AdamW(vars, { lr, weightDecay: wd, ...(exclude ? { excludeFromDecay: exclude } : {}) });
    const grads = makeGrads(zeros);
    opt.step(grads);
    const after = readVariables(vars);
    for (const name of Object.keys(SHAPES)) {
      const factor = decayed.has(name) ? 1 - lr * wd : 1;
      const err = maxRelError({ [name]: after[name]! }, { [name]: Float64Array.from(init[name]!, (x) => x * factor) });
      assert.ok(err < 1e-6, `${name}: expected factor ${factor}, relative error ${err}`);
    }
    disposeAll(grads);
    opt.dispose();
    disposeAll(vars);
  }
});

test('step rejects gradients for unknown params, wrong shapes and bad learning rates', () => {
  const vars = makeVariables(randomParamValues(10));
  const opt = new AdamW(vars, { lr: 0.1 });
  const bad = tf.zeros([3, 3]);
  assert.throws(() => opt.step({ 'nope/kernel': bad }), (e: unknown) => e instanceof TrainError && /nope\/kernel/.test(e.message));
  assert.throws(() => opt.step({ 'dense/kernel': bad }), (e: unknown) => e instanceof TrainError && /expected \[8,5\]/.test(e.message));
  assert.throws(() => opt.step({}, Number.NaN), TrainError);
  assert.equal(opt.stepCount, 0);
  bad.dispose();
  opt.dispose();
  disposeAll(vars);
});

test('params without a gradient are left untouched', () => {
  const init = randomParamValues(11);
  const vars = makeVariables(init);
  const opt = new SGD(vars, { lr: 0.1 });
  const g = tf.ones(SHAPES['dense/kernel']!);
  opt.step({ 'dense/kernel': g });
  const after = readVariables(vars);
  assert.deepEqual(after['emb/weight'], init['emb/weight']);
  assert.notDeepEqual(after['dense/kernel'], init['dense/kernel']);
  g.dispose();
  opt.dispose();
  disposeAll(vars);
});
