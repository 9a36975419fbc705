import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainError } from '../../src/core/errors/index.js';
import { loadStudent, train } from '../../src/train/index.js';
import { readRun } from '../../src/experiment/index.js';
import { renderReportHtml } from '../../src/evaluate/report/index.js';
import { mnistWorkspace } from './helpers.js';

// a 60-row train split, a wide student and a high learning rate: held-out loss falls, then rises as it overfits
const ws = await mnistWorkspace(['dataset.limit=60', 'student.hidden=[128]', 'student.dropout=0', 'distill.alpha=0',
  'train.batch_size=20', 'train.max_steps=60', 'train.lr=0.01', 'train.schedule=constant', 'train.eval_every=5', 'train.checkpoint_every=5']);

interface EvalLine { step: number; 'eval/loss': number }
const evalLines = (run: string): EvalLine[] => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l) as EvalLine).filter((l) => 'eval/loss' in l);
const weightsBytes = (dir: string): Buffer => readFileSync(join(dir, 'weights.bin'));

const full = join(ws.dir, 'run-full');
const fullSummary = await train(ws.recipe([`output.dir=${full}`, 'train.select_best=loss']));
const curve = evalLines(full);

test('select_best keeps the weights of the evaluation with the lowest held-out loss', () => {
  const bestLine = curve.reduce((a, b) => (b['eval/loss'] < a['eval/loss'] ? b : a));
  assert.ok(bestLine.step < 60, `the held-out loss peaks before the last step (best at ${bestLine.step}), so the test means something`);
  assert.deepEqual(fullSummary.best, { metric: 'loss', value: bestLine['eval/loss'], step: bestLine.step });
  const best = JSON.parse(readFileSync(join(full, 'best', 'best.json'), 'utf8')) as { step: number };
  assert.equal(best.step, bestLine.step);
  // the kept weights are the weights of that step's checkpoint, not the last step's
  const ckpt = join(full, 'checkpoints', `step-${String(bestLine.step).padStart(7, '0')}`);
  assert.ok(existsSync(ckpt));
  const saved = loadStudent(join(full, 'best'));
  const last = loadStudent(join(full, 'student'));
  assert.notDeepEqual(saved.weights['dense_0/kernel']!.data, last.weights['dense_0/kernel']!.data);
  assert.ok(!weightsBytes(join(full, 'best')).equals(weightsBytes(join(full, 'student'))));
});

test('early_stop ends the run after `patience` evaluations without improvement', async () => {
  const patience = 2;
  // the stop step, found independently from the uninterrupted run's curve (same seed, same trajectory)
  let bestValue = Infinity, bad = 0, expected: number | undefined;
  for (const l of curve) {
    if (l['eval/loss'] < bestValue) { bestValue = l['eval/loss']; bad = 0; } else if (++bad >= patience) { expected = l.step; break; }
  }
  assert.ok(expected !== undefined && expected < 60, 'the curve has a plateau long enough to stop on');
  const run = join(ws.dir, 'run-stop');
  const s = await train(ws.recipe([`output.dir=${run}`, `train.early_stop={metric: loss, patience: ${patience}}`]));
  assert.equal(s.steps, expected);
  assert.equal(s.stopped?.step, expected);
  assert.match(s.stopped!.reason, /loss has not improved by more than 0 for 2 evaluations/);
  assert.deepEqual(evalLines(run).map((l) => l['eval/loss']), curve.filter((l) => l.step <= expected!).map((l) => l['eval/loss']));
});

test('--resume keeps the best-so-far state', async () => {
  const run = join(ws.dir, 'run-resume');
  // a crash after the best evaluation, so the best state must come back from a checkpoint
  const stopAt = Math.min(55, fullSummary.best!.step + 10);
  await assert.rejects(train(ws.recipe([`output.dir=${run}`, 'train.select_best=loss']), {
    onStep: (step) => { if (step === stopAt) throw new Error('simulated crash'); },
  }), /simulated crash/);
  const s = await train(ws.recipe([`output.dir=${run}`, 'train.select_best=loss']), { resume: true });
  assert.deepEqual(s.best, fullSummary.best);
  assert.ok(weightsBytes(join(run, 'best')).equals(weightsBytes(join(full, 'best'))));
});

test('a metric the cache does not have is refused in one line', async () => {
  await assert.rejects(train(ws.recipe([`output.dir=${join(ws.dir, 'run-bpb')}`, 'train.select_best=bits_per_byte'])),
    (e: unknown) => e instanceof TrainError && /held-out metric 'bits_per_byte' is not computed for this cache/.test(e.message));
});

test('the report marks the selected step on the evaluation curves', () => {
  const run = readRun('distilled', full);
  assert.equal(run.selectedStep, fullSummary.best!.step);
  const html = renderReportHtml({ title: 't', headline: { metric: 'errors', label: 'test errors', lowerIsBetter: true }, runs: [run], models: [] });
  assert.ok(html.includes(`distilled: selected step ${fullSummary.best!.step}`));
});
