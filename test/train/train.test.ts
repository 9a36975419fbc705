import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CacheError, TrainError } from '../../src/core/errors/index.js';
import { loadStudent, train } from '../../src/train/index.js';
import { mnistWorkspace } from './helpers.js';

const ws = await mnistWorkspace();

function weightsOf(runDir: string): Float32Array {
  const bytes = readFileSync(join(runDir, 'student', 'weights.bin'));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

test('a distillation run writes metrics, TensorBoard events, checkpoints and the student', async () => {
  const run = join(ws.dir, 'run-basic');
  const s = await train(ws.recipe([`output.dir=${run}`, 'train.eval_every=20']));
  assert.equal(s.steps, 40);
  assert.equal(s.backend, 'wasm');
  // 1200 rows a epoch: 18 batches of 64 and one of 48; 40 steps = two epochs and two batches
  assert.equal(s.samples, 2 * 1200 + 2 * 64);
  assert.ok(s.finalEval && s.finalEval.positions === 1000, 'evaluated on the 1000 validation rows');
  const lines = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  const trainLines = lines.filter((l) => 'loss' in l);
  assert.deepEqual(trainLines.map((l) => l.step), [5, 10, 15, 20, 25, 30, 35, 40]);
  for (const l of trainLines) {
    // the objective is the alpha mix of its logged parts
    assert.ok(Math.abs(l.loss! - (0.5 * l.ce_loss! + 0.5 * l.kd_loss!)) < 1e-4, `loss ${l.loss} vs parts ${l.ce_loss}, ${l.kd_loss}`);
  }
  assert.ok(trainLines.at(-1)!.loss! < trainLines[0]!.loss!, 'loss went down');
  assert.equal(lines.filter((l) => 'eval/accuracy' in l).length, 2, 'eval at step 20 and at the end');
  assert.ok(readdirSync(join(run, 'tensorboard')).some((f) => f.startsWith('events.out.tfevents.')));
  assert.ok(existsSync(join(run, 'checkpoints', 'latest')));
  const saved = loadStudent(join(run, 'student'));
  assert.equal(saved.spec.arch, 'mlp');
  assert.deepEqual(saved.weights['dense_0/kernel']!.shape, [784, 32]);
});

test('--resume after a crash gives the weights of an uninterrupted run', async () => {
  const whole = join(ws.dir, 'run-whole');
  const broken = join(ws.dir, 'run-broken');
  await train(ws.recipe([`output.dir=${whole}`, 'train.checkpoint_every=10']));
  await assert.rejects(train(ws.recipe([`output.dir=${broken}`, 'train.checkpoint_every=10']), {
    onStep: (step) => { if (step === 27) throw new Error('simulated crash'); },
  }), /simulated crash/);
  const resumed = await train(ws.recipe([`output.dir=${broken}`, 'train.checkpoint_every=10']), { resume: true });
  assert.equal(resumed.resumedFrom, 20);
  assert.equal(resumed.steps, 40);
  assert.deepEqual(weightsOf(broken), weightsOf(whole));
  // metrics past the checkpoint were dropped, so the file reads as one run
  const steps = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps(broken), steps(whole));
});

test('gradient accumulation equals one large batch', async () => {
  const one = join(ws.dir, 'run-b64');
  const two = join(ws.dir, 'run-b32x2');
  await train(ws.recipe([`output.dir=${one}`, 'student.dropout=0', 'train.max_steps=10']));
  await train(ws.recipe([`output.dir=${two}`, 'student.dropout=0', 'train.max_steps=10', 'train.batch_size=32', 'train.grad_accum=2']));
  const a = weightsOf(one), b = weightsOf(two);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  assert.ok(worst < 1e-5, `expected equal weights within 1e-5, got max diff ${worst}`);
});

test('alpha 0 ignores the teacher: the baseline depends on labels only', async () => {
  const a = join(ws.dir, 'run-alpha0-topk');
  const b = join(ws.dir, 'run-alpha0-full');
  const other = await mnistWorkspace(['targets.kind=full']);
  await train(ws.recipe([`output.dir=${a}`, 'distill.alpha=0', 'train.max_steps=8']));
  await train(other.recipe([`output.dir=${b}`, 'distill.alpha=0', 'train.max_steps=8']));
  assert.deepEqual(weightsOf(a), weightsOf(b));
});

test('a cache that fails verification is refused, naming the shard', async () => {
  const bad = await mnistWorkspace(['dataset.limit=1000']);
  const cacheDir = join(bad.dir, 'cache', readdirSync(join(bad.dir, 'cache')).find((d) => readdirSync(join(bad.dir, 'cache', d)).includes('part-00001.parquet'))!);
  const shard = join(cacheDir, 'part-00001.parquet');
  const bytes = readFileSync(shard);
  bytes[100]! ^= 0xff;
  writeFileSync(shard, bytes);
  await assert.rejects(train(bad.recipe(['dataset.limit=1000'])), (e: Error) => e instanceof CacheError && /part-00001\.parquet/.test(e.message));
});

test('a student that does not fit the cache is refused', async () => {
  await assert.rejects(train(ws.recipe(['student.arch=gpt'])), (e: Error) => e instanceof CacheError && /gpt student needs per-token targets/.test(e.message));
  await assert.rejects(train(ws.recipe(['train.eval_split=validation', 'dataset.split=validation'])), TrainError);
});

test('an earlier run is never overwritten by accident', async () => {
  const run = join(ws.dir, 'run-keep');
  await train(ws.recipe([`output.dir=${run}`, 'train.max_steps=5']));
  const before = readFileSync(join(run, 'metrics.jsonl'));
  await assert.rejects(train(ws.recipe([`output.dir=${run}`, 'train.max_steps=5'])), /already holds a run; pass --resume to continue it, --overwrite to replace it/);
  assert.deepEqual(readFileSync(join(run, 'metrics.jsonl')), before);
  const again = await train(ws.recipe([`output.dir=${run}`, 'train.max_steps=10']), { overwrite: true });
  assert.equal(again.steps, 10);
  const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
  assert.equal(steps.filter((s) => s === 5).length, 1, 'the old run was replaced, not appended to');
});
