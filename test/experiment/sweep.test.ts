import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Errors from '../../src/core/errors/index.js';
import { gridCells, parseGrid } from '../../src/experiment/index.js';
import type * as Experiment from '../../src/experiment/index.js';
import { compiledModule } from '../fixtures/compiled.js';
import { mnistTestErrors } from '../fixtures/mnist-errors.js';
import { mlpClassifier } from '../fixtures/teachers.js';

// from the compiled sources, so the stage children sweep forks load no tsx (test/fixtures/compiled.ts)
const { sweep } = await import(compiledModule('experiment/index.js')) as typeof Experiment;
const { RecipeError } = await import(compiledModule('core/errors/index.js')) as typeof Errors;

test('a grid argument is split at top-level commas; fixed overrides and seeds make the cells', () => {
  const { axes, fixed } = parseGrid(['distill.temperature=1,4', 'student.hidden=[16,16],[8]', 'train.lr=0.01']);
  assert.deepEqual(axes, [{ key: 'distill.temperature', values: ['1', '4'] }, { key: 'student.hidden', values: ['[16,16]', '[8]'] }]);
  assert.deepEqual(fixed, ['train.lr=0.01']);
  const cells = gridCells(axes, [1, 2]);
  assert.equal(cells.length, 2 * 2 * 2);
  assert.deepEqual(cells[0]!.overrides, ['distill.temperature=1', 'student.hidden=[16,16]', 'student.seed=1', 'train.seed=1']);
  assert.equal(new Set(cells.map((c) => c.name)).size, cells.length, 'cell names are distinct directory names');
  assert.throws(() => parseGrid(['distill.alpha=0.5,']), /has an empty value/);
  assert.throws(() => parseGrid(['distill.alpha']), /is not key\.path=v1,v2/);
});

test('kennis sweep trains the grid from one cache, scores every student, and a rerun reuses finished cells', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-sweep-'));
  const teacher = join(dir, 'teacher.onnx');
  writeFileSync(teacher, mlpClassifier({ seed: 4, hidden: [32] }).bytes);
  const recipe = join(dir, 'recipe.yaml');
  writeFileSync(recipe, [
    `teacher: { path: ${teacher} }`,
    'dataset: { name: mnist, split: train, limit: 600 }',
    'targets: { kind: full }',
    `cache: { root: ${join(dir, 'cache')}, shard_rows: 300 }`,
    'student: { arch: mlp, hidden: [16] }',
    'distill: { alpha: 0.9, temperature: 2 }',
    'train: { batch_size: 100, max_steps: 6, log_every: 3, backend: wasm }',
    `output: { dir: ${join(dir, 'sweep')} }`,
  ].join('\n'));
  await assert.rejects(sweep(recipe, ['distill.tempreature=1,4']), (e: unknown) => e instanceof RecipeError && /unknown recipe key 'distill.tempreature'/.test(e.message));
  await assert.rejects(sweep(recipe, ['distill.temperature=1,-4']), (e: unknown) => e instanceof RecipeError, 'a bad value in any cell is refused before anything runs');

  const s = await sweep(recipe, ['distill.temperature=1,4'], { parallel: 2 });
  assert.deepEqual(s.cells.map((c) => c.name), ['temperature=1', 'temperature=4']);
  // the teacher ran once per split: one cache each, however many students
  assert.equal(readdirSync(join(dir, 'cache')).filter((d) => /^[0-9a-f]{64}$/.test(d)).length, 2);
  for (const c of s.cells) {
    assert.equal(c.train.steps, 6);
    assert.equal(c.test.errors, await mnistTestErrors(join(c.dir, 'student.onnx')), `${c.name}: test errors equal a direct session.run`);
  }
  assert.equal(s.teacher.errors, await mnistTestErrors(teacher));
  const table = readFileSync(s.table, 'utf8');
  for (const c of s.cells) assert.match(table, new RegExp(`\\| ${c.name} \\| ${c.values['distill.temperature']} \\| ${c.test.errors} \\|`));
  assert.equal((JSON.parse(readFileSync(s.results, 'utf8')) as { cells: unknown[] }).cells.length, 2);
  assert.match(readFileSync(s.report, 'utf8'), /temperature=4/);

  const before = s.cells.map((c) => statSync(join(c.dir, 'student.onnx')).mtimeMs);
  const again = await sweep(recipe, ['distill.temperature=1,4'], { parallel: 2 });
  assert.deepEqual(again.cells.map((c) => c.reused), [true, true]);
  assert.deepEqual(again.cells.map((c) => statSync(join(c.dir, 'student.onnx')).mtimeMs), before, 'finished students are not retrained');
  assert.deepEqual(again.cells.map((c) => c.test.errors), s.cells.map((c) => c.test.errors));
  await assert.rejects(sweep(recipe, ['distill.temperature=1,4', 'train.lr=0.5']),
    (e: unknown) => e instanceof RecipeError && /holds a run with other settings .*pass --overwrite/.test(e.message));
});
