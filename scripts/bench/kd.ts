/**
 * `npm run bench:kd`: does distillation reproduce Hinton et al. (2015) on the built-in MNIST data?
 * Two sweeps from one cache (the teacher runs once): the baseline (alpha 0) and the distilled
 * student over several seeds, then temperature and alpha at seed 1; every student is scored on the
 * test split with onnxruntime. Reruns reuse finished students (kennis sweep).
 *
 *   npx tsx scripts/bench/kd.ts [--recipe recipes/mnist.yaml] [--seeds 3] [--no-sweep] [--parallel 2] [--out bench/kd.json] [k=v ...]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { sweep } from '../../src/experiment/index.js';
import { loadRecipe } from '../../src/recipe/index.js';

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
const parallel = Number(opts.parallel);
const started = performance.now();

// 1. baseline and distilled student, seeds 1..n
const seeded = await sweep(recipeFile, [...overrides, `distill.alpha=0,${recipe.distill.alpha}`, `output.dir=${join(root, 'seeds')}`], { seeds: Number(opts.seeds), parallel });
const teacherErrors = seeded.teacher.errors!;
const errorsOf = (alpha: number, seed: number): number => seeded.cells.find((c) => c.seed === seed && Number(c.values['distill.alpha']) === alpha)!.test.errors!;
const seeds = [...new Set(seeded.cells.map((c) => c.seed!))];
const rows = seeds.map((seed) => {
  const b = errorsOf(0, seed), d = errorsOf(recipe.distill.alpha, seed);
  return { seed, teacher: teacherErrors, baseline: b, distilled: d, gapClosed: (b - d) / (b - teacherErrors) };
});

// 2. temperature and alpha at seed 1
const sweeps = [];
if (!opts['no-sweep']) {
  for (const [key, values] of [['distill.temperature', [1, 2, 4, 8]], ['distill.alpha', [0.3, 0.5, 0.9, 1]]] as const) {
    const s = await sweep(recipeFile, [...overrides, 'student.seed=1', 'train.seed=1', `${key}=${values.join(',')}`, `output.dir=${join(root, key)}`], { parallel });
    sweeps.push(...s.cells.map((c) => ({ name: c.name, overrides: [`${key}=${c.values[key]}`], errors: c.test.errors! })));
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanBaseline = mean(rows.map((r) => r.baseline)), meanDistilled = mean(rows.map((r) => r.distilled));
const summary = {
  recipe: recipeFile, overrides, T: recipe.distill.temperature, alpha: recipe.distill.alpha, testRows: 1000,
  runs: rows,
  mean: { baseline: meanBaseline, distilled: meanDistilled, teacher: teacherErrors, gapClosed: (meanBaseline - meanDistilled) / (meanBaseline - teacherErrors) },
  sweep: sweeps,
  hinton2015: { teacher: 67, baseline: 146, distilled: 74, gapClosed: (146 - 74) / (146 - 67), testRows: 10000 },
  seconds: Math.round((performance.now() - started) / 1000),
};
mkdirSync(dirname(opts.out!), { recursive: true });
writeFileSync(opts.out!, JSON.stringify(summary, null, 2) + '\n');

const line = (cells: (string | number)[]) => cells.map((c) => String(c).padStart(12)).join('');
console.log(line(['seed', 'teacher', 'baseline', 'distilled', 'gap closed']));
for (const r of rows) console.log(line([r.seed, r.teacher, r.baseline, r.distilled, `${(100 * r.gapClosed).toFixed(0)}%`]));
console.log(line(['mean', teacherErrors, meanBaseline.toFixed(1), meanDistilled.toFixed(1), `${(100 * summary.mean.gapClosed).toFixed(0)}%`]));
console.log(`(test errors of 1000 digits; Hinton et al. 2015 on 10,000: teacher 67, baseline 146, distilled 74, gap closed 91%)`);
if (sweeps.length) {
  console.log('\nsweep (seed 1):');
  for (const s of sweeps) console.log(`  ${s.overrides.join(' ').padEnd(28)} ${s.errors} errors`);
}
console.log(`\n${summary.seconds} s; written to ${opts.out}; tables in ${root}/*/results.md`);
