import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainError } from '../../src/core/errors/index.js';
import { GraphBuilder, dense, reduce } from '../../src/core/onnx/index.js';
import { Rng } from '../../src/core/util/rng.js';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { train } from '../../src/train/index.js';
import { FEATURES, workspace } from '../fixtures/cli.js';
import { randomWeight } from '../fixtures/teachers.js';

const ws = workspace('nonfinite', { rows: 120 });

test('a non-finite training loss stops the run with one TrainError line naming the step; the checkpoints before it stay', async () => {
  const rows = readFileSync(join(ws.dir, 'data.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: number[] });
  const sums = rows.map((r) => r.image.reduce((a, b) => a + b, 0)).sort((a, b) => a - b);
  // a student whose logits are NaN for exactly one row: log(sum - c) with c between the two smallest row sums
  const c = (sums[0]! + sums[1]!) / 2;
  const rng = new Rng(8);
  const g = new GraphBuilder({ name: 'nan-for-one-row', opset: 17 });
  const x = g.input('image', 'float32', ['N', FEATURES]);
  const shift = g.op('Log', [g.op('Sub', [reduce(g, 'ReduceSum', x, [1], true), g.scalar(c)])]);
  g.output('logits', 'float32', ['N', 10], g.op('Add', [dense(g, x, randomWeight(rng, [FEATURES, 10], 0.1), randomWeight(rng, [10], 0.1), 'linear', 'fc'), shift]));
  const student = join(ws.dir, 'nan-student.onnx');
  writeFileSync(student, g.toBytes());
  const recipe = ws.recipe('nan.yaml', {
    student: { arch: 'onnx', path: student, hidden: undefined },
    train: { backend: 'onnxruntime', batch_size: 20, max_steps: 12, checkpoint_every: 1, log_every: 1, seed: 5 },
  });
  await precompute(loadRecipe(recipe));
  let failedAt = 0;
  await assert.rejects(train(loadRecipe(recipe)), (e: unknown) => {
    assert.ok(e instanceof TrainError, String(e));
    const m = /^training loss is NaN at step (\d+) \(gradient norm NaN\): the run diverged or a batch holds non-finite values; lower train\.lr or set train\.clip_norm, check the cache with kennis cache verify, and resume from the last checkpoint with --resume --allow-recipe-change$/.exec(e.message);
    assert.ok(m, e.message);
    failedAt = Number(m[1]);
    return true;
  });
  // every earlier step was checkpointed and nothing after it was written
  const ckpt = join(ws.dir, 'run', 'checkpoints');
  const steps = existsSync(ckpt) ? readdirSync(ckpt).filter((n) => n.startsWith('step-')).map((n) => Number(n.slice(5))).sort((a, b) => a - b) : [];
  assert.deepEqual(steps, Array.from({ length: failedAt - 1 }, (_, i) => i + 1));
});
