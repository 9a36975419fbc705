import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecipeError } from '../../src/core/errors/index.js';
import { applyOverrides, loadRecipe, validateRecipe } from '../../src/recipe/index.js';

const base = { teacher: { path: 't.onnx' }, dataset: { name: 'mnist' } };

function recipeFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-recipe-'));
  const file = join(dir, 'r.yaml');
  writeFileSync(file, text);
  return file;
}

test('defaults fill every section', () => {
  const r = validateRecipe(base);
  assert.equal(r.targets.kind, 'topk');
  assert.equal(r.targets.k, 8);
  assert.equal(r.cache.format, 'parquet');
  assert.equal(r.distill.alpha, 0.5);
  assert.equal(r.train.optimizer, 'adamw');
  assert.equal(r.teacher.output_kind, 'logits');
});

test('overrides are parsed as YAML, torchtune style', () => {
  const raw = applyOverrides(base, ['teacher.inputs.image.shape=[1,28,28]', 'teacher.inputs.image.column=pixels', 'targets.k=16', 'targets.kind=full', 'distill.temperature=2.5']);
  const r = validateRecipe(raw);
  assert.deepEqual(r.teacher.inputs?.image?.shape, [1, 28, 28]);
  assert.equal(r.teacher.inputs?.image?.column, 'pixels');
  assert.equal(r.targets.k, 16);
  assert.equal(r.targets.kind, 'full');
  assert.equal(r.distill.temperature, 2.5);
  // the source object is untouched
  assert.equal((base as Record<string, unknown>).targets, undefined);
});

test('an unknown override key names it and lists the valid keys at that level', () => {
  assert.throws(() => applyOverrides(base, ['targets.topk=3']), (e: Error) => {
    assert.ok(e instanceof RecipeError);
    assert.match(e.message, /unknown recipe key 'targets\.topk'/);
    assert.match(e.message, /valid keys under 'targets': kind, k, dtype, samples/);
    return true;
  });
  assert.throws(() => applyOverrides(base, ['tracher.path=x']), /unknown recipe key 'tracher'; valid keys at the top level: teacher, dataset, targets/);
});

test('an unknown key in the file is reported the same way', () => {
  const file = recipeFile('teacher: { path: t.onnx }\ndataset: { name: mnist, splt: test }\n');
  assert.throws(() => loadRecipe(file), /unknown recipe key 'dataset\.splt'; valid keys under 'dataset': name, split/);
});

test('wrong types and missing keys give one line naming the key', () => {
  assert.throws(() => validateRecipe({ ...base, targets: { k: 'many' } }), (e: Error) => {
    assert.match(e.message, /recipe key 'targets\.k': expected number, received string, got "many"/);
    assert.equal(e.message.includes('\n'), false);
    return true;
  });
  assert.throws(() => validateRecipe({ dataset: { name: 'mnist' } }), /recipe key 'teacher' is missing/);
  assert.throws(() => validateRecipe({ ...base, targets: { kind: 'best' } }), /recipe key 'targets\.kind'/);
});

test('malformed overrides are rejected with the fix', () => {
  assert.throws(() => applyOverrides(base, ['targets.k']), /is not key\.path=value/);
  assert.throws(() => applyOverrides(base, ['targets..k=3']), /empty key segment/);
  assert.throws(() => applyOverrides(base, ['targets.k=[1,']), /not valid YAML/);
  assert.throws(() => applyOverrides({ ...base, targets: { k: 3 } }, ['targets.k.x=1']), /unknown recipe key 'targets\.k\.x'/);
});

test('recipe files: missing, not YAML, not a mapping', () => {
  assert.throws(() => loadRecipe('/nonexistent/recipe.yaml'), /recipe '\/nonexistent\/recipe\.yaml' cannot be read \(ENOENT\)/);
  assert.throws(() => loadRecipe(recipeFile('teacher: [\n')), /is not valid YAML/);
  assert.throws(() => loadRecipe(recipeFile('- a\n- b\n')), /must be a YAML mapping/);
});

test('the shipped recipes validate', () => {
  for (const name of ['mnist.yaml']) {
    const { recipe } = loadRecipe(join(import.meta.dirname, '../../recipes', name));
    assert.ok(recipe.teacher.path.endsWith('.onnx'));
  }
});
