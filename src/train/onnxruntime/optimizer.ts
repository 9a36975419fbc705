import { TrainError } from '../../core/errors/index.js';
import { GraphSession, runtimeTensor, type RuntimeTensor, type TeacherSessionOptions } from '../../core/runtime/index.js';
import type { OptimizerState } from '../optim/index.js';
import type { WeightMap } from '../students/index.js';
import type { OptimizerSettings } from '../trainer.js';
import { slotNames, updateGraph, updateScalars, type ParamInfo } from './optimizer-graph.js';

/** A float32 tensor with a spare of the same shape: runs read `current` and write `spare`, then swap. */
class PingPong {
  current: RuntimeTensor;
  spare: RuntimeTensor;

  constructor(shape: readonly number[], initial?: Float32Array) {
    const n = shape.reduce((a, b) => a * b, 1);
    this.current = runtimeTensor('float32', initial ? Float32Array.from(initial) : new Float32Array(n), shape);
    this.spare = runtimeTensor('float32', new Float32Array(n), shape);
  }

  swap(): void {
    [this.current, this.spare] = [this.spare, this.current];
  }

  get data(): Float32Array {
    return this.current.data as Float32Array;
  }
}

/**
 * Parameters and optimizer slots held as onnxruntime tensors between steps, updated by one
 * fused update graph that writes into pre-allocated spare buffers (no per-step allocation or
 * copy of the weights). State and weights convert to the tfjs backend's plain formats.
 */
export class OnnxOptimizer {
  private t = 0;

  private constructor(
    readonly params: readonly ParamInfo[],
    private readonly settings: OptimizerSettings,
    private readonly session: GraphSession,
    private readonly weights: Map<string, PingPong>,
    private readonly slots: Map<string, PingPong>,
  ) {}

  /** Builds the update session; weights start at `initial` (kennis names, all of `params`). */
  static async create(params: readonly ParamInfo[], settings: OptimizerSettings, initial: WeightMap, options: TeacherSessionOptions = {}): Promise<OnnxOptimizer> {
    const session = await GraphSession.create(updateGraph(params, settings), `${settings.kind} update`, (m) => new TrainError(m), options);
    const weights = new Map(params.map((p) => [p.name, new PingPong(p.shape, initial[p.name]!.data)]));
    const slots = new Map(params.flatMap((p) => slotNames(settings).map((s) => [`${p.name}/${s}`, new PingPong(p.shape)] as const)));
    return new OnnxOptimizer(params, settings, session, weights, slots);
  }

  /** Steps taken. */
  get stepCount(): number {
    return this.t;
  }

  /** The current weights as tensors to feed (valid until the next step). */
  weightFeeds(): Record<string, RuntimeTensor> {
    const out: Record<string, RuntimeTensor> = {};
    for (const [name, w] of this.weights) out[name] = w.current;
    return out;
  }

  /** One update with gradient sums `grads` (by parameter name) times `gradScale`, at learning rate `lr`. */
  async step(grads: Readonly<Record<string, RuntimeTensor>>, lr: number, gradScale: number): Promise<void> {
    if (!Number.isFinite(lr) || lr < 0) throw new TrainError(`learning rate must be a finite number >= 0, got ${lr}; check the optimizer lr and schedule`);
    const feeds: Record<string, RuntimeTensor> = {};
    const fetches: Record<string, RuntimeTensor> = {};
    for (const [name, t] of Object.entries(updateScalars(this.settings, lr, this.t + 1, gradScale))) feeds[name] = runtimeTensor(t.type, t.data, t.dims);
    for (const [name, w] of this.weights) {
      feeds[name] = w.current;
      feeds[`grad.${name}`] = grads[name]!;
      fetches[`new.${name}`] = w.spare;
    }
    for (const [name, s] of this.slots) {
      feeds[name] = s.current;
      fetches[`new.${name}`] = s.spare;
    }
    await this.session.run(feeds, fetches);
    // only a finished update counts: a failed run leaves weights, slots and the step count as they were
    this.t += 1;
    for (const w of this.weights.values()) w.swap();
    for (const s of this.slots.values()) s.swap();
  }

  /** Copies of the weights by kennis name. */
  getWeights(): WeightMap {
    const out: WeightMap = {};
    for (const p of this.params) out[p.name] = { shape: [...p.shape], data: Float32Array.from(this.weights.get(p.name)!.data) };
    return out;
  }

  /** Loads weights (every parameter, same shapes; checked by the caller). */
  setWeights(weights: WeightMap): void {
    for (const [name, w] of this.weights) w.data.set(weights[name]!.data);
  }

  /** The optimizer state in the tfjs optimizers' format (`<param>/<slot>` keys, parameter order). */
  state(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const [key, s] of this.slots) slots[key] = { shape: [...s.current.dims], data: Float32Array.from(s.data) };
    return { step: this.t, slots };
  }

  /** Restores a state() of the same parameters and optimizer kind. */
  loadState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new TrainError(`optimizer state step must be a non-negative integer, got ${state.step}; the checkpoint is corrupt`);
    }
    const missing = [...this.slots.keys()].filter((k) => !(k in state.slots));
    const extra = Object.keys(state.slots).filter((k) => !this.slots.has(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new TrainError(`optimizer state slots do not match: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]; resume with the same optimizer type and student architecture`);
    }
    for (const [key, s] of this.slots) {
      const given = state.slots[key]!;
      if (given.data.length !== s.data.length || given.shape.length !== s.current.dims.length || given.shape.some((d, i) => d !== s.current.dims[i])) {
        throw new TrainError(`optimizer state slot '${key}' has shape [${given.shape}] with ${given.data.length} values, expected [${s.current.dims}]; resume with the same student architecture`);
      }
    }
    for (const [key, s] of this.slots) s.data.set(state.slots[key]!.data);
    this.t = state.step;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
