/**
 * `npm run bench:quantize`: the smallest student that keeps the teacher's quality on MNIST.
 * Distills the default student (recipes/mnist.yaml), exports it in fp32, float16 and int8
 * (`exportRun --quantize`), trains a low-rank student (the teacher's widths factorized at
 * `--rank`) from a random init and from the teacher's truncated SVD (`student.init: teacher_svd`),
 * and evaluates everything on the test split in onnxruntime: bytes on disk, parameters, accuracy,
 * agreement and KL to the teacher, latency per sample (batch 1 and batch 256, one thread).
 * Writes bench/quantize.json and an HTML report with the accuracy-vs-bytes frontier.
 *
 *   npx tsx scripts/bench/quantize.ts [--rank 64] [--out bench/quantize.json] [--skip-train] [k=v ...]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { precompute } from '../../src/precompute/index.js';
import { datasetSpecOf, loadRecipe, type LoadedRecipe } from '../../src/recipe/index.js';
import { initialStudentWeights, openVerifiedCache, studentSpecFor, train } from '../../src/train/index.js';
import { exportRun, exportStudentToOnnx } from '../../src/evaluate/export/index.js';
import { evaluateModels, type EvalReport } from '../../src/evaluate/eval/index.js';
import { writeReport } from '../../src/evaluate/report/index.js';
import { writeFileAtomic } from '../../src/core/util/index.js';

const { values: opts, positionals: overrides } = parseArgs({
  allowPositionals: true,
  options: {
    recipe: { type: 'string', default: 'recipes/mnist.yaml' },
    rank: { type: 'string', default: '64' },
    out: { type: 'string', default: 'bench/quantize.json' },
    'skip-train': { type: 'boolean', default: false },
  },
});
const recipeFile = opts.recipe!;
const rank = Number(opts.rank);
const started = performance.now();
const base = loadRecipe(recipeFile, overrides);
const root = join(base.recipe.output.dir, 'bench-quantize');
const log = (m: string): void => void process.stderr.write(m + '\n');

const runs = {
  distilled: [] as string[],
  'lowrank-random': ['student.hidden=[1200,1200]', `student.rank=${rank}`],
  'lowrank-svd': ['student.hidden=[1200,1200]', `student.rank=${rank}`, 'student.init=teacher_svd'],
};
const recipeOf = (name: keyof typeof runs): LoadedRecipe => loadRecipe(recipeFile, [...overrides, ...runs[name], `output.dir=${join(root, name)}`]);

log('precompute: train and validation caches');
await precompute(base);
await precompute(loadRecipe(recipeFile, [...overrides, `dataset.split=${base.recipe.train.eval_split}`]));

// The SVD init before any training: its own model file, so eval scores it like the others.
const svdRecipe = recipeOf('lowrank-svd');
const svdCache = await openVerifiedCache(svdRecipe);
const { spec: svdSpec, input } = studentSpecFor(svdRecipe.recipe.student, svdCache.manifest, svdCache.dir);
const svdStarted = performance.now();
const svdWeights = initialStudentWeights(svdRecipe, svdSpec)!;
const svdSeconds = (performance.now() - svdStarted) / 1000;
const svdInitFile = join(root, 'lowrank-svd-init.onnx');
mkdirSync(root, { recursive: true });
await writeFileAtomic(svdInitFile, exportStudentToOnnx(svdSpec, svdWeights, { inputName: input.column }));

if (!opts['skip-train']) {
  for (const name of Object.keys(runs) as (keyof typeof runs)[]) {
    const loaded = recipeOf(name);
    log(`train ${name}`);
    const t0 = performance.now();
    await train(loaded, { overwrite: true });
    log(`train ${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}

log('export: fp32, float16 and int8');
const exports: Record<string, Awaited<ReturnType<typeof exportRun>>> = {};
for (const [name, mode] of [['distilled', 'float16'], ['distilled', 'int8'], ['lowrank-random', 'int8'], ['lowrank-svd', 'int8']] as const) {
  exports[`${name} ${mode}`] = await exportRun(join(root, name), undefined, { quantize: mode });
}

const models: [string, string][] = [
  ['teacher', base.recipe.teacher.path],
  ['distilled fp32', join(root, 'distilled', 'student.onnx')],
  ['distilled float16', join(root, 'distilled', 'student-float16.onnx')],
  ['distilled int8', join(root, 'distilled', 'student-int8.onnx')],
  [`low-rank r${rank} random fp32`, join(root, 'lowrank-random', 'student.onnx')],
  [`low-rank r${rank} random int8`, join(root, 'lowrank-random', 'student-int8.onnx')],
  [`low-rank r${rank} SVD init (untrained)`, svdInitFile],
  [`low-rank r${rank} SVD fp32`, join(root, 'lowrank-svd', 'student.onnx')],
  [`low-rank r${rank} SVD int8`, join(root, 'lowrank-svd', 'student-int8.onnx')],
];
const dataset = { ...datasetSpecOf(base, 'test'), limit: undefined };
log('eval: test split, latency at batch 1 and 256 on one onnxruntime thread');
const single = await evaluateModels(models.map((m) => m[1]), { dataset, threads: 1, latencyBatch: 1, repeats: 200 });
const batched = await evaluateModels(models.map((m) => m[1]), { dataset, threads: 1, latencyBatch: 256, repeats: 20 });

const rows = models.map(([name], i) => {
  const m = single.models[i]!;
  return {
    name, file: m.model, bytes: m.fileBytes, parameters: m.parameters, accuracy: m.accuracy!, errors: m.errors!,
    agreement: m.agreement, klToTeacher: m.klToReference, msPerSampleBatch1: m.latencyMsPerSample, msPerSampleBatch256: batched.models[i]!.latencyMsPerSample,
  };
});
const row = (name: string) => rows.find((r) => r.name === name)!;
const [teacher, fp32, int8] = [row('teacher'), row('distilled fp32'), row('distilled int8')];
const figures = {
  int8VsFp32SizeRatio: fp32.bytes / int8.bytes,
  int8AccuracyLossPp: 100 * (fp32.accuracy - int8.accuracy),
  teacherVsInt8SizeRatio: teacher.bytes / int8.bytes,
  int8VsFp32SpeedupBatch1: fp32.msPerSampleBatch1 / int8.msPerSampleBatch1,
  int8VsFp32SpeedupBatch256: fp32.msPerSampleBatch256 / int8.msPerSampleBatch256,
  svdInitSeconds: svdSeconds,
  int8AgreementWithFp32: exports['distilled int8']!.quantized!.agreement,
  int8MaxAbsLogitDiff: exports['distilled int8']!.quantized!.maxAbsLogitDiff,
};
// timings on a shared machine mean little without its load
const summary = { recipe: recipeFile, overrides, rank, testRows: single.rows, rows, figures, loadAverage: loadavg(), seconds: Math.round((performance.now() - started) / 1000) };
mkdirSync(dirname(opts.out!), { recursive: true });
writeFileSync(opts.out!, JSON.stringify(summary, null, 2) + '\n');
writeReport(join(root, 'report.html'), reportInput(single, rows));

const cells = (c: (string | number)[], w: number[]) => c.map((x, i) => (i === 0 ? String(x).padEnd(w[i]!) : String(x).padStart(w[i]!))).join('  ');
const widths = [34, 10, 10, 9, 10, 10, 12, 12];
console.log(cells(['model', 'bytes', 'params', 'accuracy', 'agreement', 'KL', 'ms/row b=1', 'ms/row b=256'], widths));
for (const r of rows) {
  console.log(cells([r.name, r.bytes, r.parameters, `${(100 * r.accuracy).toFixed(2)}%`, r.agreement.toFixed(4), r.klToTeacher.toExponential(2), r.msPerSampleBatch1.toFixed(4), r.msPerSampleBatch256.toFixed(4)], widths));
}
console.log(`int8 vs fp32 distilled: ${figures.int8VsFp32SizeRatio.toFixed(2)}x smaller (goal >= 3.5x), accuracy ${figures.int8AccuracyLossPp >= 0 ? '-' : '+'}${Math.abs(figures.int8AccuracyLossPp).toFixed(2)} pp (goal loss <= 0.2), ` +
  `top-1 agreement ${(100 * figures.int8AgreementWithFp32).toFixed(2)}%, max logit diff ${figures.int8MaxAbsLogitDiff.toPrecision(2)}`);
console.log(`int8 vs teacher: ${figures.teacherVsInt8SizeRatio.toFixed(2)}x smaller (goal >= 7x); latency int8 vs fp32: ${figures.int8VsFp32SpeedupBatch1.toFixed(2)}x faster at batch 1, ${figures.int8VsFp32SpeedupBatch256.toFixed(2)}x at batch 256`);
console.log(`SVD init of the rank-${rank} student: ${svdSeconds.toFixed(1)} s; report ${join(root, 'report.html')}; ${summary.seconds} s in all`);

function reportInput(report: EvalReport, table: typeof rows): Parameters<typeof writeReport>[1] {
  return {
    title: 'kennis: distillation + quantization + low-rank on MNIST',
    subtitle: `${report.dataset} ${report.split}, ${report.rows} rows; agreement and KL against the teacher`,
    headline: { metric: 'test/accuracy', label: 'test accuracy', lowerIsBetter: false },
    runs: [],
    models: table.map((r) => ({
      name: r.name, params: r.parameters, bytes: r.bytes, latencyMs: r.msPerSampleBatch1,
      metrics: { 'test/accuracy': r.accuracy, 'test/agreement': r.agreement, 'test/kl_to_teacher': r.klToTeacher },
    })),
  };
}
