import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheError } from '../../src/core/errors/index.js';
import { applyOverrides, validateRecipe } from '../../src/recipe/index.js';
import { train } from '../../src/train/index.js';
import { mnistWorkspace } from './helpers.js';

test('a cache is enough to train from: the teacher deleted and the cache root moved to another machine', async () => {
  const ws = await mnistWorkspace();
  const base = ws.recipe().recipe;
  // a colleague receives only the cache root (with its address book) and the recipe
  const other = mkdtempSync(join(tmpdir(), 'kennis-received-'));
  cpSync(join(ws.dir, 'cache'), join(other, 'cache'), { recursive: true });
  rmSync(join(ws.dir, 'teacher.onnx'));
  const received = { ...base, cache: { ...base.cache, root: join(other, 'cache') }, output: { dir: join(other, 'run') } };
  const s = await train({ recipe: validateRecipe(applyOverrides(received, ['train.max_steps=5'])), baseDir: other });
  assert.equal(s.steps, 5);
  assert.ok(s.finalEval && s.finalEval.positions === 1000, 'the validation cache was found too');
  // a recipe asking for something precompute never made names the command that makes it
  await assert.rejects(train({ recipe: validateRecipe(applyOverrides(received, ['targets.k=3', `output.dir=${join(other, 'run2')}`])), baseDir: other }),
    (e: unknown) => e instanceof CacheError && /no cache of split 'train' for this recipe under .*; run 'kennis precompute <recipe>' first/.test(e.message));
});
