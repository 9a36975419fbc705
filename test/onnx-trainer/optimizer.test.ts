import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { runtimeTensor } from '../../src/core/runtime/index.js';
import { AdamW, SGD, defaultExcludeFromDecay, type Optimizer } from '../../src/train/optim/index.js';
import { OnnxOptimizer } from '../../src/train/onnxruntime/optimizer.js';
import type { OptimizerSettings } from '../../src/train/trainer.js';
import { SHAPES, randomGradSeq, randomParamValues } from '../optim/reference.js';

await tf.setBackend('cpu');

/** Largest difference in float32 ulps between two arrays. */
function maxUlps(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const ulp = Math.max(Math.abs(b[i]!) * 2 ** -23, 2 ** -149);
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / ulp);
  }
  return worst;
}

async function compare(settings: OptimizerSettings, tfOptimizer: (p: Record<string, tf.Variable>) => Optimizer): Promise<void> {
  const initial = randomParamValues(3);
  const params = Object.entries(SHAPES).map(([name, shape]) => ({ name, shape, decayed: !defaultExcludeFromDecay(name, shape) }));
  const onnx = await OnnxOptimizer.create(params, settings, Object.fromEntries(params.map((p) => [p.name, { shape: p.shape, data: initial[p.name]! }])));
  const vars = Object.fromEntries(params.map((p) => [p.name, tf.variable(tf.tensor(initial[p.name]!, p.shape))]));
  const ref = tfOptimizer(vars);
  // lr 0 (a warmup's first step) and scales below and above 1 (mean over positions, clipping)
  const schedule = [[0, 0.5], [1e-2, 1 / 3], [3e-3, 1], [1e-3, 0.01], [5e-2, 2]] as const;
  const grads = randomGradSeq(5, schedule.length);
  for (const [i, [lr, scale]] of schedule.entries()) {
    await onnx.step(Object.fromEntries(params.map((p) => [p.name, runtimeTensor('float32', grads[i]![p.name]!, p.shape)])), lr, scale);
    const g = Object.fromEntries(params.map((p) => [p.name, tf.tensor(grads[i]![p.name]!, p.shape)]));
    ref.step(g, lr, scale);
    tf.dispose(Object.values(g));
    const got = onnx.getWeights();
    for (const p of params) {
      const want = vars[p.name]!.dataSync() as Float32Array;
      assert.ok(maxUlps(got[p.name]!.data, want) <= 2, `${settings.kind} step ${i} ${p.name}: ${maxUlps(got[p.name]!.data, want)} ulps from tfjs`);
    }
  }
  const a = onnx.state();
  const b = ref.state();
  assert.equal(a.step, b.step);
  assert.deepEqual(Object.keys(a.slots), Object.keys(b.slots), 'same slot names in the same order');
  for (const k of Object.keys(b.slots)) assert.ok(maxUlps(a.slots[k]!.data, b.slots[k]!.data) <= 2, `slot ${k}`);
  // a state round trip through the tfjs format continues identically
  const copy = await OnnxOptimizer.create(params, settings, onnx.getWeights());
  copy.loadState(b);
  const last = Object.fromEntries(params.map((p) => [p.name, runtimeTensor('float32', grads[0]![p.name]!, p.shape)]));
  await onnx.step(last, 1e-2, 1);
  await copy.step(last, 1e-2, 1);
  for (const p of params) assert.ok(maxUlps(copy.getWeights()[p.name]!.data, onnx.getWeights()[p.name]!.data) <= 2, `resumed ${p.name}`);
  ref.dispose();
  tf.dispose(Object.values(vars));
  await onnx.dispose();
  await copy.dispose();
}

test('the onnxruntime trainer AdamW update takes the tfjs AdamW step (decay filter, bias correction, gradient scale, lr 0) and its state round-trips', async () => {
  await compare({ kind: 'adamw', lr: 1e-3, weightDecay: 0.1, momentum: 0, clipNorm: 0 }, (p) => new AdamW(p, { lr: 1e-3, weightDecay: 0.1 }));
});

test('the onnxruntime trainer SGD update takes the tfjs SGD step with momentum and L2 decay, and without momentum', async () => {
  await compare({ kind: 'sgd', lr: 1e-2, weightDecay: 0.01, momentum: 0.9, clipNorm: 0 }, (p) => new SGD(p, { lr: 1e-2, momentum: 0.9, weightDecay: 0.01 }));
  await compare({ kind: 'sgd', lr: 1e-2, weightDecay: 0, momentum: 0, clipNorm: 0 }, (p) => new SGD(p, { lr: 1e-2, momentum: 0, weightDecay: 0 }));
});
