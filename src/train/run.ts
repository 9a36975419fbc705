import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RecipeError, TrainError, withFileErrors } from '../core/errors/index.js';
import { decodeModel } from '../core/onnx/index.js';
import { createProgress } from '../core/progress/index.js';
import { readRegularFileSync, writeFileAtomic } from '../core/util/fs.js';
import { resolveFrom, type LoadedRecipe } from '../recipe/index.js';
import { trainingColumns } from './batch.js';
import { openVerifiedCache, withSplit, type VerifiedCache } from './caches.js';
import { loadLatestCheckpoint, saveCheckpoint, type TrainPosition } from './checkpoint.js';
import type { EvalMetrics } from './evaluate.js';
import { CacheLoader, type LoaderBatch } from './loader/index.js';
import type { KdLossOptions } from './losses/index.js';
import { MetricsSink } from './metrics.js';
import { flattenHParams, graphDefFromOnnx, memoryScalars, PhaseTimes } from './tensorboard/index.js';
import { studentModel } from './students/onnx/index.js';
import { constant, cosineWithWarmup } from './optim/index.js';
import { saveStudent } from './save.js';
import { checkRunFlags, openRunDir, type RunDir } from './run-dir.js';
import { observeEvaluation, type SelectionState } from './selection.js';
import { studentInputOf, studentSpecFor, type StudentInput } from './student-spec.js';
import type { StudentSpec } from './students/index.js';
import { TfjsTrainer } from './tfjs-trainer.js';
import { initialStudentWeights } from './init.js';
import { modelWithWeights, OnnxTrainer, type ModelTrainerSetup } from './onnxruntime/index.js';
import type { StudentTrainer, TrainerSetup } from './trainer.js';

/** What a training run did; printed by `kennis train --json`. */
export interface TrainSummary {
  outputDir: string;
  steps: number;
  samples: number;
  tokens: number;
  seconds: number;
  samplesPerSecond: number;
  /** The backend that trained, e.g. 'onnxruntime', 'wasm'. */
  backend: string;
  parameters: number;
  resumedFrom?: number;
  finalEval: EvalMetrics | null;
  /** With train.select_best: the best held-out value and its step (its weights are in <run>/best/). */
  best?: { metric: string; value: number; step: number };
  /** With train.early_stop: when and why the run stopped before its last step. */
  stopped?: { step: number; reason: string };
}

/** File of a trained model student (student.arch onnx) in <run>/student/ and <run>/best/: the model itself, retrained. */
export const MODEL_STUDENT_FILE = 'model.onnx';

/** What a run trains: a kennis student spec, or a user's ONNX model (student.arch onnx). */
type RunStudent =
  | { kind: 'spec'; spec: StudentSpec; input: StudentInput }
  | { kind: 'model'; bytes: Uint8Array; label: string; freeze: string[]; input: StudentInput };

/** The recipe's student, sized from the cache (a model student is read from student.path). */
function studentOf(loaded: LoadedRecipe, cache: VerifiedCache): RunStudent {
  const section = loaded.recipe.student;
  if (section?.arch !== 'onnx') return { kind: 'spec', ...studentSpecFor(section, cache.manifest, cache.dir) };
  if (!section.path) throw new RecipeError(`student.arch onnx needs student.path, the ONNX model to train; e.g. student.path=my-student.onnx`);
  const label = resolveFrom(loaded, section.path);
  const bytes = readRegularFileSync(label, (why) => new RecipeError(`student.path '${section.path}' ${why}; set it to an ONNX model file`));
  return { kind: 'model', bytes: new Uint8Array(bytes), label, freeze: section.freeze ?? [], input: studentInputOf(cache.manifest, cache.dir) };
}

/** A model student trains on onnxruntime only (its gradients are ONNX graphs). */
async function createModelTrainer(t: LoadedRecipe['recipe']['train'], setup: ModelTrainerSetup, student: Extract<RunStudent, { kind: 'model' }>): Promise<StudentTrainer> {
  if (t.backend !== 'auto' && t.backend !== 'onnxruntime') {
    throw new RecipeError(`student.arch onnx trains on the onnxruntime backend, not ${t.backend}; set train.backend=onnxruntime (or auto)`);
  }
  return OnnxTrainer.fromModel(setup, student.bytes, student.label, { providers: t.providers, freeze: student.freeze });
}

/** Subdirectory of a run with the weights of its best evaluation (train.select_best). */
export const BEST_DIR = 'best';

/** Options of one training run. */
export interface TrainOptions {
  /** Continue from the latest checkpoint in the run directory. */
  resume?: boolean;
  /** Show progress on stderr. */
  progress?: boolean;
  /** Replace an earlier run in output.dir (otherwise such a run is refused, so nothing is lost). */
  overwrite?: boolean;
  /** With resume: continue even though the recipe changed what is trained (otherwise refused, naming the keys). */
  allowRecipeChange?: boolean;
  /** Called after each optimizer step (tests use it to stop at chosen points). */
  onStep?: (step: number) => void;
  /** Receives the run's messages (start, resume, evaluations without a progress bar); default: none (a library stays quiet). */
  onLog?: (message: string) => void;
  /** Receives one-line warnings (no evaluation split, a crashed run's lock taken over); default: none. */
  onWarning?: (message: string) => void;
}

/** Everything a run sets up before its first step. */
interface RunSetup {
  recipe: LoadedRecipe['recipe'];
  outDir: string;
  /** The locked output directory (released when the run ends). */
  runDir: RunDir;
  cache: VerifiedCache;
  evalCache: VerifiedCache | undefined;
  student: RunStudent;
  input: StudentInput;
  trainer: StudentTrainer;
  loader: CacheLoader;
  columns: string[];
  totalSteps: number;
  schedule: (step: number) => number;
  sink: MetricsSink;
  checkpoints: string;
  position: TrainPosition;
  resumedFrom?: number;
  /** Best step so far and early-stopping state (restored on --resume). */
  selection: SelectionState;
  /** The last evaluation and its step (the final one is not repeated after an early stop). */
  lastEval?: { step: number; metrics: EvalMetrics };
  /** Why and when early stopping ended the run. */
  stopped?: { step: number; reason: string };
}

/** Trains the recipe's student from its cache alone; the teacher is never loaded. */
export async function train(loaded: LoadedRecipe, options: TrainOptions = {}): Promise<TrainSummary> {
  // metrics, TensorBoard events, checkpoints and the student all live under output.dir
  return withFileErrors({ setting: 'output.dir', rerun: 'rerun with --resume' }, () => trainIn(loaded, options));
}

async function trainIn(loaded: LoadedRecipe, options: TrainOptions): Promise<TrainSummary> {
  const run = await setup(loaded, options);
  try {
    const started = performance.now();
    const startSamples = run.position.samples;
    await loop(run, options);
    const summary = await finish(run, (performance.now() - started) / 1000, run.position.samples - startSamples);
    run.sink.board.hparamsEnd('success');
    return summary;
  } catch (e) {
    run.sink.board.hparamsEnd('failure');
    throw e;
  } finally {
    run.sink.close();
    run.trainer.dispose();
    await run.runDir.release();
  }
}

/** Opens the caches, the output directory, the trainer and its starting point (a checkpoint on --resume). */
async function setup(loaded: LoadedRecipe, options: TrainOptions): Promise<RunSetup> {
  const { recipe } = loaded;
  const t = recipe.train;
  if (t.eval_split === recipe.dataset.split) {
    throw new TrainError(`train.eval_split is '${t.eval_split}', the split being trained on; evaluate on held-out data (validation or test)`);
  }
  checkRunFlags(options);
  const onLog = options.onLog ?? (() => undefined);
  const onWarning = options.onWarning ?? (() => undefined);
  const cache = await openVerifiedCache(loaded);
  const evalCache = await openEvalCache(loaded, onWarning);
  const student = studentOf(loaded, cache);
  const { input } = student;
  const loss: KdLossOptions = {
    alpha: recipe.distill.alpha, temperature: recipe.distill.temperature, divergence: recipe.distill.divergence,
    beta: recipe.distill.beta, tail: recipe.distill.tail,
  };
  const common = {
    input, manifest: cache.manifest, loss, seed: recipe.student!.seed, threads: t.threads,
    optimizer: { kind: t.optimizer, lr: t.lr, weightDecay: t.weight_decay, momentum: t.momentum, clipNorm: t.clip_norm },
  };
  const trainer = student.kind === 'spec' ? await createTrainer(t, { ...common, spec: student.spec }) : await createModelTrainer(t, common, student);
  let runDir: RunDir | undefined;
  try {
    const outDir = resolve(loaded.baseDir, recipe.output.dir);
    runDir = await openRunDir(outDir, recipe, { resume: options.resume ?? false, overwrite: options.overwrite ?? false, allowRecipeChange: options.allowRecipeChange ?? false, onWarning });
    const checkpoints = join(outDir, 'checkpoints');
    onLog(`kennis train: ${student.kind === 'spec' ? `${student.spec.arch} student` : `student ${student.label}`}, ${trainer.parameterCount().toLocaleString('en-US')} parameters, backend ${trainer.backend}${typeof trainer.threads === 'number' ? ` (${trainer.threads} thread${trainer.threads === 1 ? '' : 's'})` : ''}, cache ${cache.dir}`);
    // student.init (e.g. teacher_svd) replaces the seeded random weights; a resumed run's checkpoint replaces both
    const init = student.kind === 'spec' ? initialStudentWeights(loaded, student.spec) : undefined;
    if (init) trainer.setWeights(init);
    let position: TrainPosition = { step: 0, epoch: 0, batchInEpoch: 0, samples: 0 };
    let selection: SelectionState = {};
    let resumedFrom: number | undefined;
    if (options.resume) {
      // a checkpoint of another student (or a damaged one) is refused before any weight is set
      const shapes = Object.fromEntries(Object.entries(trainer.getWeights()).map(([n, w]) => [n, w.shape]));
      const ckpt = loadLatestCheckpoint(checkpoints, { weights: shapes });
      if (ckpt) {
        trainer.setWeights(ckpt.weights);
        trainer.loadOptimizerState(ckpt.optimizer);
        position = ckpt.position;
        selection = ckpt.selection ?? {};
        resumedFrom = position.step;
        await truncateMetrics(join(outDir, 'metrics.jsonl'), position.step);
        onLog(`resuming from step ${position.step}`);
      } else {
        // killed before its first checkpoint: the run starts over, and so does its log
        await truncateMetrics(join(outDir, 'metrics.jsonl'), 0);
        onLog(`no checkpoint in ${checkpoints} yet: the run starts over from step 0`);
      }
    }
    await runDir.recordRecipe();
    const columns = trainingColumns(cache.manifest, input);
    const loader = new CacheLoader(cache.dir, cache.manifest, { columns, batchSize: t.batch_size, shuffleBuffer: t.shuffle_buffer, seed: t.seed });
    const totalSteps = t.max_steps ?? Math.max(1, Math.floor((t.epochs * loader.batchesPerEpoch) / t.grad_accum));
    const schedule = t.schedule === 'cosine' ? cosineWithWarmup({ lr: t.lr, warmupSteps: Math.min(t.warmup_steps, totalSteps - 1), totalSteps }) : constant(t.lr);
    const progress = options.progress ? createProgress({ total: totalSteps, unit: 'steps', label: 'train' }) : undefined;
    const sink = new MetricsSink(outDir, progress, onLog);
    describeRun(sink, recipe, student, trainer, cache.manifest.targets.seqLen !== undefined);
    return {
      recipe, outDir, runDir, cache, evalCache, student, input, trainer, loader, columns, totalSteps, schedule, sink, checkpoints, position, selection,
      ...(resumedFrom !== undefined ? { resumedFrom } : {}),
    };
  } catch (e) {
    trainer.dispose();
    await runDir?.release();
    throw e;
  }
}

/**
 * TensorBoard's Graphs tab gets the student's ONNX graph (its inference part, with the starting
 * weights), and its HParams tab the recipe's values with the metrics to compare runs by.
 */
function describeRun(sink: MetricsSink, recipe: LoadedRecipe['recipe'], student: RunStudent, trainer: StudentTrainer, sequence: boolean): void {
  sink.board.graph(graphDefFromOnnx(student.kind === 'spec'
    ? studentModel(student.spec, trainer.getWeights(), { inputName: student.input.column })
    : decodeModel(student.bytes)));
  const headline = sequence ? 'eval/bits_per_byte' : 'eval/accuracy';
  sink.board.hparams(flattenHParams(recipe), {
    metrics: [
      { tag: headline, dataset: 'validation' }, { tag: 'eval/loss', dataset: 'validation' },
      { tag: 'eval/kl_to_teacher', dataset: 'validation' }, { tag: 'loss', dataset: 'training' },
    ],
  });
}

/** Optimizer steps until the run's last one, with logging, evaluation and checkpoints on their cadences. */
async function loop(run: RunSetup, options: TrainOptions): Promise<void> {
  const { recipe, trainer, loader, totalSteps, sink, position } = run;
  const t = recipe.train;
  const tokensPerRow = run.cache.manifest.targets.seqLen ?? 1;
  const started = performance.now();
  const startSamples = position.samples;
  let windowStart = performance.now();
  let windowSamples = 0;
  let micro: LoaderBatch[] = [];
  // per-phase wall time: waiting for data, the step itself, evaluation and checkpoints
  const phases = new PhaseTimes();
  let waitStart = performance.now();
  while (position.step < totalSteps) {
    for await (const batch of loader.epoch(position.epoch, position.batchInEpoch)) {
      phases.add('data', performance.now() - waitStart);
      micro.push(batch);
      position.batchInEpoch++;
      if (micro.length < t.grad_accum) { waitStart = performance.now(); continue; }
      const lr = run.schedule(position.step);
      const r = await phases.time('step', () => trainer.step(micro, lr, position.step));
      // the step skipped its update (step.ts), so the weights and the last checkpoint are still good
      if (!Number.isFinite(r.loss)) {
        throw new TrainError(`training loss is ${r.loss} at step ${position.step + 1} (gradient norm ${r.gradNorm}): the run diverged or a batch holds non-finite values; ` +
          'lower train.lr or set train.clip_norm, check the cache with kennis cache verify, and resume from the last checkpoint with --resume --allow-recipe-change');
      }
      const rows = micro.reduce((n, b) => n + b.size, 0);
      micro = [];
      position.step++;
      position.samples += rows;
      windowSamples += rows;
      if (position.step % t.log_every === 0 || position.step === totalSteps) {
        const secs = (performance.now() - windowStart) / 1000;
        sink.record(position.step, {
          loss: r.loss, ce_loss: r.ce, kd_loss: r.kd, lr, grad_norm: r.gradNorm,
          samples_per_second: windowSamples / secs, tokens_per_second: (windowSamples * tokensPerRow) / secs,
          ...memoryScalars(trainer.memory?.()), ...phases.scalars(t.log_every),
        });
        windowStart = performance.now();
        windowSamples = 0;
      }
      sink.progressAt(position.step, { loss: +r.loss.toFixed(4), 'rows/s': Math.round((position.samples - startSamples) / ((performance.now() - started) / 1000)) });
      if (t.histogram_every > 0 && position.step % t.histogram_every === 0) {
        sink.board.histograms(Object.fromEntries(Object.entries(trainer.getWeights()).map(([k, w]) => [`weights/${k}`, w.data])), position.step);
        const grads = trainer.lastGradients?.();
        if (grads) sink.board.histograms(Object.fromEntries(Object.entries(grads).map(([k, g]) => [`gradients/${k}`, g])), position.step);
      }
      if (position.step < totalSteps) {
        if (t.eval_every > 0 && position.step % t.eval_every === 0) await phases.time('eval', () => evaluateRun(run));
        if (t.checkpoint_every > 0 && position.step % t.checkpoint_every === 0) await phases.time('checkpoint', () => checkpoint(run));
        if (run.stopped) {
          sink.log(`early stop at step ${position.step}: ${run.stopped.reason}`);
          return;
        }
      }
      options.onStep?.(position.step);
      if (position.step >= totalSteps) return;
      waitStart = performance.now();
    }
    // an epoch's tail that does not fill grad_accum micro-batches is dropped, as DataLoader's drop_last
    micro = [];
    position.epoch++;
    position.batchInEpoch = 0;
  }
}

/** The final evaluation, checkpoint and saved student, and the run's summary. */
async function finish(run: RunSetup, seconds: number, samples: number): Promise<TrainSummary> {
  const finalEval = run.lastEval?.step === run.position.step ? run.lastEval.metrics : await evaluateRun(run);
  await checkpoint(run);
  await saveRunStudent(run, 'student');
  const { position } = run;
  return {
    outputDir: run.outDir, steps: position.step, samples: position.samples,
    tokens: position.samples * (run.cache.manifest.targets.seqLen ?? 1), seconds,
    samplesPerSecond: samples / seconds, backend: run.trainer.backend, parameters: run.trainer.parameterCount(),
    ...(run.resumedFrom !== undefined ? { resumedFrom: run.resumedFrom } : {}), finalEval,
    ...(run.selection.best ? { best: run.selection.best } : {}),
    ...(run.stopped ? { stopped: run.stopped } : {}),
  };
}

/** Held-out metrics at the current step, recorded in the sink; null without an eval cache. */
async function evaluateRun(run: RunSetup): Promise<EvalMetrics | null> {
  const { evalCache, recipe, position } = run;
  if (!evalCache) return null;
  const evalLoader = new CacheLoader(evalCache.dir, evalCache.manifest, { columns: run.columns, batchSize: Math.max(recipe.train.batch_size, 256), shuffleBuffer: 1, seed: 0 });
  const m = await run.trainer.evaluate(evalLoader, evalCache.manifest);
  const numbers = Object.fromEntries(Object.entries(m).filter((e): e is [string, number] => typeof e[1] === 'number'));
  run.sink.record(position.step, numbers, 'eval/', { split: recipe.train.eval_split });
  run.lastEval = { step: position.step, metrics: m };
  const t = recipe.train;
  const verdict = observeEvaluation(run.selection, position.step, m, {
    ...(t.select_best ? { selectBest: t.select_best } : {}), ...(t.early_stop ? { earlyStop: t.early_stop } : {}),
  });
  if (verdict.newBest && run.selection.best) {
    // the weights export takes by default; TensorBoard marks the step
    await saveRunStudent(run, BEST_DIR);
    await writeFileAtomic(join(run.outDir, BEST_DIR, 'best.json'), JSON.stringify(run.selection.best) + '\n');
    run.sink.record(position.step, { [run.selection.best.metric]: run.selection.best.value }, 'best/');
  }
  if (verdict.stop) run.stopped = { step: position.step, reason: verdict.stop };
  run.sink.log(`eval @ ${position.step}: ${Object.entries(m).filter(([k]) => k !== 'positions').map(([k, v]) => `${k}=${+v.toFixed(4)}`).join(' ')}`);
  return m;
}

/** Saves the student's current weights to `<run>/<name>`; a full or read-only disk is one line naming it. */
function saveRunStudent(run: RunSetup, name: string): Promise<void> {
  const dir = join(run.outDir, name);
  const { student } = run;
  return withFileErrors({ action: 'writing the student to', path: dir, rerun: 'rerun with --resume' }, async () => {
    if (student.kind === 'spec') return saveStudent(dir, student.spec, run.input.column, run.trainer.getWeights());
    // a model student is saved as itself: the same ONNX model with the trained initializers
    mkdirSync(dir, { recursive: true });
    await writeFileAtomic(join(dir, MODEL_STUDENT_FILE), modelWithWeights(student.bytes, run.trainer.getWeights()));
  });
}

function checkpoint(run: RunSetup): Promise<string> {
  return saveCheckpoint(run.checkpoints, {
    position: { ...run.position }, weights: run.trainer.getWeights(), optimizer: run.trainer.optimizerState(), selection: run.selection,
  });
}

/** The trainer of a `train.backend` preference. */
async function createTrainer(t: LoadedRecipe['recipe']['train'], setup: TrainerSetup): Promise<StudentTrainer> {
  // onnxruntime runs every kennis student at native speed; TensorFlow.js stays for those who ask
  if (t.backend === 'auto' || t.backend === 'onnxruntime') return OnnxTrainer.create(setup, { providers: t.providers });
  return TfjsTrainer.create(setup, t.backend);
}

async function openEvalCache(loaded: LoadedRecipe, onWarning: (message: string) => void): Promise<VerifiedCache | undefined> {
  const split = loaded.recipe.train.eval_split;
  try {
    return await openVerifiedCache(withSplit(loaded, split));
  } catch (e) {
    onWarning(`no evaluation (${(e as Error).message})`);
    return undefined;
  }
}

/** On resume, drops metric lines past the checkpoint so the file reads as one uninterrupted run. */
async function truncateMetrics(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8').split('\n').filter((l) => l && (stepOf(l) ?? Infinity) <= step);
  // atomic: a run killed while resuming must not lose the lines it keeps
  await writeFileAtomic(file, kept.map((l) => l + '\n').join(''));
}

/** The step of a metrics line, or undefined for a line cut short by a kill. */
function stepOf(line: string): number | undefined {
  try {
    return (JSON.parse(line) as { step: number }).step;
  } catch {
    return undefined;
  }
}
