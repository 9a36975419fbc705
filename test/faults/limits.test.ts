import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { KennisError, RecipeError } from '../../src/core/errors/index.js';
import { readRegularFileSync } from '../../src/core/util/fs.js';
import { parseWorkerSpec } from '../../src/precompute/distributed/env.js';
import { precompute } from '../../src/precompute/index.js';
import { LIMITS, loadRecipe } from '../../src/recipe/index.js';
import { train } from '../../src/train/index.js';
import { kennis, treeHashes, workspace } from '../fixtures/cli.js';

const ws = workspace('limits', { rows: 200, shardRows: 100 });
const good = ws.recipe('good.yaml');
await precompute(loadRecipe(good), { onWarning: () => undefined });
const before = treeHashes(ws.dir);

// every bound: the value just past it is refused before anything starts, the bound itself is accepted
const bounds: [string, number][] = [
  ['teacher.threads', LIMITS.threads], ['train.threads', LIMITS.threads], ['teacher.batch_size', LIMITS.batchRows], ['train.batch_size', LIMITS.batchRows],
  ['cache.shard_rows', LIMITS.shardRows], ['cache.concurrency', LIMITS.concurrency], ['train.grad_accum', LIMITS.gradAccum], ['train.shuffle_buffer', LIMITS.shuffleRows],
  ['targets.k', LIMITS.k], ['targets.samples', LIMITS.samples], ['dataset.seq_len', LIMITS.seqLen], ['student.d_model', LIMITS.layerWidth],
  ['student.layers', LIMITS.layers], ['student.heads', LIMITS.heads],
];

test('resource settings past their bound are one RecipeError naming the key, the bound and the value', () => {
  for (const [key, max] of bounds) {
    assert.doesNotThrow(() => loadRecipe(good, [`${key}=${max}`]), key);
    assert.throws(() => loadRecipe(good, [`${key}=${max * 100 + 1}`]), (e: Error) =>
      e instanceof RecipeError && e.message === `recipe key '${key}': Too big: expected number to be <=${max}, got ${max * 100 + 1}`, key);
  }
  assert.throws(() => loadRecipe(good, [`student.hidden=[${LIMITS.layerWidth + 1}]`]), { message: "recipe key 'student.hidden.0': Too big: expected number to be <=65536, got 65537" });
});

test('--worker counts past 4096 are refused instead of spinning through every worker', () => {
  assert.throws(() => parseWorkerSpec('1/99999999'), { message: "--worker is '1/99999999', expected 1..4096 workers" });
  assert.equal(parseWorkerSpec('4095/4096').count, 4096);
});

test('a student too large to allocate is refused before any weight is made', async () => {
  await assert.rejects(train(loadRecipe(good, ['student.hidden=[60000,60000,60000]', `output.dir=${join(ws.dir, 'huge')}`])),
    (e: Error) => e instanceof RecipeError && /^the student section describes 7,204,620,010 parameters, more than the 250,000,000 kennis trains/.test(e.message));
});

test('a FIFO or a device as recipe, teacher or dataset is refused at once instead of blocking forever', async () => {
  const fifo = join(ws.dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const zero = join(ws.dir, 'zero.jsonl');
  symlinkSync('/dev/zero', zero);
  assert.throws(() => loadRecipe(fifo), { message: `recipe '${fifo}' is a FIFO, not a regular file; pass the path of a YAML recipe such as recipes/mnist.yaml` });
  assert.throws(() => readRegularFileSync(ws.dir, (why) => new KennisError(why)), { message: 'is a directory, not a regular file' });
  await assert.rejects(precompute(loadRecipe(good, [`teacher.path=${fifo}`])), { name: 'TeacherError', message: `teacher file '${fifo}' is a FIFO, not a regular file; set teacher.path to an ONNX model file` });
  await assert.rejects(precompute(loadRecipe(good, [`dataset.path=${zero}`])), { name: 'DatasetError', message: `dataset file '${zero}' is a character device, not a regular file; check dataset.path` });
  // and through the CLI: one error line, no stack, in bounded time (a hang fails the test's timeout)
  const r = await kennis(['precompute', good, `teacher.path=${fifo}`]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `error: teacher file '${fifo}' is a FIFO, not a regular file; set teacher.path to an ONNX model file\n`);
  const after = treeHashes(ws.dir);
  for (const [file, hash] of Object.entries(before)) assert.equal(after[file], hash, `${file} unchanged`);
});
