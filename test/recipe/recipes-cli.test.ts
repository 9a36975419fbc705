import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadRecipe, recipeToYaml } from '../../src/recipe/index.js';
import { jsonOf, kennis, ROOT } from '../fixtures/cli.js';

/** The recipes/ files by file name order, without .yaml. */
const builtins = (): string[] => readdirSync(join(ROOT, 'recipes')).filter((f) => f.endsWith('.yaml')).sort().map((f) => f.slice(0, -5));

test('kennis recipes lists every built-in recipe with its first comment line', async () => {
  const r = await kennis(['recipes', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { recipes } = jsonOf<{ recipes: { name: string; description: string }[] }>(r);
  assert.deepEqual(recipes.map((x) => x.name), builtins());
  for (const x of recipes) {
    const first = readFileSync(join(ROOT, 'recipes', `${x.name}.yaml`), 'utf8').split('\n')[0]!;
    assert.equal(x.description, first.replace(/^#\s*/, ''));
  }
});

test('kennis recipes cp copies a recipe that runs from another directory (teacher path made absolute)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-recipes-'));
  // the teacher path points into the package bin/kennis.js belongs to (the compiled tree has its own root)
  const r = await kennis(['recipes', 'cp', 'mnist', 'mine.yaml'], { cwd: dir, bin: true });
  assert.equal(r.code, 0, r.stderr);
  const copy = readFileSync(join(dir, 'mine.yaml'), 'utf8');
  assert.match(copy, /^# The built-in default/, 'comments are kept');
  const teacher = (parse(copy) as { teacher: { path: string } }).teacher.path;
  assert.equal(teacher, join(ROOT, 'data/teachers/mnist-mlp-1200.onnx'));
  const again = await kennis(['recipes', 'cp', 'mnist', 'mine.yaml'], { cwd: dir });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^error: .*mine\.yaml exists; choose another file name or delete it first\n$/);
  assert.equal(readFileSync(join(dir, 'mine.yaml'), 'utf8'), copy, 'the existing file is untouched');
  const unknown = await kennis(['recipes', 'cp', 'mnst', 'x.yaml'], { cwd: dir });
  assert.ok(unknown.stderr.startsWith(`error: no built-in recipe 'mnst'; the built-ins are ${builtins().join(', ')}`), unknown.stderr);
});

test('kennis recipes validate and print: the resolved recipe with defaults, overrides applied', async () => {
  const ok = await kennis(['recipes', 'validate', 'recipes/mnist.yaml', 'distill.alpha=0.5']);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await kennis(['recipes', 'validate', 'recipes/mnist.yaml', 'distill.alfa=0.5']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: unknown recipe key 'distill\.alfa'; valid keys under 'distill': alpha/);
  const printed = await kennis(['recipes', 'print', 'recipes/mnist.yaml', 'distill.alpha=0.5']);
  assert.equal(printed.code, 0, printed.stderr);
  const expected = loadRecipe(join(ROOT, 'recipes/mnist.yaml'), ['distill.alpha=0.5']).recipe;
  assert.equal(printed.stdout.trimEnd(), recipeToYaml(expected).trimEnd());
  assert.equal((parse(printed.stdout) as { train: { clip_norm: number } }).train.clip_norm, expected.train.clip_norm, 'defaults are filled in');
});
