import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { TrainError } from '../../src/core/errors/index.js';
import { GraphBuilder } from '../../src/core/onnx/index.js';
import { exportStudentToOnnx } from '../../src/evaluate/export/index.js';
import { trainingColumns } from '../../src/train/batch.js';
import { openVerifiedCache, withSplit } from '../../src/train/caches.js';
import { CacheLoader } from '../../src/train/loader/index.js';
import { OnnxTrainer, modelWithWeights } from '../../src/train/onnxruntime/index.js';
import { initialWeights, paramDefs, type StudentSpec } from '../../src/train/students/index.js';
import type { TrainerSetup } from '../../src/train/trainer.js';
import { mlpClassifier } from '../fixtures/teachers.js';
import { gaussian, logSumExp, matrix, topIds, type RefTarget } from '../losses/reference.js';
import { mnistWorkspace } from '../train/helpers.js';
import { batchOf, fakeManifest } from './helpers.js';

const SPEC: StudentSpec = { arch: 'mlp', inputs: 20, hidden: [16], activation: 'gelu', dropout: 0, classes: 10 };

function setup(): TrainerSetup {
  return {
    spec: SPEC, input: { column: 'x', valuesPerRow: 20 }, manifest: fakeManifest({ kind: 'topk', vocab: 10, k: 4 }),
    loss: { temperature: 2, alpha: 0.5 }, optimizer: { kind: 'adamw', lr: 1e-2, weightDecay: 0.01, momentum: 0, clipNorm: 1 }, seed: 4, threads: 1,
  };
}

function batch(seed: number): ReturnType<typeof batchOf> {
  const rnd = gaussian(seed);
  const targets: RefTarget[] = matrix(12, 10, rnd, 3).map((row) => {
    const ids = topIds(row, 4);
    return { kind: 'topk', ids, logits: ids.map((i) => Math.fround(row[i]!)), lse: Math.fround(logSumExp(row)), tail: 'ghost' };
  });
  return batchOf(targets, targets.map((_, i) => i % 10), { x: Float32Array.from(matrix(12, 20, rnd).flat()) });
}

test('a kennis student exported to ONNX and trained as a model student takes the same steps as the spec trainer', async () => {
  const s = setup();
  const model = exportStudentToOnnx(SPEC, initialWeights(paramDefs(SPEC), s.seed), { inputName: 'x' });
  const bySpec = await OnnxTrainer.create(s);
  const byModel = await OnnxTrainer.fromModel(s, model, 'exported.onnx');
  assert.equal(byModel.parameterCount(), bySpec.parameterCount());
  for (let i = 0; i < 3; i++) {
    const b = batch(90 + i);
    const a = await bySpec.step([b], 1e-2, i);
    const m = await byModel.step([b], 1e-2, i);
    assert.ok(Math.abs(a.loss - m.loss) <= 1e-6 * Math.max(1, a.loss), `step ${i} loss ${m.loss} vs ${a.loss}`);
  }
  const want = bySpec.getWeights();
  const got = byModel.getWeights();
  for (const [name, w] of Object.entries(want)) {
    const diff = Math.max(...w.data.map((v, i) => Math.abs(v - got[name]!.data[i]!)));
    assert.ok(diff <= 1e-6, `${name} differs by ${diff}`);
  }
  // the trained model student is the same file export writes for those weights
  assert.deepEqual(modelWithWeights(model, got), exportStudentToOnnx(SPEC, got, { inputName: 'x' }));
  bySpec.dispose();
  byModel.dispose();
});

test('a model student refuses an op without a gradient rule, an unknown frozen name and an input that does not fit the cache column, one line each', async () => {
  const g = new GraphBuilder({ name: 'odd', opset: 17 });
  const x = g.input('x', 'float32', ['N', 20]);
  const w = g.initializer('w', new Float32Array(200).fill(0.1), [20, 10]);
  // an op of a custom domain: no gradient rule will ever exist for it
  g.importOpset('com.example', 1);
  g.output('logits', 'float32', ['N', 10], g.op('Wobble', [g.op('MatMul', [x, w])], {}, { name: 'wobble', domain: 'com.example' }));
  await assert.rejects(OnnxTrainer.fromModel(setup(), g.toBytes(), 'odd.onnx'),
    (e: unknown) => e instanceof TrainError && /op 'Wobble'/.test(e.message) && /wobble_node/.test(e.message) && !e.message.includes('\n'));
  const fine = exportStudentToOnnx(SPEC, initialWeights(paramDefs(SPEC), 0), { inputName: 'x' });
  await assert.rejects(OnnxTrainer.fromModel(setup(), fine, 'fine.onnx', { freeze: ['dense_9/kernel'] }),
    (e: unknown) => e instanceof TrainError && /dense_9\/kernel/.test(e.message));
  const wide = exportStudentToOnnx({ ...SPEC, inputs: 30 } as StudentSpec, initialWeights(paramDefs({ ...SPEC, inputs: 30 } as StudentSpec), 0), { inputName: 'x' });
  await assert.rejects(OnnxTrainer.fromModel(setup(), wide, 'wide.onnx'), (e: unknown) => e instanceof TrainError && /20 values per row/.test(e.message));
  // frozen initializers stay as they are
  const frozen = await OnnxTrainer.fromModel(setup(), fine, 'fine.onnx', { freeze: ['dense_0/kernel'] });
  assert.ok(!('dense_0/kernel' in frozen.getWeights()));
  await frozen.step([batch(1)], 1e-2, 0);
  frozen.dispose();
});

test('an MLP built outside kennis\'s student code (a fixture graph) trains on MNIST as a model student', async () => {
  const ws = await mnistWorkspace(['distill.alpha=0']);
  try {
    const loaded = ws.recipe();
    const train = await openVerifiedCache(loaded);
    const held = await openVerifiedCache(withSplit(loaded, 'validation'));
    const input = { column: train.manifest.dataset.inputColumns[0]!, valuesPerRow: 784 };
    const model = mlpClassifier({ seed: 9, hidden: [64], gain: 1 }).bytes;
    const s = { input, manifest: train.manifest, loss: { alpha: 0 }, optimizer: { kind: 'adamw' as const, lr: 3e-3, weightDecay: 0, momentum: 0, clipNorm: 0 }, seed: 0, threads: 1 };
    const trainer = await OnnxTrainer.fromModel(s, model, 'fixture mlp');
    const loader = new CacheLoader(train.dir, train.manifest, { columns: trainingColumns(train.manifest, input), batchSize: 64, shuffleBuffer: 600, seed: 1 });
    let step = 0;
    for (let e = 0; e < 4; e++) for await (const b of loader.epoch(e)) await trainer.step([b], 3e-3, step++);
    const heldLoader = new CacheLoader(held.dir, held.manifest, { columns: trainingColumns(held.manifest, input), batchSize: 256, shuffleBuffer: 1, seed: 0 });
    const m = await trainer.evaluate(heldLoader, held.manifest);
    assert.ok(m.accuracy >= 0.8, `held-out accuracy ${m.accuracy} after ${step} steps on ${train.manifest.dataset.rows} rows`);
    trainer.dispose();
  } finally {
    rmSync(ws.dir, { recursive: true, force: true });
  }
});
