import { availableParallelism } from 'node:os';
import { TrainError } from '../../core/errors/index.js';
import { GraphSession, runtimeTensor, type PlainTensor, type RuntimeTensor, type TeacherSessionOptions } from '../../core/runtime/index.js';
import type { Manifest } from '../../cache/index.js';
import type { EvalMetrics } from '../evaluate.js';
import type { CacheLoader, LoaderBatch } from '../loader/index.js';
import { resolveDistill } from '../losses/options.js';
import { dropoutMaskValues } from '../nn/index.js';
import { clipFactor, defaultExcludeFromDecay, type OptimizerState } from '../optim/index.js';
import type { StepResult } from '../step.js';
import { initialWeights, paramDefs, validateSpec, type WeightMap } from '../students/index.js';
import { checkWeights } from '../students/onnx/index.js';
import type { StudentTrainer, TrainerSetup } from '../trainer.js';
import { evalGraph, metricSpec, stepGraph, type DropoutInput } from './graphs.js';
import { rowsOf, teacherFeeds, teacherTop1, toFloat32, toInt32, type Rows } from './loss-feeds.js';
import type { LossGraphSpec } from './loss-graph.js';
import { accumulateGraph } from './optimizer-graph.js';
import { OnnxOptimizer } from './optimizer.js';

/** Options of the onnxruntime trainer beyond the shared setup. */
export interface OnnxTrainerOptions {
  /** Execution providers in order of preference (default ['cpu']). */
  providers?: string[];
}

const fail = (m: string): TrainError => new TrainError(m);

/**
 * A student trained inside onnxruntime: one session runs forward, KD loss and backward of a
 * micro-batch (gradients written into pre-allocated buffers), an accumulation session sums
 * micro-batches, and the fused update graph of OnnxOptimizer applies clipping scale and
 * AdamW/SGD. Weights and optimizer moments stay onnxruntime tensors between steps.
 */
export class OnnxTrainer implements StudentTrainer {
  readonly backend = 'onnxruntime';
  /** Intra-op threads of the sessions (0 in the setup: onnxruntime's default, one per core). */
  readonly threads: number;

  private constructor(
    private readonly setup: TrainerSetup,
    private readonly loss: LossGraphSpec,
    private readonly session: GraphSession,
    private readonly masks: readonly DropoutInput[],
    private readonly evalSession: GraphSession,
    private readonly optimizer: OnnxOptimizer,
    private readonly sessionOptions: TeacherSessionOptions,
    /** Gradient buffers: [0] holds the step's sums, [1] the next micro-batch or the next sum. */
    private grads: [Record<string, RuntimeTensor>, Record<string, RuntimeTensor>],
  ) {
    this.threads = setup.threads > 0 ? setup.threads : availableParallelism();
  }

  /** Builds the student (initial weights as the tfjs backend draws them from setup.seed) and its sessions. */
  static async create(setup: TrainerSetup, options: OnnxTrainerOptions = {}): Promise<OnnxTrainer> {
    validateSpec(setup.spec);
    const { manifest } = setup;
    const o = resolveDistill(setup.loss, manifest.targets.kind);
    const alpha = setup.loss.alpha ?? 1;
    if (!(alpha >= 0 && alpha <= 1)) throw new TrainError(`expected alpha in [0, 1], got ${alpha}`);
    const loss: LossGraphSpec = {
      kind: manifest.targets.kind, vocab: manifest.targets.vocab, teacherDtype: manifest.targets.valueDtype,
      ...o, alpha, prefix: '',
    };
    const defs = paramDefs(setup.spec);
    const shapes = Object.fromEntries(defs.map((d) => [d.name, d.shape]));
    const params = defs.map((d) => ({ name: d.name, shape: d.shape, decayed: !defaultExcludeFromDecay(d.name, d.shape) }));
    const sessionOptions: TeacherSessionOptions = { providers: options.providers ?? ['cpu'], ...(setup.threads > 0 ? { threads: setup.threads } : {}) };
    const step = stepGraph(setup.spec, shapes, setup.input.valuesPerRow, loss);
    const session = await GraphSession.create(step.bytes, `${setup.spec.arch} training step`, fail, sessionOptions);
    const evalSession = await GraphSession.create(evalGraph(setup.spec, shapes, setup.input.valuesPerRow, loss), `${setup.spec.arch} evaluation`, fail, sessionOptions);
    const optimizer = await OnnxOptimizer.create(params, setup.optimizer, initialWeights(defs, setup.seed), sessionOptions);
    const buffers = (): Record<string, RuntimeTensor> =>
      Object.fromEntries(params.map((p) => [p.name, runtimeTensor('float32', new Float32Array(p.shape.reduce((a, b) => a * b, 1)), p.shape)]));
    return new OnnxTrainer(setup, loss, session, step.masks, evalSession, optimizer, sessionOptions, [buffers(), buffers()]);
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
    const norm = Math.sqrt(sumsq) / per;
    const clip = this.setup.optimizer.clipNorm;
    // a non-finite norm means a diverged step: skip the update rather than poison the weights (step.ts)
    if (Number.isFinite(norm)) await this.optimizer.step(this.grads[0], lr, clipFactor(norm, clip > 0 ? clip : Infinity) / per);
    return { loss: sum / per, ce: ce / per, kd: kd / per, gradNorm: norm, positions: count };
  }

  /** grads[0] += grads[1] (into fresh buffers, then swapped); returns the squared norm of the sums. */
  private async accumulate(): Promise<number> {
    this.accumulator ??= await GraphSession.create(accumulateGraph(this.optimizer.params), 'gradient accumulation', fail, this.sessionOptions);
    const [acc, grad] = this.grads;
    this.spareSums ??= Object.fromEntries(Object.entries(acc).map(([n, t]) => [n, runtimeTensor('float32', new Float32Array(t.data.length), t.dims)]));
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

  private accumulator: GraphSession | undefined;
  private spareSums: Record<string, RuntimeTensor> | undefined;

  /** The student input, row inputs and teacher inputs of one batch. */
  private batchFeeds(b: LoaderBatch, rows: Rows, ...heads: LossGraphSpec[]): Record<string, RuntimeTensor> {
    const { manifest, input, spec } = this.setup;
    const col = b.columns[input.column];
    if (col === undefined) throw new TrainError(`batch has no column '${input.column}' for the student input; the cache does not match the trainer's manifest`);
    const x: PlainTensor = spec.arch === 'gpt'
      ? { type: 'int32', data: toInt32(col), dims: [b.size, input.valuesPerRow] }
      : { type: 'float32', data: toFloat32(col), dims: [b.size, input.valuesPerRow] };
    const plain: Record<string, PlainTensor> = { input: x, ...rows.feeds };
    for (const h of heads) Object.assign(plain, teacherFeeds(b, manifest, rows, h));
    return toRuntime(plain);
  }

  /** The dropout masks of step `step` (DropoutStream's draws: site n from Rng.derive(seed, step, n)). */
  private maskFeeds(b: LoaderBatch, step: number): Record<string, RuntimeTensor> {
    const seq = this.setup.manifest.targets.seqLen ?? 1;
    const out: Record<string, RuntimeTensor> = {};
    this.masks.forEach((m, site) => {
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
      const out = await this.evalSession.run(feeds, { sum: null, hard_sum: null, kl_sum: null, argmax: null });
      const argmax = out.argmax!.data as BigInt64Array;
      const top1 = teacherTop1(b, manifest, rows);
      for (let m = 0; m < rows.positions; m++) {
        if (rows.keep[m] !== 1) continue;
        const a = Number(argmax[m]);
        if (a === rows.labels[m]) totals.correct++;
        if (a === top1[m]) totals.agree++;
      }
      totals.loss += scalar(out.sum); totals.ce += scalar(out.hard_sum); totals.kl += scalar(out.kl_sum); totals.count += rows.count;
    }
    const n = Math.max(totals.count, 1);
    const ce = totals.ce / n;
    const metrics: EvalMetrics = {
      loss: totals.loss / n, ce, accuracy: totals.correct / n, errors: Math.round(totals.count - totals.correct),
      agreement: totals.agree / n, kl_to_teacher: totals.kl / n, positions: totals.count,
    };
    if (manifest.targets.seqLen) {
      if (manifest.targets.vocab === 256) metrics.bits_per_byte = ce / Math.LN2;
      metrics.perplexity = Math.exp(ce);
    }
    return metrics;
  }

  getWeights(): WeightMap {
    return this.optimizer.getWeights();
  }

  setWeights(weights: WeightMap): void {
    checkWeights(this.setup.spec, weights);
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

function scalar(t: RuntimeTensor | undefined): number {
  return Number(t!.data[0]);
}

function toRuntime(feeds: Record<string, PlainTensor>): Record<string, RuntimeTensor> {
  const out: Record<string, RuntimeTensor> = {};
  for (const [k, t] of Object.entries(feeds)) out[k] = runtimeTensor(t.type, t.data, t.dims);
  return out;
}
