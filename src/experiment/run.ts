import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PrecomputeSummary } from '../precompute/run.js';
import { datasetSpecOf, loadRecipe } from '../recipe/index.js';
import { writeReport, type MetricPoint, type ReportModel, type ReportRun } from '../evaluate/report/index.js';
import type { TrainSummary } from '../train/run.js';
import type { EvalReport, ModelEval } from '../evaluate/eval/index.js';
import { runStage } from './child.js';
import { parallelTraining, trainCell } from './sweep.js';

/** One model's row of `kennis eval --json`, named by its role. */
export type EvalRow = ModelEval & { name: string };

/** Options of distillAndCompare. */
export interface DistillOptions {
  /** Retrain students whose run directory holds a run of other settings (otherwise refused). */
  overwrite?: boolean;
  /** Receives progress lines; default stderr. */
  onLog?: (message: string) => void;
}

/** What `kennis distill` did. */
export interface DistillSummary {
  /** Run directory holding both students and report.html. */
  runDir: string;
  /** The train split's cache (a hit on the second run). */
  precompute: PrecomputeSummary;
  /** Training summaries. */
  baseline: TrainSummary;
  distilled: TrainSummary;
  /** Test-split evaluation of teacher, baseline and distilled student. */
  eval: EvalRow[];
  /** Share of the baseline-teacher gap in the headline metric that distillation closed. */
  gapClosed: number;
  /** The report file. */
  report: string;
  /** Wall time. */
  seconds: number;
}

/**
 * The whole experiment of Hinton et al. (2015) on one recipe: precompute the teacher's targets,
 * train a distilled student and an alpha-0 baseline (in parallel, each its own process), export
 * both to ONNX, evaluate all three on the test split, and write report.html.
 */
export async function distillAndCompare(file: string, overrides: readonly string[], options: DistillOptions = {}): Promise<DistillSummary> {
  const started = performance.now();
  const loaded = loadRecipe(file, overrides);
  const { recipe } = loaded;
  const runDir = resolve(loaded.baseDir, recipe.output.dir);
  const log = options.onLog ?? (() => undefined);
  const precompute = await runStage('precompute', { stage: 'precompute', recipe: file, overrides }, log);
  await runStage(`precompute ${recipe.train.eval_split}`, { stage: 'precompute', recipe: file, overrides: [...overrides, `dataset.split=${recipe.train.eval_split}`] }, log);
  // baseline and distilled student train at once; a rerun reuses or resumes them
  const shared = [...overrides, ...parallelTraining(recipe, 2)];
  const trainStudent = async (name: string, extra: string[]) =>
    (await trainCell(file, join(runDir, name), name, [...shared, ...extra], options.overwrite ?? false, log)).train;
  const [baseline, distilled] = await Promise.all([trainStudent('baseline', ['distill.alpha=0']), trainStudent('distilled', [])]);
  // the size frontier: the distilled student with int8 weights, compared on the test split as it is written
  const int8 = await runStage('export distilled int8', { stage: 'export', run: join(runDir, 'distilled'), quantize: 'int8' }, log);
  const evaluation = await runStage('eval', {
    stage: 'eval',
    models: [resolve(loaded.baseDir, recipe.teacher.path), join(runDir, 'baseline', 'student.onnx'), join(runDir, 'distilled', 'student.onnx'), int8.quantized!.file],
    // dataset.limit trims the data trained on; the test split is scored whole
    options: { dataset: { ...datasetSpecOf(loaded, 'test'), limit: undefined } },
  }, log);
  const rows = nameRows(evaluation, ['teacher', 'baseline', 'distilled', 'distilled int8']);
  const classification = rows[0]!.errors !== undefined;
  const metric = (r: EvalRow) => (classification ? r.errors! : r.bitsPerByte!);
  const [t, b, d] = rows.slice(0, 3).map(metric) as [number, number, number];
  const gapClosed = b === t ? 0 : (b - d) / (b - t);
  const report = join(runDir, 'report.html');
  writeReport(report, {
    title: `kennis: knowledge distillation on ${recipe.dataset.name}`,
    subtitle: `teacher ${recipe.teacher.path}; students ${recipe.student?.arch} ${JSON.stringify(recipe.student?.hidden ?? [])}, T=${recipe.distill.temperature}, alpha=${recipe.distill.alpha}`,
    notes: [
      classification
        ? `Test errors: teacher ${t}, baseline ${b}, distilled ${d}: distillation closed ${(100 * gapClosed).toFixed(0)}% of the gap.`
        : `Bits per byte: teacher ${t.toFixed(3)}, baseline ${b.toFixed(3)}, distilled ${d.toFixed(3)}: distillation closed ${(100 * gapClosed).toFixed(0)}% of the gap.`,
      `Cache: ${precompute.rows} rows in ${precompute.shards} shards (${precompute.hit ? 'cache hit, no teacher ran' : `${Math.round(precompute.rowsPerSecond)} rows/s`}).`,
    ],
    headline: classification ? { metric: 'errors', label: 'test errors', lowerIsBetter: true } : { metric: 'bits_per_byte', label: 'bits per byte', lowerIsBetter: true },
    runs: [readRun('baseline', join(runDir, 'baseline')), readRun('distilled', join(runDir, 'distilled'))],
    models: rows.map(toReportModel),
    ...(classification ? { classLabels: Array.from({ length: rows[0]!.perClassErrors?.length ?? 0 }, (_, i) => String(i)) } : {}),
  });
  return { runDir, precompute, baseline, distilled, eval: rows, gapClosed, report, seconds: (performance.now() - started) / 1000 };
}

/** Eval rows come in the order of the models passed; names give them their roles. */
export function nameRows(report: EvalReport, names: readonly string[]): EvalRow[] {
  return report.models.map((m, i) => ({ ...m, name: names[i] ?? m.model }));
}

/** An eval row as a model of the HTML report. */
export function toReportModel(r: EvalRow): ReportModel {
  const metrics: Record<string, number> = { agreement: r.agreement, kl_to_teacher: r.klToReference };
  if (r.errors !== undefined) metrics.errors = r.errors;
  if (r.accuracy !== undefined) metrics.accuracy = r.accuracy;
  if (r.bitsPerByte !== undefined) metrics.bits_per_byte = r.bitsPerByte;
  return {
    name: r.name, metrics, params: r.parameters, bytes: r.fileBytes, latencyMs: r.latencyMsPerSample,
    ...(r.perClassErrors ? { perClassErrors: r.perClassErrors } : {}), ...(r.confusion ? { confusion: r.confusion } : {}),
  };
}

/** A run's metrics.jsonl split into training and eval curves. */
export function readRun(name: string, dir: string): ReportRun {
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const numeric = (l: Record<string, unknown>, prefix: string): MetricPoint => {
    const p: MetricPoint = { step: l.step as number };
    for (const [k, v] of Object.entries(l)) if (typeof v === 'number' && k !== 'step' && k.startsWith(prefix)) p[k.slice(prefix.length)] = v;
    return p;
  };
  const selected = lines.filter((l) => Object.keys(l).some((k) => k.startsWith('best/'))).at(-1)?.step;
  return {
    name,
    train: lines.filter((l) => 'loss' in l).map((l) => numeric(l, '')),
    eval: lines.filter((l) => 'eval/loss' in l).map((l) => numeric(l, 'eval/')),
    ...(typeof selected === 'number' ? { selectedStep: selected } : {}),
  };
}
