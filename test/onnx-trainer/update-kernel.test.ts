import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runtimeTensor } from '../../src/core/runtime/index.js';
import { defaultExcludeFromDecay } from '../../src/train/optim/index.js';
import { OnnxOptimizer, type UpdateMode } from '../../src/train/onnxruntime/optimizer.js';
import type { OptimizerSettings } from '../../src/train/trainer.js';
import { compileWat, KERNELS, kernelModule } from '../../scripts/build-kernels.js';
import { SHAPES, randomGradSeq, randomParamValues } from '../optim/reference.js';

test('the committed update kernel module is a fresh compile of update.wat', async () => {
  for (const k of KERNELS) {
    const binary = await compileWat(k.source);
    assert.equal(readFileSync(k.module, 'utf8'), kernelModule(k.source, k.constant, binary), `${k.module} is stale: run npm run build:kernels`);
  }
});

/** Both update modes over the same schedule: every weight and slot bit for bit equal after every step. */
async function sameBits(settings: OptimizerSettings): Promise<void> {
  const initial = randomParamValues(7);
  const params = Object.entries(SHAPES).map(([name, shape]) => ({ name, shape, decayed: !defaultExcludeFromDecay(name, shape) }));
  const weights = Object.fromEntries(params.map((p) => [p.name, { shape: p.shape, data: initial[p.name]! }]));
  const make = (update: UpdateMode) => OnnxOptimizer.create(params, settings, weights, { update });
  const [kernel, graph] = [await make('kernel'), await make('graph')];
  assert.equal(kernel.mode, 'kernel');
  assert.equal(graph.mode, 'graph');
  const schedule = [[0, 0.5], [1e-2, 1 / 3], [3e-3, 1], [1e-3, 0.01], [5e-2, 2], [2e-2, 1e3]] as const;
  const grads = randomGradSeq(11, schedule.length);
  for (const [i, [lr, scale]] of schedule.entries()) {
    // odd steps write the gradients into the kernel's own buffers (as the trainer does), even ones pass foreign tensors
    const own = kernel.gradientSet(0);
    const feed = (opt: OnnxOptimizer) => Object.fromEntries(params.map((p) => {
      if (opt === kernel && i % 2 === 1) {
        (own[p.name]!.data as Float32Array).set(grads[i]![p.name]!);
        return [p.name, own[p.name]!];
      }
      return [p.name, runtimeTensor('float32', grads[i]![p.name]!, p.shape)];
    }));
    await kernel.step(feed(kernel), lr, scale);
    await graph.step(feed(graph), lr, scale);
    const [a, b] = [kernel.getWeights(), graph.getWeights()];
    for (const p of params) assert.deepEqual(a[p.name]!.data, b[p.name]!.data, `${settings.kind} step ${i} ${p.name}`);
    const [sa, sb] = [kernel.state(), graph.state()];
    assert.deepEqual(Object.keys(sa.slots), Object.keys(sb.slots));
    for (const k of Object.keys(sb.slots)) assert.deepEqual(sa.slots[k]!.data, sb.slots[k]!.data, `${settings.kind} step ${i} slot ${k}`);
  }
  await kernel.dispose();
  await graph.dispose();
}

test('the SIMD AdamW kernel updates weights and moments bit for bit as the update graph (decay filter, lr 0, odd sizes)', async () => {
  await sameBits({ kind: 'adamw', lr: 1e-3, weightDecay: 0.1, momentum: 0, clipNorm: 0 });
  await sameBits({ kind: 'adamw', lr: 1e-3, weightDecay: 0, momentum: 0, clipNorm: 0 });
});

test('the SIMD SGD kernel updates weights and momentum bit for bit as the update graph, with and without momentum and decay', async () => {
  await sameBits({ kind: 'sgd', lr: 1e-2, weightDecay: 0.01, momentum: 0.9, clipNorm: 0 });
  await sameBits({ kind: 'sgd', lr: 1e-2, weightDecay: 0, momentum: 0, clipNorm: 0 });
  await sameBits({ kind: 'sgd', lr: 1e-2, weightDecay: 0.05, momentum: 0, clipNorm: 0 });
});
