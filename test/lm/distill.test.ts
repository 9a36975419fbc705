import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateModels } from '../../src/evaluate/eval/index.js';
import { exportRun } from '../../src/evaluate/export/index.js';
import { train, type TrainSummary } from '../../src/train/index.js';
import { ROWS, SEQ_LEN, bitsPerByte64, kl64, lmWorkspace, onnxLogits, studentLogits, windowsOf } from './helpers.js';

const ws = await lmWorkspace();

/** The four students of the LM demo, on tiny sizes: equal steps, same seed, only the targets differ. */
const variants: Record<string, string[]> = {
  baseline: ['distill.alpha=0'],
  ghost: ['targets.kind=topk', 'distill.tail=ghost'],
  renormalize: ['targets.kind=topk', 'distill.tail=renormalize'],
  sampled: ['targets.kind=sampled'],
};
const runs: Record<string, { dir: string; summary: TrainSummary }> = {};
for (const [name, overrides] of Object.entries(variants)) {
  const dir = join(ws.dir, name);
  runs[name] = { dir, summary: await train(ws.recipe([...overrides, `output.dir=${dir}`])) };
}
const validation = await windowsOf('validation');
const teacherValidation = await onnxLogits(ws.teacher, validation);
const studentValidation = Object.fromEntries(Object.entries(runs).map(([name, { dir }]) => [name, studentLogits(dir, validation)]));

test('a gpt student trains from topk (ghost, renormalize) and sampled targets, and its loss goes down', () => {
  for (const [name, { dir, summary }] of Object.entries(runs)) {
    assert.equal(summary.steps, 20, name);
    assert.equal(summary.tokens, 20 * 16 * SEQ_LEN, `${name}: 20 steps of 16 windows`);
    const losses = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>).filter((l) => 'loss' in l).map((l) => l.loss!);
    assert.equal(losses.length, 10, `${name}: a loss line every 2 steps`);
    assert.ok(losses.every(Number.isFinite), `${name}: finite losses ${losses}`);
    const early = (losses[0]! + losses[1]!) / 2, late = (losses.at(-1)! + losses.at(-2)!) / 2;
    assert.ok(late < 0.9 * early, `${name}: loss went from ${early} to ${late}`);
    assert.equal(summary.finalEval?.positions, ROWS * SEQ_LEN, `${name}: evaluated on every validation position`);
  }
});

test("the trainer's held-out bits per byte equal a float64 computation from the saved weights", () => {
  for (const [name, { summary }] of Object.entries(runs)) {
    const expected = bitsPerByte64(studentValidation[name]!, validation.labels);
    const actual = summary.finalEval!.bits_per_byte!;
    assert.ok(Math.abs(actual - expected) < 1e-4, `${name}: trainer ${actual} vs float64 ${expected}`);
  }
});

test('with alpha = 1 every target kind brings the student closer to the teacher than the alpha = 0 baseline', (t) => {
  const kl = Object.fromEntries(Object.keys(runs).map((name) => [name, kl64(teacherValidation, studentValidation[name]!)]));
  t.diagnostic(`KL(teacher || student), nats per byte: ${Object.entries(kl).map(([n, v]) => `${n} ${v.toFixed(3)}`).join(', ')}`);
  for (const name of ['ghost', 'renormalize', 'sampled']) {
    assert.ok(kl[name]! < kl.baseline!, `KL(teacher || ${name}) = ${kl[name]} should be below the baseline's ${kl.baseline}`);
  }
  // ghost sees the exact full-vocabulary teacher at T=1, so it should track the teacher best
  assert.ok(kl.ghost! < kl.renormalize!, `ghost ${kl.ghost} vs renormalize ${kl.renormalize}`);
});

test('exported students: eval bits per byte, agreement and KL match onnxruntime + float64 on the test split', async () => {
  const testSplit = await windowsOf('test');
  const teacherTest = await onnxLogits(ws.teacher, testSplit);
  const names = ['baseline', 'ghost', 'sampled'];
  const files = [];
  for (const name of names) files.push((await exportRun(runs[name]!.dir)).file);
  const report = await evaluateModels([ws.teacher, ...files], { dataset: { name: 'moby-dick', split: 'test', seqLen: SEQ_LEN, limit: ROWS }, repeats: 1 });
  assert.equal(report.positions, ROWS * SEQ_LEN);
  assert.ok(Math.abs(report.models[0]!.bitsPerByte! - bitsPerByte64(teacherTest, testSplit.labels)) < 1e-4, 'teacher bits per byte');
  names.forEach((name, i) => {
    const m = report.models[i + 1]!;
    const logits = studentLogits(runs[name]!.dir, testSplit);
    const bpb = bitsPerByte64(logits, testSplit.labels);
    assert.ok(Math.abs(m.bitsPerByte! - bpb) < 1e-4, `${name}: eval ${m.bitsPerByte} vs float64 ${bpb}`);
    assert.ok(Math.abs(m.klToReference - kl64(teacherTest, logits)) < 1e-4, `${name}: eval KL ${m.klToReference}`);
    let agree = 0;
    for (let p = 0; p < testSplit.labels.length; p++) agree += Number(argmax(teacherTest, p) === argmax(logits, p));
    assert.ok(Math.abs(m.agreement - agree / testSplit.labels.length) < 2 / testSplit.labels.length, `${name}: agreement ${m.agreement} vs ${agree / testSplit.labels.length}`);
  });
});

function argmax(logits: Float32Array, row: number, V = 256): number {
  let best = 0;
  for (let v = 1; v < V; v++) if (logits[row * V + v]! > logits[row * V + best]!) best = v;
  return best;
}
