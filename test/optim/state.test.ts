import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW, SGD, type Optimizer, type OptimizerState } from '../../src/train/optim/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import { disposeAll, makeGrads, makeVariables, randomGradSeq, randomParamValues, readVariables } from './reference.js';

await tf.setBackend('cpu');

type Factory = (vars: Record<string, tf.Variable>) => Optimizer;
const FACTORIES: Record<string, Factory> = {
  adamw: (v) => new AdamW(v, { lr: 0.01, weightDecay: 0.1 }),
  sgd: (v) => new SGD(v, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
};

function runSteps(opt: Optimizer, seq: Record<string, Float32Array>[], lrAt: (s: number) => number): void {
  for (const g of seq) {
    const grads = makeGrads(g);
    opt.step(grads, lrAt(opt.stepCount));
    disposeAll(grads);
  }
}

// a structured-clone round trip stands in for writing the checkpoint to disk
function throughCheckpoint(state: OptimizerState): OptimizerState {
  return structuredClone(state);
}

for (const [kind, make] of Object.entries(FACTORIES)) {
  test(`${kind}: state()/loadState() resumes bit-identically after 5 of 10 steps`, () => {
    const init = randomParamValues(21);
    const seq = randomGradSeq(22, 10);
    const lrAt = (s: number) => 0.01 * (1 + s) / 10;

    const varsA = makeVariables(init);
    const optA = make(varsA);
    runSteps(optA, seq.slice(0, 5), lrAt);
    const saved = throughCheckpoint(optA.state());
    const savedParams = readVariables(varsA);
    runSteps(optA, seq.slice(5), lrAt);

    const varsB = makeVariables(savedParams);
    const optB = make(varsB);
    optB.loadState(saved);
    assert.equal(optB.stepCount, 5);
    runSteps(optB, seq.slice(5), lrAt);

    const a = readVariables(varsA);
    const b = readVariables(varsB);
    for (const name of Object.keys(a)) {
      assert.deepEqual(new Uint32Array(b[name]!.buffer), new Uint32Array(a[name]!.buffer), `param ${name} differs`);
    }
    const sa = optA.state();
    const sb = optB.state();
    assert.equal(sb.step, 10);
    assert.deepEqual(Object.keys(sb.slots).sort(), Object.keys(sa.slots).sort());
    for (const key of Object.keys(sa.slots)) {
      assert.deepEqual(sb.slots[key]!.shape, sa.slots[key]!.shape);
      assert.deepEqual(new Uint32Array(sb.slots[key]!.data.buffer), new Uint32Array(sa.slots[key]!.data.buffer), `slot ${key} differs`);
    }
    // the 5-step snapshot is a copy, not a view of live optimizer memory
    assert.notDeepEqual(saved.slots[Object.keys(saved.slots)[0]!]!.data, sa.slots[Object.keys(sa.slots)[0]!]!.data);
    for (const o of [optA, optB]) o.dispose();
    disposeAll(varsA);
    disposeAll(varsB);
  });

  test(`${kind}: no tensor leaks across step, state, loadState and dispose`, () => {
    const before = tf.memory().numTensors;
    const vars = makeVariables(randomParamValues(23));
    const opt = make(vars);
    const afterInit = tf.memory().numTensors;
    const seq = randomGradSeq(24, 3);
    runSteps(opt, seq, () => 0.01);
    assert.equal(tf.memory().numTensors, afterInit);
    const s = opt.state();
    opt.loadState(s);
    runSteps(opt, seq, () => 0.01);
    assert.equal(tf.memory().numTensors, afterInit);
    opt.dispose();
    disposeAll(vars);
    assert.equal(tf.memory().numTensors, before);
  });
}

test('slots are named <param>/<slot> with the param shape', () => {
  const vars = makeVariables(randomParamValues(25));
  const adam = new AdamW(vars, { lr: 0.1 });
  const sgd = new SGD(vars, { lr: 0.1 });
  const a = adam.state();
  assert.equal(a.step, 0);
  assert.deepEqual(Object.keys(a.slots).sort(), Object.keys(vars).flatMap((n) => [`${n}/m`, `${n}/v`]).sort());
  assert.deepEqual(a.slots['dense/kernel/m']!.shape, [8, 5]);
  assert.ok(a.slots['dense/kernel/v']!.data.every((x) => x === 0));
  assert.deepEqual(Object.keys(sgd.state().slots).sort(), Object.keys(vars).map((n) => `${n}/momentum`).sort());
  adam.dispose();
  sgd.dispose();
  disposeAll(vars);
});

test('loadState rejects a state from another optimizer or architecture', () => {
  const vars = makeVariables(randomParamValues(26));
  const adam = new AdamW(vars, { lr: 0.1 });
  const sgd = new SGD(vars, { lr: 0.1 });
  assert.throws(() => adam.loadState(sgd.state()), (e: unknown) => e instanceof TrainError && /missing \[.*dense\/kernel\/m/.test(e.message));
  const wrong = adam.state();
  wrong.slots['dense/kernel/m'] = { shape: [5, 8], data: new Float32Array(40) };
  assert.throws(() => adam.loadState(wrong), (e: unknown) => e instanceof TrainError && /'dense\/kernel\/m' has shape \[5,8\]/.test(e.message));
  const short = adam.state();
  short.slots['dense/bias/v'] = { shape: [5], data: new Float32Array(4) };
  assert.throws(() => adam.loadState(short), TrainError);
  assert.throws(() => adam.loadState({ ...adam.state(), step: -1 }), TrainError);
  adam.dispose();
  sgd.dispose();
  disposeAll(vars);
});
