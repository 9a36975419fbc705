import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/core/onnx/index.js';
import { RecipeError, TrainError } from '../../src/core/errors/index.js';
import { Rng } from '../../src/core/util/rng.js';
import { exportRun } from '../../src/evaluate/export/index.js';
import { precompute } from '../../src/precompute/index.js';
import { applyOverrides, validateRecipe, type LoadedRecipe } from '../../src/recipe/index.js';
import { train } from '../../src/train/index.js';
import { ROOT } from '../fixtures/cli.js';
import { mnistTestErrors } from '../fixtures/mnist-errors.js';

/** An untrained 784-512-10 MLP written with the plain graph builder (Gemm, Relu), optionally with one more op. */
function userModel(seed: number, extraOp?: string): Uint8Array {
  const rng = new Rng(seed);
  const he = (fanIn: number, n: number) => Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * Math.sqrt(6 / fanIn));
  const g = new GraphBuilder({ name: 'user_mlp', opset: 17 });
  const x = g.input('pixels', 'float32', ['N', 784]);
  const w1 = g.initializer('fc1.weight', he(784, 784 * 512), [784, 512]);
  const b1 = g.initializer('fc1.bias', new Float32Array(512), [512]);
  const w2 = g.initializer('fc2.weight', he(512, 512 * 10), [512, 10]);
  const b2 = g.initializer('fc2.bias', new Float32Array(10), [10]);
  let h = g.op('Relu', [g.op('Gemm', [x, w1, b1])]);
  if (extraOp) h = g.op(extraOp, [h], {}, { name: 'the_odd_one' });
  g.output('logits', 'float32', ['N', 10], g.op('Gemm', [h, w2, b2]));
  return g.toBytes();
}

const dir = mkdtempSync(join(tmpdir(), 'kennis-model-student-'));
// an untrained 784-256-10 MLP exported by torch.onnx.export (scripts/fixtures/export-torch-mlp.py)
copyFileSync(join(ROOT, 'test/fixtures/torch/mlp-784-256-10.onnx'), join(dir, 'student.onnx'));
const base = {
  teacher: { path: join(ROOT, 'data/teachers/mnist-mlp-1200.onnx'), inputs: { image: { column: 'image' } }, batch_size: 1000 },
  dataset: { name: 'mnist', split: 'train' },
  targets: { kind: 'full' },
  cache: { root: join(dir, 'cache'), shard_rows: 2000 },
  student: { arch: 'onnx', path: join(dir, 'student.onnx') },
  distill: { alpha: 0.9, temperature: 8 },
  train: { batch_size: 128, epochs: 10, lr: 0.004, schedule: 'cosine', warmup_steps: 20, log_every: 100, seed: 1 },
  output: { dir: join(dir, 'run') },
};
const recipe = (more: string[] = []): LoadedRecipe => ({ recipe: validateRecipe(applyOverrides(base, more)), baseDir: dir });
await precompute(recipe());
await precompute(recipe(['dataset.split=validation']));

test('student.arch onnx: an untrained MLP exported by PyTorch trains on MNIST to >= 95% held-out accuracy and exports as itself', async () => {
  const s = await train(recipe());
  assert.equal(s.backend, 'onnxruntime');
  assert.ok(s.finalEval!.accuracy >= 0.95, `validation accuracy ${s.finalEval!.accuracy}`);
  const exported = await exportRun(join(dir, 'run'));
  // the exported file is the user's graph with trained initializers: its test errors by a direct session.run
  const errors = await mnistTestErrors(exported.file, 'pixels');
  assert.ok(errors <= 50, `${errors} test errors of 1000`);
  assert.equal(exported.parameters, 784 * 256 + 256 + 256 * 10 + 10);
  assert.notDeepEqual(readFileSync(exported.file), readFileSync(join(dir, 'student.onnx')), 'the weights changed');
});

test('student.arch onnx: an op without a gradient rule, a missing path and a tfjs backend are one line each', async () => {
  writeFileSync(join(dir, 'odd.onnx'), userModel(2, 'Atan'));
  await assert.rejects(train(recipe([`student.path=${join(dir, 'odd.onnx')}`, `output.dir=${join(dir, 'run-odd')}`])),
    (e: unknown) => e instanceof TrainError && /op 'Atan' \(node 'the_odd_one\w*'\)/.test(e.message) && !e.message.includes('\n'));
  await assert.rejects(train(recipe(['student.path=nothing-here.onnx', `output.dir=${join(dir, 'run-none')}`])),
    (e: unknown) => e instanceof RecipeError && /student\.path 'nothing-here\.onnx'/.test(e.message));
  await assert.rejects(train(recipe(['train.backend=wasm', `output.dir=${join(dir, 'run-wasm')}`])),
    (e: unknown) => e instanceof RecipeError && /trains on the onnxruntime backend, not wasm/.test(e.message));
});
