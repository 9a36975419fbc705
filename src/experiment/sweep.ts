import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { RecipeError } from '../core/errors/index.js';
import { writeReport } from '../evaluate/report/index.js';
import { datasetSpecOf, loadRecipe, type Recipe } from '../recipe/index.js';
import { coresPerProcess } from '../train/backend/index.js';
import type { TrainSummary } from '../train/index.js';
import { runStage } from './child.js';
import { gridCells, parseGrid, type GridAxis } from './grid.js';
import { nameRows, readRun, toReportModel, type EvalRow } from './run.js';

/** Options of a sweep. */
export interface SweepOptions {
  /** Train every grid point with seeds 1..n (student.seed and train.seed); default: the recipe's seeds. */
  seeds?: number;
  /** Students trained at once, each in its own process with its share of the cores (default 2). */
  parallel?: number;
  /** Retrain cells whose directory holds a run of other settings (otherwise such a sweep is refused). */
  overwrite?: boolean;
  /** Receives progress lines (cells started, skipped, finished); default stderr. */
  onLog?: (message: string) => void;
}

/** One trained cell of the grid, scored on the test split. */
export interface SweepCell {
  name: string;
  overrides: string[];
  /** Axis key -> value of this cell, and its seed. */
  values: Record<string, string>;
  seed?: number;
  dir: string;
  train: TrainSummary;
  test: EvalRow;
  /** Finished by an earlier run of the same sweep. */
  reused: boolean;
}

/** What `kennis sweep` did. */
export interface SweepSummary {
  dir: string;
  axes: GridAxis[];
  teacher: EvalRow;
  cells: SweepCell[];
  /** Files written: results.json, results.md, report.html. */
  results: string;
  table: string;
  report: string;
  seconds: number;
}

/** What a finished cell leaves in its directory (with student.onnx), so a rerun can skip it. */
interface CellRecord { overrides: string[]; train: TrainSummary }
const CELL_FILE = 'cell.json';

/**
 * Trains a grid of students from one cache (the teacher runs once, or not at all on a cache hit),
 * exports and scores every one on the test split, and writes results.json, results.md and
 * report.html under the recipe's output.dir. `args` are `key=v1,v2,...` axes and `key=v` fixed
 * overrides. A rerun skips finished cells and resumes interrupted ones from their checkpoints.
 */
export async function sweep(file: string, args: readonly string[], opts: SweepOptions = {}): Promise<SweepSummary> {
  const started = performance.now();
  const log = opts.onLog ?? (() => undefined);
  const { axes, fixed } = parseGrid(args);
  const seeds = opts.seeds ? Array.from({ length: opts.seeds }, (_, i) => i + 1) : undefined;
  const base = loadRecipe(file, fixed);
  const cells = gridCells(axes, seeds);
  // every cell's recipe is checked before anything runs, so a bad value fails at once
  for (const c of cells) loadRecipe(file, [...fixed, ...c.overrides]);
  const dir = resolve(base.baseDir, base.recipe.output.dir);
  mkdirSync(dir, { recursive: true });

  const precompute = await runStage('precompute', { stage: 'precompute', recipe: file, overrides: fixed }, log);
  await runStage(`precompute ${base.recipe.train.eval_split}`, { stage: 'precompute', recipe: file, overrides: [...fixed, `dataset.split=${base.recipe.train.eval_split}`] }, log);
  log(`sweep: ${cells.length} cells from cache ${precompute.cacheDir}${precompute.hit ? ' (a hit: no teacher ran)' : ''}`);

  const parallel = Math.max(1, opts.parallel ?? 2);
  const shared = [...fixed, ...parallelTraining(base.recipe, parallel)];
  const limit = pLimit(parallel);
  const trained = await Promise.all(cells.map((cell) => limit(() => trainCell(file, join(dir, cell.name), cell.name, [...shared, ...cell.overrides], opts.overwrite ?? false, log))));

  const evaluation = await runStage('eval', {
    stage: 'eval',
    models: [resolve(base.baseDir, base.recipe.teacher.path), ...cells.map((c) => join(dir, c.name, 'student.onnx'))],
    options: { dataset: { ...datasetSpecOf(base, 'test'), limit: undefined } },
  }, log);
  const rows = nameRows(evaluation, ['teacher', ...cells.map((c) => c.name)]);
  const results: SweepCell[] = cells.map((c, i) => ({
    name: c.name, overrides: c.overrides, dir: join(dir, c.name),
    values: Object.fromEntries(axes.map((a) => [a.key, c.overrides.find((o) => o.startsWith(`${a.key}=`))!.slice(a.key.length + 1)])),
    ...(c.seed !== undefined ? { seed: c.seed } : {}),
    train: trained[i]!.train, test: rows[i + 1]!, reused: trained[i]!.reused,
  }));
  const summary: SweepSummary = {
    dir, axes, teacher: rows[0]!, cells: results,
    results: join(dir, 'results.json'), table: join(dir, 'results.md'), report: join(dir, 'report.html'),
    seconds: (performance.now() - started) / 1000,
  };
  writeFileSync(summary.results, JSON.stringify({ recipe: file, fixed, ...summary }, null, 2) + '\n');
  writeFileSync(summary.table, sweepTable(summary) + '\n');
  const classification = rows[0]!.errors !== undefined;
  writeReport(summary.report, {
    title: `kennis sweep: ${base.recipe.dataset.name}`,
    subtitle: `${cells.length} students over ${axes.map((a) => `${a.key} = ${a.values.join(', ')}`).join('; ') || 'the recipe'}${seeds ? `, seeds 1-${seeds.length}` : ''}`,
    notes: [`Cache: ${precompute.rows} rows (${precompute.hit ? 'cache hit, no teacher ran' : 'teacher ran once'}); every student trained from it.`],
    headline: classification ? { metric: 'errors', label: 'test errors', lowerIsBetter: true } : { metric: 'bits_per_byte', label: 'bits per byte', lowerIsBetter: true },
    runs: results.map((c) => readRun(c.name, c.dir)),
    models: rows.map(toReportModel),
  });
  return summary;
}

/**
 * Overrides for students trained `parallel` at a time: each gets its share of the cores (unless the
 * recipe sets train.threads), and checkpoints (unless the recipe sets them) so that an interrupted
 * experiment continues each student where it stopped.
 */
export function parallelTraining(recipe: Recipe, parallel: number): string[] {
  return [
    ...(recipe.train.threads > 0 ? [] : [`train.threads=${coresPerProcess(parallel)}`]),
    ...(recipe.train.checkpoint_every > 0 ? [] : ['train.checkpoint_every=100']),
  ];
}

/**
 * Trains and exports one student into `cellDir` in child processes, or reuses it when an earlier
 * run with the same overrides finished it (an interrupted one resumes from its checkpoints).
 * A directory holding a run of other settings is refused unless `overwrite`.
 */
export async function trainCell(file: string, cellDir: string, label: string, cellOverrides: readonly string[], overwrite: boolean, log: (m: string) => void): Promise<{ train: TrainSummary; reused: boolean }> {
  const overrides = [...cellOverrides, `output.dir=${cellDir}`];
  const recordFile = join(cellDir, CELL_FILE);
  const record = existsSync(recordFile) ? JSON.parse(readFileSync(recordFile, 'utf8')) as CellRecord : undefined;
  const same = record !== undefined && JSON.stringify(record.overrides) === JSON.stringify(overrides);
  if (same && existsSync(join(cellDir, 'student.onnx'))) {
    log(`[${label}] finished earlier, reused`);
    return { train: record.train, reused: true };
  }
  if (record && !same && !overwrite) {
    throw new RecipeError(`${cellDir} holds a run with other settings (${record.overrides.join(' ')}); pass --overwrite to retrain it, or set output.dir to another directory`);
  }
  const resume = same || (!record && existsSync(join(cellDir, 'checkpoints', 'latest')));
  const train = await runStage(label, { stage: 'train', recipe: file, overrides, ...(resume ? { resume: true } : { overwrite: true }) }, log);
  await runStage(`export ${label}`, { stage: 'export', run: cellDir }, log);
  writeFileSync(recordFile, JSON.stringify({ overrides, train } satisfies CellRecord, null, 2) + '\n');
  return { train, reused: false };
}

/** The results as a Markdown table: one row per cell, with the teacher first. */
export function sweepTable(s: SweepSummary): string {
  const classification = s.teacher.errors !== undefined;
  const metric = (r: EvalRow): string => (classification ? String(r.errors) : r.bitsPerByte!.toFixed(4));
  const keys = s.axes.map((a) => a.key);
  const seeded = s.cells.some((c) => c.seed !== undefined);
  const head = ['student', ...keys, ...(seeded ? ['seed'] : []), classification ? 'test errors' : 'bits/byte', 'agreement', 'KL(teacher‖student)', 'train s'];
  const lines = [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    `| teacher | ${keys.map(() => '').join(' | ')}${keys.length ? ' | ' : ''}${seeded ? ' | ' : ''}${metric(s.teacher)} | 1 | 0 | |`,
    ...s.cells.map((c) => `| ${c.name} | ${keys.map((k) => c.values[k]).join(' | ')}${keys.length ? ' | ' : ''}${seeded ? `${c.seed} | ` : ''}${metric(c.test)} | ${c.test.agreement.toFixed(4)} | ${c.test.klToReference.toFixed(4)} | ${c.train.seconds.toFixed(0)} |`),
  ];
  return lines.join('\n');
}
