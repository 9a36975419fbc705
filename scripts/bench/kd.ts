/**
 * `npm run bench:kd`: does distillation reproduce Hinton et al. (2015) on the built-in MNIST data?
 * Trains the baseline (alpha 0) and the distilled student over several seeds from one cache, then
 * sweeps temperature and alpha, and evaluates every student on the test split with onnxruntime.
 *
 *   npx tsx scripts/bench/kd.ts [--recipe recipes/mnist.yaml] [--seeds 3] [--no-sweep] [--out bench/kd.json] [k=v ...]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { coresPerProcess } from '../../src/train/backend/index.js';
import { nameRows, runStage } from '../../src/experiment/index.js';
import { datasetSpecOf, loadRecipe } from '../../src/recipe/index.js';

const { values: opts, positionals: overrides } = parseArgs({
  allowPositionals: true,
  options: {
    recipe: { type: 'string', default: 'recipes/mnist.yaml' },
    seeds: { type: 'string', default: '3' },
    'no-sweep': { type: 'boolean', default: false },
    parallel: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/kd.json' },
  },
});
const recipeFile = opts.recipe!;
const { recipe } = loadRecipe(recipeFile, overrides);
const root = join(recipe.output.dir, 'bench-kd');

interface Job { name: string; overrides: string[] }
const seeds = Array.from({ length: Number(opts.seeds) }, (_, i) => i + 1);
const jobs: Job[] = [];
for (const s of seeds) {
  const seed = [`student.seed=${s}`, `train.seed=${s}`];
  jobs.push({ name: `baseline-s${s}`, overrides: [...seed, 'distill.alpha=0'] }, { name: `distilled-s${s}`, overrides: seed });
}
if (!opts['no-sweep']) {
  for (const T of [1, 2, 4, 8]) if (T !== recipe.distill.temperature) jobs.push({ name: `T${T}-s1`, overrides: ['student.seed=1', 'train.seed=1', `distill.temperature=${T}`] });
  for (const a of [0.3, 0.5, 0.9, 1]) if (a !== recipe.distill.alpha) jobs.push({ name: `alpha${a}-s1`, overrides: ['student.seed=1', 'train.seed=1', `distill.alpha=${a}`] });
}

const started = performance.now();
await runStage('precompute', { stage: 'precompute', recipe: recipeFile, overrides });
await runStage('precompute validation', { stage: 'precompute', recipe: recipeFile, overrides: [...overrides, `dataset.split=${recipe.train.eval_split}`] });
// trainers run `parallel` at once, the cores shared out between them (wasm threads)
const queue = [...jobs];
const threads = `train.threads=${coresPerProcess(Number(opts.parallel))}`;
await Promise.all(Array.from({ length: Number(opts.parallel) }, async () => {
  for (let job = queue.shift(); job; job = queue.shift()) {
    const dir = join(root, job.name);
    await runStage(job.name, { stage: 'train', recipe: recipeFile, overrides: [...overrides, threads, ...job.overrides, `output.dir=${dir}`], overwrite: true });
    await runStage(`export ${job.name}`, { stage: 'export', run: dir });
  }
}));
const models = [recipe.teacher.path, ...jobs.map((j) => join(root, j.name, 'student.onnx'))];
const evaluation = await runStage('eval', { stage: 'eval', models, options: { dataset: { ...datasetSpecOf(loadRecipe(recipeFile, overrides), 'test'), limit: undefined } } });
const errors = new Map(nameRows(evaluation, ['teacher', ...jobs.map((j) => j.name)]).map((m) => [m.name, m.errors!]));
const teacherErrors = errors.get('teacher')!;

const rows = seeds.map((s) => {
  const b = errors.get(`baseline-s${s}`)!, d = errors.get(`distilled-s${s}`)!;
  return { seed: s, teacher: teacherErrors, baseline: b, distilled: d, gapClosed: (b - d) / (b - teacherErrors) };
});
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary = {
  recipe: recipeFile, overrides, T: recipe.distill.temperature, alpha: recipe.distill.alpha, testRows: 1000,
  runs: rows,
  mean: { baseline: mean(rows.map((r) => r.baseline)), distilled: mean(rows.map((r) => r.distilled)), teacher: teacherErrors, gapClosed: 0 },
  sweep: jobs.filter((j) => !/^(baseline|distilled)-/.test(j.name)).map((j) => ({ name: j.name, overrides: j.overrides.slice(2), errors: errors.get(j.name)! })),
  hinton2015: { teacher: 67, baseline: 146, distilled: 74, gapClosed: (146 - 74) / (146 - 67), testRows: 10000 },
  seconds: Math.round((performance.now() - started) / 1000),
};
summary.mean.gapClosed = (summary.mean.baseline - summary.mean.distilled) / (summary.mean.baseline - teacherErrors);
mkdirSync(dirname(opts.out!), { recursive: true });
writeFileSync(opts.out!, JSON.stringify(summary, null, 2) + '\n');

const line = (cells: (string | number)[]) => cells.map((c) => String(c).padStart(12)).join('');
console.log(line(['seed', 'teacher', 'baseline', 'distilled', 'gap closed']));
for (const r of rows) console.log(line([r.seed, r.teacher, r.baseline, r.distilled, `${(100 * r.gapClosed).toFixed(0)}%`]));
console.log(line(['mean', teacherErrors, summary.mean.baseline.toFixed(1), summary.mean.distilled.toFixed(1), `${(100 * summary.mean.gapClosed).toFixed(0)}%`]));
console.log(`(test errors of 1000 digits; Hinton et al. 2015 on 10,000: teacher 67, baseline 146, distilled 74, gap closed 91%)`);
if (summary.sweep.length) {
  console.log('\nsweep (seed 1):');
  for (const s of summary.sweep) console.log(`  ${s.overrides.join(' ').padEnd(28)} ${s.errors} errors`);
}
console.log(`\n${summary.seconds} s; written to ${opts.out}`);
