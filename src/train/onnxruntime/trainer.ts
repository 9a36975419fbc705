import { availableParallelism } from 'node:os';
import { TrainError } from '../../core/errors/index.js';
import { GraphSession, runtimeTensor, type PlainTensor, type RuntimeTensor, type TeacherSessionOptions } from '../../core/runtime/index.js';
import type { Manifest } from '../../cache/index.js';
import { metricsOfTotals, type EvalMetrics } from '../evaluate.js';
import type { CacheLoader, LoaderBatch } from '../loader/index.js';
import { resolveDistill } from '../losses/options.js';
import { dropoutMaskValues } from '../nn/index.js';
import { clipFactor, type OptimizerState } from '../optim/index.js';
import type { StepResult } from '../step.js';
import type { WeightMap } from '../students/index.js';
import type { StudentTrainer, TrainerSetup } from '../trainer.js';
import { metricSpec } from './graphs.js';
import { rowsOf, teacherFeeds, teacherTop1, type Rows } from './loss-feeds.js';
import type { LossGraphSpec } from './loss-graph.js';
import { accumulateGraph } from './optimizer-graph.js';
import { OnnxOptimizer, type GradientSet, type UpdateMode } from './optimizer.js';
import { modelGraphs, specGraphs, type ModelStudentOptions, type StudentGraphs } from './student-graphs.js';

/** Options of the onnxruntime trainer beyond the shared setup. */
export interface OnnxTrainerOptions {
  /** Execution providers in order of preference (default ['cpu']). */
  providers?: string[];
  /** How the optimizer update runs (default 'kernel'; 'graph' is the slower fallback, kept selectable for comparison). */
  update?: UpdateMode;
}

/** The setup of a trainer whose student is an ONNX model rather than a kennis spec. */
export type ModelTrainerSetup = Omit<TrainerSetup, 'spec'>;

const fail = (m: string): TrainError => new TrainError(m);

/**
 * A student trained inside onnxruntime: one session runs forward, KD loss and backward of a
 * micro-batch (gradients written into pre-allocated buffers), an accumulation session sums
 * micro-batches, and OnnxOptimizer's in-place SIMD update applies clipping scale and
 * AdamW/SGD. Weights and optimizer moments stay onnxruntime tensors between steps.
 */
export class OnnxTrainer implements StudentTrainer {
  readonly backend = 'onnxruntime';
  /** Intra-op threads of the sessions (0 in the setup: onnxruntime's default, one per core). */
  readonly threads: number;
  /** Created with the first step of more than one micro-batch. */
  private accumulator: GraphSession | undefined;
  /** Unmasked positions of the last step (its gradient sums divided by them are the mean's gradient). */
  private lastPositions = 1;

  private constructor(
    private readonly setup: ModelTrainerSetup,
    private readonly student: StudentGraphs,
    private readonly loss: LossGraphSpec,
    private readonly session: GraphSession,
    private readonly evalSession: GraphSession,
    private readonly optimizer: OnnxOptimizer,
    private readonly sessionOptions: TeacherSessionOptions,
    /** Gradient buffers: [0] holds the step's sums, [1] the next micro-batch. */
    private grads: [GradientSet, GradientSet],
    /** Where accumulation writes the new sums before they swap with grads[0]. */
    private spareSums: GradientSet,
  ) {
    this.threads = setup.threads > 0 ? setup.threads : availableParallelism();
  }

  /** A kennis student (setup.spec) with the initial weights the tfjs backend draws from setup.seed. */
  static async create(setup: TrainerSetup, options: OnnxTrainerOptions = {}): Promise<OnnxTrainer> {
    const loss = lossSpec(setup);
    return OnnxTrainer.start(setup, specGraphs(setup.spec, setup.input, loss, setup.seed), loss, options);
  }

  /**
   * A student brought as ONNX model bytes (student.arch onnx): its float initializers are trained
   * from their stored values (`freeze` keeps some fixed); see modelGraphs for what it must look like.
   */
  static async fromModel(setup: ModelTrainerSetup, model: Uint8Array, label: string, options: OnnxTrainerOptions & ModelStudentOptions = {}): Promise<OnnxTrainer> {
    const loss = lossSpec(setup);
    return OnnxTrainer.start(setup, modelGraphs(model, label, setup.manifest, setup.input, loss, options), loss, options);
  }

  private static async start(setup: ModelTrainerSetup, student: StudentGraphs, loss: LossGraphSpec, options: OnnxTrainerOptions): Promise<OnnxTrainer> {
    // no spinning: four sessions take turns, and one's pool spinning after its run slowed the next
    // one's (threads 2, mlp 1200 batch 256: twice the CPU time per step with spinning)
    const sessionOptions: TeacherSessionOptions = { providers: options.providers ?? ['cpu'], spin: false, ...(setup.threads > 0 ? { threads: setup.threads } : {}) };
    const session = await GraphSession.create(student.step, `${student.label} training step`, fail, sessionOptions);
    const evalSession = await GraphSession.create(student.evaluation, `${student.label} evaluation`, fail, sessionOptions);
    // gradient sets: the step's sums, the next micro-batch's gradients, the accumulator's output
    const optimizer = await OnnxOptimizer.create(student.params, setup.optimizer, student.initial, { ...sessionOptions, gradientSets: 3, ...(options.update ? { update: options.update } : {}) });
    return new OnnxTrainer(setup, student, loss, session, evalSession, optimizer, sessionOptions, [optimizer.gradientSet(0), optimizer.gradientSet(1)], optimizer.gradientSet(2));
  }

  parameterCount(): number {
    return this.optimizer.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  }

  async step(micro: readonly LoaderBatch[], lr: number, step: number): Promise<StepResult> {
    let sum = 0, ce = 0, kd = 0, count = 0, sumsq = 0;
    for (const [i, b] of micro.entries()) {
      const rows = rowsOf(b, this.setup.manifest);
      const feeds = { ...this.optimizer.weightFeeds(), ...this.batchFeeds(b, rows, this.loss), ...this.maskFeeds(b, step) };
      // the first micro-batch writes the sums' buffers directly; later ones are added to them
      const target = this.grads[i === 0 ? 0 : 1];
      const fetches: Record<string, RuntimeTensor | null> = { sum: null, distill_sum: null, hard_sum: null, sumsq: null };
      for (const [name, t] of Object.entries(target)) fetches[`grad.${name}`] = t;
      const out = await this.session.run(feeds, fetches);
      sum += scalar(out.sum); kd += scalar(out.distill_sum); ce += scalar(out.hard_sum);
      count += rows.count;
      sumsq = i === 0 ? scalar(out.sumsq) : await this.accumulate();
    }
    const per = Math.max(count, 1);
    this.lastPositions = per;
    const norm = Math.sqrt(sumsq) / per;
    const clip = this.setup.optimizer.clipNorm;
    // a non-finite norm means a diverged step: skip the update rather than poison the weights (step.ts)
    if (Number.isFinite(norm)) await this.optimizer.step(this.grads[0], lr, clipFactor(norm, clip > 0 ? clip : Infinity) / per);
    return { loss: sum / per, ce: ce / per, kd: kd / per, gradNorm: norm, positions: count };
  }

  lastGradients(): Record<string, Float32Array> {
    // grads[0] holds the last step's gradient sums until the next step writes them
    return Object.fromEntries(Object.entries(this.grads[0]).map(([name, t]) => [name, Float32Array.from(t.data as Float32Array, (v) => v / this.lastPositions)]));
  }

  /** grads[0] += grads[1] (into fresh buffers, then swapped); returns the squared norm of the sums. */
  private async accumulate(): Promise<number> {
    this.accumulator ??= await GraphSession.create(accumulateGraph(this.optimizer.params), 'gradient accumulation', fail, this.sessionOptions);
    const [acc, grad] = this.grads;
    const feeds: Record<string, RuntimeTensor> = {};
    const fetches: Record<string, RuntimeTensor | null> = { sumsq: null };
    for (const name of Object.keys(acc)) {
      feeds[`acc.${name}`] = acc[name]!;
      feeds[`grad.${name}`] = grad[name]!;
      fetches[`sum.${name}`] = this.spareSums[name]!;
    }
    const out = await this.accumulator.run(feeds, fetches);
    [this.grads[0], this.spareSums] = [this.spareSums, acc];
    return scalar(out.sumsq);
  }

  /** The student inputs, row inputs and teacher inputs of one batch. */
  private batchFeeds(b: LoaderBatch, rows: Rows, ...heads: LossGraphSpec[]): Record<string, RuntimeTensor> {
    const plain: Record<string, PlainTensor> = { ...this.student.inputs(b), ...rows.feeds };
    for (const h of heads) Object.assign(plain, teacherFeeds(b, this.setup.manifest, rows, h));
    return toRuntime(plain);
  }

  /** The dropout masks of step `step` (DropoutStream's draws: site n from Rng.derive(seed, step, n)). */
  private maskFeeds(b: LoaderBatch, step: number): Record<string, RuntimeTensor> {
    const seq = this.setup.manifest.targets.seqLen ?? 1;
    const out: Record<string, RuntimeTensor> = {};
    this.student.masks.forEach((m, site) => {
      const dims = m.shape.map((d) => (d === 'batch' ? b.size : d === 'seq' ? seq : d));
      out[m.name] = runtimeTensor('float32', dropoutMaskValues(this.setup.seed, step, site, dims.reduce((a, c) => a * c, 1), m.rate), dims);
    });
    return out;
  }

  async evaluate(loader: CacheLoader, manifest: Manifest): Promise<EvalMetrics> {
    const totals = { loss: 0, ce: 0, correct: 0, agree: 0, kl: 0, count: 0 };
    for await (const b of loader.epoch(0)) {
      const rows = rowsOf(b, manifest);
      const feeds = { ...this.optimizer.weightFeeds(), ...this.batchFeeds(b, rows, this.loss, metricSpec(this.loss)) };
      const full = manifest.targets.kind === 'full';
      const out = await this.evalSession.run(feeds, { sum: null, hard_sum: null, kl_sum: null, argmax: null, ...(full ? { teacher_argmax: null } : {}) });
      const argmax = out.argmax!.data as BigInt64Array;
      const top1 = full ? out.teacher_argmax!.data as BigInt64Array : teacherTop1(b, manifest, rows);
      for (let m = 0; m < rows.positions; m++) {
        if (rows.keep[m] !== 1) continue;
        const a = Number(argmax[m]);
        if (a === rows.labels[m]) totals.correct++;
        if (a === Number(top1[m])) totals.agree++;
      }
      totals.loss += scalar(out.sum); totals.ce += scalar(out.hard_sum); totals.kl += scalar(out.kl_sum); totals.count += rows.count;
    }
    return metricsOfTotals(totals, manifest);
  }

  getWeights(): WeightMap {
    return this.optimizer.getWeights();
  }

  setWeights(weights: WeightMap): void {
    this.student.checkWeights(weights);
    this.optimizer.setWeights(weights);
  }

  optimizerState(): OptimizerState {
    return this.optimizer.state();
  }

  loadOptimizerState(state: OptimizerState): void {
    this.optimizer.loadState(state);
  }

  dispose(): void {
    // sessions release asynchronously; nothing waits on them
    for (const s of [this.session, this.evalSession, this.accumulator]) void s?.release();
    void this.optimizer.dispose();
  }
}

/** The loss graph spec of a setup: its distillation options resolved and checked as the tfjs loss does. */
function lossSpec(setup: ModelTrainerSetup): LossGraphSpec {
  const { targets } = setup.manifest;
  const alpha = setup.loss.alpha ?? 1;
  if (!(alpha >= 0 && alpha <= 1)) throw new TrainError(`expected alpha in [0, 1], got ${alpha}`);
  return { kind: targets.kind, vocab: targets.vocab, teacherDtype: targets.valueDtype, ...resolveDistill(setup.loss, targets.kind), alpha, prefix: '' };
}

function scalar(t: RuntimeTensor | undefined): number {
  return Number(t!.data[0]);
}

function toRuntime(feeds: Record<string, PlainTensor>): Record<string, RuntimeTensor> {
  const out: Record<string, RuntimeTensor> = {};
  for (const [k, t] of Object.entries(feeds)) out[k] = runtimeTensor(t.type, t.data, t.dims);
  return out;
}
