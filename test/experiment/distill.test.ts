import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Experiment from '../../src/experiment/index.js';
import { compiledModule } from '../fixtures/compiled.js';
import { mnistTestErrors } from '../fixtures/mnist-errors.js';
import { mlpClassifier } from '../fixtures/teachers.js';

// from the compiled sources, so the stage children it forks load no tsx (test/fixtures/compiled.ts)
const { distillAndCompare } = await import(compiledModule('experiment/index.js')) as typeof Experiment;

test('kennis distill runs every stage and its numbers agree with a direct onnxruntime run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-distill-'));
  const teacher = join(dir, 'teacher.onnx');
  writeFileSync(teacher, mlpClassifier({ seed: 4, hidden: [32] }).bytes);
  const recipe = join(dir, 'recipe.yaml');
  writeFileSync(recipe, [
    `teacher: { path: ${teacher} }`,
    'dataset: { name: mnist, split: train, limit: 800 }',
    'targets: { kind: full }',
    `cache: { root: ${join(dir, 'cache')}, shard_rows: 400 }`,
    'student: { arch: mlp, hidden: [16] }',
    'distill: { alpha: 0.9, temperature: 2 }',
    'train: { batch_size: 100, max_steps: 12, log_every: 4, backend: wasm }',
    `output: { dir: ${join(dir, 'run')} }`,
  ].join('\n'));
  const s = await distillAndCompare(recipe, []);
  assert.deepEqual(s.eval.map((r) => r.name), ['teacher', 'baseline', 'distilled', 'distilled int8']);
  assert.equal(s.baseline.steps, 12);
  assert.equal(s.distilled.steps, 12);
  assert.ok(existsSync(join(dir, 'run', 'baseline', 'student.onnx')) && existsSync(join(dir, 'run', 'distilled', 'student.onnx')));
  const html = readFileSync(s.report, 'utf8');
  assert.match(html, /distillation closed -?\d+% of the gap/);
  // the teacher's test errors, recomputed with a direct session.run over the test split
  const errors = await mnistTestErrors(teacher);
  assert.equal(s.eval[0]!.errors, errors);
  const [t, b, d, q] = s.eval.map((r) => r.errors!) as [number, number, number, number];
  assert.equal(q, await mnistTestErrors(join(dir, 'run', 'distilled', 'student-int8.onnx')), 'the int8 row is the int8 file, scored directly');
  assert.ok(s.eval[3]!.fileBytes * 3 < s.eval[2]!.fileBytes, 'int8 weights make the file over 3x smaller');
  assert.ok(Math.abs(s.gapClosed - (b - d) / (b - t)) < 1e-12);
});
