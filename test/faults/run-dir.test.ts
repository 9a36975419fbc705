import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TrainError } from '../../src/core/errors/index.js';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { train, type TrainOptions } from '../../src/train/index.js';
import { treeHashes, workspace } from '../fixtures/cli.js';

const ws = workspace('run-dir', { rows: 300, shardRows: 100 });
const base = ws.recipe('base.yaml', { train: { max_steps: 6, checkpoint_every: 2 } });
await precompute(loadRecipe(base), { onWarning: () => undefined });
const runIn = (name: string, overrides: string[] = [], options: TrainOptions = {}) => train(loadRecipe(base, [`output.dir=${join(ws.dir, name)}`, ...overrides]), options);

/** Rejects with a TrainError of exactly `message`, and the run directory is byte-identical afterwards. */
async function refused(dir: string, call: () => Promise<unknown>, message: string | RegExp): Promise<void> {
  const before = treeHashes(dir);
  await assert.rejects(call(), (e: Error) => e instanceof TrainError && (typeof message === 'string' ? e.message === message : message.test(e.message)));
  assert.deepEqual(treeHashes(dir), before);
}

test('one writer per run directory: a second train into it is refused naming the first; a crashed writer\'s lock is taken over', async () => {
  const dir = join(ws.dir, 'shared');
  let second: Promise<unknown> | undefined;
  const first = runIn('shared', ['train.max_steps=12'], {
    // once the first holds the directory and has trained, a second run meets its lock
    onStep: (step) => { if (step === 1) second = runIn('shared', ['train.max_steps=12']).then(() => 'finished', (e: Error) => e); },
  });
  const summary = await first;
  const err = await second;
  assert.ok(err instanceof TrainError, String(err));
  assert.match(err.message, new RegExp(`^run directory '${dir}' is locked by pid ${process.pid} on host .* \\(${dir}/\\.lock\\); wait for that run to finish, or delete '${dir}/\\.lock' if it is not running$`));
  assert.equal(summary.steps, 12);
  assert.deepEqual(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step), Array.from({ length: 12 }, (_, i) => i + 1), 'one run\'s metrics, not interleaved');
  assert.ok(!existsSync(join(dir, '.lock')), 'released');
  // a lock left by a run that died: taken over with a warning
  writeFileSync(join(dir, '.lock'), `${JSON.stringify({ pid: 2 ** 22 + 7, hostname: hostname(), startedAt: new Date().toISOString() })}\n`);
  const warnings: string[] = [];
  await runIn('shared', ['train.max_steps=12'], { overwrite: true, onWarning: (m) => warnings.push(m) });
  assert.ok(warnings.some((w) => w.startsWith(`taking over stale run directory lock '${dir}/.lock' of pid ${2 ** 22 + 7} (not running on`)), warnings.join('\n'));
});

test('--resume checks what it resumes: flags, nothing to resume, a changed recipe, a damaged checkpoint', async () => {
  const dir = join(ws.dir, 'resumed');
  await runIn('resumed');
  await refused(dir, () => runIn('resumed', [], { resume: true, overwrite: true }), '--resume continues the run in output.dir and --overwrite replaces it; pass one of them');
  const none = join(ws.dir, 'none');
  await assert.rejects(runIn('none', [], { resume: true }), { message: `--resume: output.dir ${none} holds no run to resume (no recipe.yaml); drop --resume to start one, or set output.dir to the run's directory` });
  assert.ok(!existsSync(none), 'nothing created');
  await refused(dir, () => runIn('resumed', ['train.lr=0.01', 'distill.alpha=0.2', 'train.log_every=3'], { resume: true }),
    `--resume: the recipe changed what is trained since the run in ${dir} started (distill.alpha 0.5 -> 0.2, train.lr 0.001 -> 0.01); the weights would match neither recipe: undo the changes, set output.dir to start a new run, or pass --allow-recipe-change to continue anyway`);
  // bookkeeping (log cadence, more steps are not: they change the schedule) may change; the history keeps both recipes
  const warnings: string[] = [];
  const s = await runIn('resumed', ['train.max_steps=8', 'train.log_every=3'], { resume: true, allowRecipeChange: true, onWarning: (m) => warnings.push(m) });
  assert.equal(s.resumedFrom, 6);
  assert.deepEqual(warnings.filter((w) => w.startsWith('resuming')), [`resuming ${dir} with a changed recipe (train.max_steps 6 -> 8), as --allow-recipe-change asks`]);
  assert.deepEqual(readdirSync(join(dir, 'recipes')), ['0001.yaml', '0002.yaml']);
  assert.match(readFileSync(join(dir, 'recipes', '0001.yaml'), 'utf8'), /max_steps: 6/);
  assert.equal(readFileSync(join(dir, 'recipe.yaml'), 'utf8'), readFileSync(join(dir, 'recipes', '0002.yaml'), 'utf8'));
  // a flipped byte in the latest checkpoint: refused, naming the newest good one
  const latest = join(dir, 'checkpoints', 'step-0000008', 'tensors.bin');
  const bytes = readFileSync(latest);
  bytes[5]! ^= 0x40;
  writeFileSync(latest, bytes);
  await refused(dir, () => runIn('resumed', ['train.max_steps=8'], { resume: true }),
    new RegExp(`^checkpoint ${dir}/checkpoints/step-0000008 is corrupt: tensors\\.bin has sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…; delete '${dir}/checkpoints/step-0000008' and write 'step-0000006' into '${dir}/checkpoints/latest' to resume from step-0000006, the newest good checkpoint$`));
  // a checkpoint of another student is refused by its shapes
  bytes[5]! ^= 0x40;
  writeFileSync(latest, bytes);
  await refused(dir, () => runIn('resumed', ['train.max_steps=8', 'student.hidden=[9]'], { resume: true, allowRecipeChange: true }),
    /^checkpoint .*step-0000008 has weight '\S+' of shape \[\d+(,\d+)?\], the student's is \[\d+(,\d+)?\]; it was written for another student; no earlier checkpoint is good; train without --resume \(and with --overwrite\) to start over$/);
});
