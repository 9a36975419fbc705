import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { selectBackend, type BackendName } from './backend/index.js';
import { TrainError } from '../core/errors/index.js';
import { CacheLoader } from './loader/index.js';
import type { KdLossOptions } from './losses/index.js';
import { AdamW, SGD, constant, cosineWithWarmup, type Optimizer } from './optim/index.js';
import { createProgress } from '../core/progress/index.js';
import { recipeToYaml, type LoadedRecipe } from '../recipe/index.js';
import { buildStudent, type Student } from './students/index.js';
import { SummaryWriter } from './tensorboard/index.js';
import { disposeBatch, toTensors, trainingColumns, type TensorBatch } from './batch.js';
import { openVerifiedCache, withSplit, type VerifiedCache } from './caches.js';
import { loadLatestCheckpoint, saveCheckpoint, type TrainPosition } from './checkpoint.js';
import { evaluate, type EvalMetrics } from './evaluate.js';
import { saveStudent } from './save.js';
import { trainStep } from './step.js';
import { studentSpecFor } from './student-spec.js';
import { writeFileAtomic } from '../core/util/fs.js';

/** What a training run did; printed by `kennis train --json`. */
export interface TrainSummary {
  outputDir: string;
  steps: number;
  samples: number;
  tokens: number;
  seconds: number;
  samplesPerSecond: number;
  backend: BackendName;
  parameters: number;
  resumedFrom?: number;
  finalEval: EvalMetrics | null;
}

/** Options of one training run. */
export interface TrainOptions {
  /** Continue from the latest checkpoint in the run directory. */
  resume?: boolean;
  /** Show progress on stderr. */
  progress?: boolean;
  /** Replace an earlier run in output.dir (otherwise such a run is refused, so nothing is lost). */
  overwrite?: boolean;
  /** Called after each optimizer step (tests use it to stop at chosen points). */
  onStep?: (step: number) => void;
}

/** Trains the recipe's student from its cache alone; the teacher is never loaded. */
export async function train(loaded: LoadedRecipe, options: TrainOptions = {}): Promise<TrainSummary> {
  const { recipe } = loaded;
  const t = recipe.train;
  if (t.eval_split === recipe.dataset.split) {
    throw new TrainError(`train.eval_split is '${t.eval_split}', the split being trained on; evaluate on held-out data (validation or test)`);
  }
  const cache = await openVerifiedCache(loaded);
  const evalCache = await openEvalCache(loaded);
  const { spec, input } = studentSpecFor(recipe.student, cache.manifest, cache.dir);
  const backend = await selectBackend(t.backend, t.threads > 0 ? { threads: t.threads } : {});
  const outDir = resolve(loaded.baseDir, recipe.output.dir);
  if (!options.resume && existsSync(join(outDir, 'metrics.jsonl'))) {
    if (!options.overwrite) throw new TrainError(`output.dir ${outDir} already holds a run; pass --resume to continue it, --overwrite to replace it, or set output.dir`);
    for (const old of ['metrics.jsonl', 'tensorboard', 'checkpoints', 'student']) rmSync(join(outDir, old), { recursive: true, force: true });
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'recipe.yaml'), recipeToYaml(recipe));
  const student = buildStudent(spec, { seed: recipe.student!.seed });
  const optimizer = makeOptimizer(student, recipe.train);
  const ckptDir = join(outDir, 'checkpoints');
  const log = (m: string) => process.stderr.write(m + '\n');
  log(`kennis train: ${spec.arch} student, ${student.parameterCount().toLocaleString('en-US')} parameters, backend ${backend.name}${backend.name === 'wasm' ? ` (${backend.threads} thread${backend.threads === 1 ? '' : 's'})` : ''}, cache ${cache.dir}`);
  let position: TrainPosition = { step: 0, epoch: 0, batchInEpoch: 0, samples: 0 };
  let resumedFrom: number | undefined;
  if (options.resume) {
    const ckpt = loadLatestCheckpoint(ckptDir);
    if (ckpt) {
      student.setWeights(ckpt.weights);
      optimizer.loadState(ckpt.optimizer);
      position = ckpt.position;
      resumedFrom = position.step;
      await truncateMetrics(join(outDir, 'metrics.jsonl'), position.step);
      log(`resuming from step ${position.step}`);
    } else {
      // killed before its first checkpoint: the run starts over, and so does its log
      await truncateMetrics(join(outDir, 'metrics.jsonl'), 0);
    }
  }
  const columns = trainingColumns(cache.manifest, input);
  const loader = new CacheLoader(cache.dir, cache.manifest, { columns, batchSize: t.batch_size, shuffleBuffer: t.shuffle_buffer, seed: t.seed });
  const totalSteps = t.max_steps ?? Math.max(1, Math.floor((t.epochs * loader.batchesPerEpoch) / t.grad_accum));
  const schedule = t.schedule === 'cosine' ? cosineWithWarmup({ lr: t.lr, warmupSteps: Math.min(t.warmup_steps, totalSteps - 1), totalSteps }) : constant(t.lr);
  const loss: KdLossOptions = {
    alpha: recipe.distill.alpha, temperature: recipe.distill.temperature, divergence: recipe.distill.divergence,
    beta: recipe.distill.beta, tail: recipe.distill.tail,
  };
  const board = new SummaryWriter(join(outDir, 'tensorboard'));
  const tokensPerRow = cache.manifest.targets.seqLen ?? 1;
  const progress = options.progress ? createProgress({ total: totalSteps, unit: 'steps', label: 'train' }) : undefined;
  const started = performance.now();
  const startSamples = position.samples;
  let windowStart = performance.now();
  let windowSamples = 0;
  const runEval = async (step: number): Promise<EvalMetrics | null> => {
    if (!evalCache) return null;
    const evalLoader = new CacheLoader(evalCache.dir, evalCache.manifest, { columns, batchSize: Math.max(t.batch_size, 256), shuffleBuffer: 1, seed: 0 });
    const m = await evaluate(student, evalLoader, evalCache.manifest, input, loss);
    const record: Record<string, number> = {};
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number') record[`eval/${k}`] = v;
    board.scalars(record, step);
    appendFileSync(join(outDir, 'metrics.jsonl'), JSON.stringify({ step, split: recipe.train.eval_split, ...record }) + '\n');
    progress?.log(`eval @ ${step}: ${Object.entries(m).filter(([k]) => k !== 'positions').map(([k, v]) => `${k}=${+v.toFixed(4)}`).join(' ')}`);
    return m;
  };
  try {
    let micro: TensorBatch[] = [];
    outer: while (position.step < totalSteps) {
      for await (const batch of loader.epoch(position.epoch, position.batchInEpoch)) {
        micro.push(toTensors(batch, cache.manifest, input));
        position.batchInEpoch++;
        if (micro.length < t.grad_accum) continue;
        const lr = schedule(position.step);
        const r = trainStep(student, optimizer, micro, loss, lr, t.clip_norm, position.step);
        const rows = micro.reduce((n, b) => n + b.rows, 0);
        micro.forEach(disposeBatch);
        micro = [];
        position.step++;
        position.samples += rows;
        windowSamples += rows;
        if (position.step % t.log_every === 0 || position.step === totalSteps) {
          const secs = (performance.now() - windowStart) / 1000;
          const record = {
            loss: r.loss, ce_loss: r.ce, kd_loss: r.kd, lr, grad_norm: r.gradNorm,
            samples_per_second: windowSamples / secs, tokens_per_second: (windowSamples * tokensPerRow) / secs,
          };
          board.scalars(record, position.step);
          appendFileSync(join(outDir, 'metrics.jsonl'), JSON.stringify({ step: position.step, ...record }) + '\n');
          windowStart = performance.now();
          windowSamples = 0;
        }
        progress?.update(position.step, { loss: +r.loss.toFixed(4), 'rows/s': Math.round((position.samples - startSamples) / ((performance.now() - started) / 1000)) });
        if (t.eval_every > 0 && position.step % t.eval_every === 0 && position.step < totalSteps) await runEval(position.step);
        if (t.checkpoint_every > 0 && position.step % t.checkpoint_every === 0 && position.step < totalSteps) {
          await saveCheckpoint(ckptDir, { position: { ...position }, weights: student.getWeights(), optimizer: optimizer.state() });
        }
        options.onStep?.(position.step);
        if (position.step >= totalSteps) break outer;
      }
      // an epoch's tail that does not fill grad_accum micro-batches is dropped, as DataLoader's drop_last
      micro.forEach(disposeBatch);
      micro = [];
      position.epoch++;
      position.batchInEpoch = 0;
    }
    micro.forEach(disposeBatch);
    const finalEval = await runEval(position.step);
    await saveCheckpoint(ckptDir, { position: { ...position }, weights: student.getWeights(), optimizer: optimizer.state() });
    saveStudent(join(outDir, 'student'), spec, input.column, student.getWeights());
    progress?.finish();
    const seconds = (performance.now() - started) / 1000;
    const samples = position.samples - startSamples;
    return {
      outputDir: outDir, steps: position.step, samples: position.samples, tokens: position.samples * tokensPerRow, seconds,
      samplesPerSecond: samples / seconds, backend: backend.name, parameters: student.parameterCount(),
      ...(resumedFrom !== undefined ? { resumedFrom } : {}), finalEval,
    };
  } finally {
    board.close();
    optimizer.dispose();
    student.dispose();
  }
}

async function openEvalCache(loaded: LoadedRecipe): Promise<VerifiedCache | undefined> {
  const split = loaded.recipe.train.eval_split;
  try {
    return await openVerifiedCache(withSplit(loaded, split));
  } catch (e) {
    process.stderr.write(`warning: no evaluation (${(e as Error).message})\n`);
    return undefined;
  }
}

function makeOptimizer(student: Student, t: LoadedRecipe['recipe']['train']): Optimizer {
  if (t.optimizer === 'sgd') return new SGD(student.params, { lr: t.lr, momentum: t.momentum, weightDecay: t.weight_decay });
  return new AdamW(student.params, { lr: t.lr, weightDecay: t.weight_decay });
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
