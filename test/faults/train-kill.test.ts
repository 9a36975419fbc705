import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import type { TrainSummary } from '../../src/train/index.js';
import { jsonOf, kennis, startKennis, workspace } from '../fixtures/cli.js';
import { runChains } from './chains.js';

// 24 steps of a tiny MLP with a checkpoint every 2: kills land before, between and inside checkpoints
const ws = workspace('kill-train', { rows: 600, shardRows: 100 });
const trainSection = { batch_size: 50, max_steps: 24, log_every: 1, backend: 'wasm', seed: 5, checkpoint_every: 2 };
const recipeFor = (run: string) => ws.recipe(`${run}.yaml`, { train: trainSection, output: { dir: join(ws.dir, run) } });
await precompute(loadRecipe(recipeFor('setup')), { onWarning: () => undefined });
const reference = jsonOf<TrainSummary>(await kennis(['train', recipeFor('reference'), '--json']));

const linesIn = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);
const stepsOf = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);

test('kill -9 at seeded random moments during train, then train --resume: final weights byte-equal an uninterrupted run', async () => {
  const runOf = (chain: number) => join(ws.dir, `chain-${chain}`);
  const recipes = new Map<number, string>();
  const started = new Set<number>();
  const reports = await runChains({
    seed: 7, kills: 10, parallel: 2,
    start: (chain) => {
      if (!recipes.has(chain)) recipes.set(chain, recipeFor(`chain-${chain}`));
      // the first run of a chain starts training; every later one resumes it, once a run got far
      // enough to record its recipe (before that there is nothing to resume, which --resume refuses)
      const resume = started.has(chain) && existsSync(join(runOf(chain), 'recipe.yaml')) ? ['--resume'] : [];
      started.add(chain);
      return startKennis(['train', recipes.get(chain)!, '--json', ...resume]);
    },
    plan: (chain, rng) => {
      const metrics = join(runOf(chain), 'metrics.jsonl');
      if (rng.next() < 0.2) {
        const ms = rng.int(3000);
        return { ready: () => true, delayMs: ms, describe: `${ms} ms after start` };
      }
      // a step or two past a logged step: mid-step, mid-checkpoint, or while writing the student
      const target = Math.min(linesIn(metrics) + 1 + rng.int(8), trainSection.max_steps);
      const ms = rng.int(30);
      return { ready: () => linesIn(metrics) >= target, delayMs: ms, describe: `${ms} ms after metrics line ${target}` };
    },
  });
  const kills = reports.reduce((n, r) => n + r.kills.length, 0);
  assert.ok(kills >= 10, `expected at least 10 kills, got ${kills}`);
  const want = readFileSync(join(reference.outputDir, 'student', 'weights.bin'));
  for (const [chain, report] of reports.entries()) {
    const why = `chain ${chain} after kills at ${report.kills.join(', ')}`;
    const summary = jsonOf<TrainSummary>(report.final);
    assert.equal(summary.steps, trainSection.max_steps, why);
    assert.deepEqual(readFileSync(join(runOf(chain), 'student', 'weights.bin')), want, `${why}: student/weights.bin`);
    // the metrics read as one uninterrupted run: resumes drop lines past their checkpoint
    assert.deepEqual(stepsOf(runOf(chain)), stepsOf(reference.outputDir), `${why}: metrics.jsonl steps`);
    // a kill mid-save leaves a half-written checkpoint dir; the next save of a later run removes it
    const temps = readdirSync(join(runOf(chain), 'checkpoints')).filter((e) => e.includes('.tmp-'));
    assert.deepEqual(temps, [], `${why}: abandoned checkpoint temp dirs`);
  }
});
