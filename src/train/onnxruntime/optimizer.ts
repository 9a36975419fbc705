import { TrainError } from '../../core/errors/index.js';
import { GraphSession, runtimeTensor, type RuntimeTensor, type TeacherSessionOptions } from '../../core/runtime/index.js';
import type { OptimizerState } from '../optim/index.js';
import { sizeOf, type WeightMap } from '../students/index.js';
import type { OptimizerSettings } from '../trainer.js';
import { KernelArena } from './kernels/update-kernel.js';
import { scalarFeeds, slotNames, updateGraph, updateScalars, type ParamInfo, type UpdateScalars } from './optimizer-graph.js';

/** How the update runs: SIMD kernels in place (default), or the update graph in onnxruntime. */
export type UpdateMode = 'kernel' | 'graph';

/** Options of OnnxOptimizer.create. */
export interface OnnxOptimizerOptions extends TeacherSessionOptions {
  /** 'kernel' falls back to 'graph' when the buffers do not fit in one 32-bit WebAssembly memory (~4 GiB). */
  update?: UpdateMode;
  /** Sets of gradient buffers to allocate beside the weights (gradientSet(i)); at least 1. */
  gradientSets?: number;
}

/** Gradient buffers by parameter name. */
export type GradientSet = Record<string, RuntimeTensor>;

/** A weight or optimizer slot (`<param>/<slot>`) and its shape; stores get the weights first, then the slots. */
interface StoredTensor {
  name: string;
  shape: readonly number[];
}

/** Weights, slots and gradient buffers of every parameter, and the update applied to them. */
interface ParameterStore {
  readonly mode: UpdateMode;
  /** Current tensor of a weight or slot (`<param>/<slot>`). */
  tensor(name: string): RuntimeTensor;
  readonly gradientSets: GradientSet[];
  update(grads: Readonly<GradientSet>, scalars: UpdateScalars): Promise<void>;
  release(): Promise<void>;
}

/**
 * Parameters and optimizer slots held as onnxruntime tensors between steps, updated in place by
 * the SIMD kernels of kernels/update.wat over one WebAssembly memory that also holds the
 * gradient buffers (no per-step allocation, no copy of a weight, one pass over the memory), or,
 * for students too large for that memory, by the update graph into ping-pong buffers. Both give
 * the tfjs AdamW/SGD step bit for bit. State and weights convert to the tfjs backend's formats.
 */
export class OnnxOptimizer {
  private t = 0;

  private constructor(
    readonly params: readonly ParamInfo[],
    private readonly settings: OptimizerSettings,
    private readonly store: ParameterStore,
    private readonly slotKeys: readonly string[],
  ) {}

  /** Weights start at `initial` (kennis names, all of `params`). */
  static async create(params: readonly ParamInfo[], settings: OptimizerSettings, initial: WeightMap, options: OnnxOptimizerOptions = {}): Promise<OnnxOptimizer> {
    const { update = 'kernel', gradientSets = 1, ...sessionOptions } = options;
    const slots = params.flatMap((p) => slotNames(settings).map((s) => ({ name: `${p.name}/${s}`, shape: p.shape })));
    const buffers = [...params, ...slots];
    const store = (update === 'kernel' ? KernelStore.create(params, settings, buffers, initial, gradientSets) : undefined) ??
      await GraphStore.create(params, settings, buffers, initial, gradientSets, sessionOptions);
    return new OnnxOptimizer(params, settings, store, slots.map((s) => s.name));
  }

  /** Steps taken. */
  get stepCount(): number {
    return this.t;
  }

  /** How updates run ('graph' also when 'kernel' was asked for a student too large for it). */
  get mode(): UpdateMode {
    return this.store.mode;
  }

  /** The current weights as tensors to feed (valid until the next step, which may update them in place). */
  weightFeeds(): Record<string, RuntimeTensor> {
    return Object.fromEntries(this.params.map((p) => [p.name, this.store.tensor(p.name)]));
  }

  /** Pre-allocated gradient buffers for the step session to write into (set 0 is also where step() stages gradients from elsewhere). */
  gradientSet(i: number): GradientSet {
    const set = this.store.gradientSets[i];
    if (!set) throw new TrainError(`internal: gradient set ${i} of ${this.store.gradientSets.length} requested`);
    return set;
  }

  /** One update with gradient sums `grads` (by parameter name) times `gradScale`, at learning rate `lr`. */
  async step(grads: Readonly<GradientSet>, lr: number, gradScale: number): Promise<void> {
    if (!Number.isFinite(lr) || lr < 0) throw new TrainError(`learning rate must be a finite number >= 0, got ${lr}; check the optimizer lr and schedule`);
    await this.store.update(grads, updateScalars(this.settings, lr, this.t + 1, gradScale));
    // only a finished update counts: a failed run leaves the step count as it was
    this.t += 1;
  }

  /** Copies of the weights by kennis name. */
  getWeights(): WeightMap {
    return Object.fromEntries(this.params.map((p) => [p.name, { shape: [...p.shape], data: Float32Array.from(this.store.tensor(p.name).data as Float32Array) }]));
  }

  /** Loads weights (every parameter, same shapes; checked by the caller). */
  setWeights(weights: WeightMap): void {
    for (const p of this.params) (this.store.tensor(p.name).data as Float32Array).set(weights[p.name]!.data);
  }

  /** The optimizer state in the tfjs optimizers' format (`<param>/<slot>` keys, parameter order). */
  state(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    for (const key of this.slotKeys) {
      const s = this.store.tensor(key);
      slots[key] = { shape: [...s.dims], data: Float32Array.from(s.data as Float32Array) };
    }
    return { step: this.t, slots };
  }

  /** Restores a state() of the same parameters and optimizer kind. */
  loadState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new TrainError(`optimizer state step must be a non-negative integer, got ${state.step}; the checkpoint is corrupt`);
    }
    const missing = this.slotKeys.filter((k) => !(k in state.slots));
    const extra = Object.keys(state.slots).filter((k) => !this.slotKeys.includes(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new TrainError(`optimizer state slots do not match: missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]; resume with the same optimizer type and student architecture`);
    }
    for (const key of this.slotKeys) {
      const given = state.slots[key]!;
      const dims = this.store.tensor(key).dims;
      if (given.data.length !== this.store.tensor(key).data.length || given.shape.length !== dims.length || given.shape.some((d, i) => d !== dims[i])) {
        throw new TrainError(`optimizer state slot '${key}' has shape [${given.shape}] with ${given.data.length} values, expected [${dims}]; resume with the same student architecture`);
      }
    }
    for (const key of this.slotKeys) (this.store.tensor(key).data as Float32Array).set(state.slots[key]!.data);
    this.t = state.step;
  }

  async dispose(): Promise<void> {
    await this.store.release();
  }
}

/** Everything in one KernelArena; updates run the SIMD kernels in place. */
class KernelStore implements ParameterStore {
  readonly mode = 'kernel';

  private constructor(
    private readonly params: readonly ParamInfo[],
    private readonly settings: OptimizerSettings,
    private readonly arena: KernelArena,
    private readonly tensors: Map<string, RuntimeTensor>,
    readonly gradientSets: GradientSet[],
  ) {}

  /** undefined when the buffers (weights and slots, then `sets` gradient sets) do not fit in one WebAssembly memory. */
  static create(params: readonly ParamInfo[], settings: OptimizerSettings, buffers: readonly StoredTensor[], initial: WeightMap, sets: number): KernelStore | undefined {
    const gradients = Array.from({ length: Math.max(1, sets) }, () => params);
    const all: readonly StoredTensor[] = [...buffers, ...gradients.flat()];
    const arena = KernelArena.create(all.map((b) => sizeOf(b.shape)));
    if (!arena) return undefined;
    const tensorOf = (i: number): RuntimeTensor => runtimeTensor('float32', arena.views[i]!, all[i]!.shape);
    const tensors = new Map(buffers.map((b, i) => [b.name, tensorOf(i)]));
    for (const p of params) (tensors.get(p.name)!.data as Float32Array).set(initial[p.name]!.data);
    const gradientSets = gradients.map((set, s) => Object.fromEntries(set.map((p, j) => [p.name, tensorOf(buffers.length + s * params.length + j)])));
    return new KernelStore(params, settings, arena, tensors, gradientSets);
  }

  tensor(name: string): RuntimeTensor {
    return this.tensors.get(name)!;
  }

  async update(grads: Readonly<GradientSet>, s: UpdateScalars): Promise<void> {
    const o = this.settings;
    for (const p of this.params) {
      const w = this.tensor(p.name).data as Float32Array;
      let g = grads[p.name]!.data as Float32Array;
      if (!this.arena.owns(g)) {
        const staged = this.gradientSets[0]![p.name]!.data as Float32Array;
        staged.set(g);
        g = staged;
      }
      if ('c1' in s) {
        this.arena.adamw(w, g, this.slot(p, 'm')!, this.slot(p, 'v')!, { ...s, decay: p.decayed && o.weightDecay !== 0 ? s.decay : 1 });
      } else {
        this.arena.sgd(w, g, this.slot(p, 'momentum'), { gscale: s.gscale, lr: s.lr, mu: Math.fround(o.momentum), wd: p.decayed ? Math.fround(o.weightDecay) : 0 });
      }
    }
  }

  async release(): Promise<void> {}

  private slot(p: ParamInfo, name: string): Float32Array | undefined {
    return this.tensors.get(`${p.name}/${name}`)?.data as Float32Array | undefined;
  }
}

/** A float32 tensor with a spare of the same shape: runs read `current` and write `spare`, then swap. */
class PingPong {
  current: RuntimeTensor;
  spare: RuntimeTensor;

  constructor(shape: readonly number[], initial?: Float32Array) {
    this.current = runtimeTensor('float32', initial ? Float32Array.from(initial) : new Float32Array(sizeOf(shape)), shape);
    this.spare = runtimeTensor('float32', new Float32Array(sizeOf(shape)), shape);
  }

  swap(): void {
    [this.current, this.spare] = [this.spare, this.current];
  }
}

/** Weights and slots in ping-pong tensors; updates run the update graph into the spares. */
class GraphStore implements ParameterStore {
  readonly mode = 'graph';

  private constructor(
    private readonly session: GraphSession,
    private readonly buffers: Map<string, PingPong>,
    private readonly weightNames: readonly string[],
    readonly gradientSets: GradientSet[],
  ) {}

  static async create(params: readonly ParamInfo[], settings: OptimizerSettings, buffers: readonly StoredTensor[], initial: WeightMap, sets: number, options: TeacherSessionOptions): Promise<GraphStore> {
    const session = await GraphSession.create(updateGraph(params, settings), `${settings.kind} update`, (m) => new TrainError(m), options);
    const pairs = new Map([
      ...params.map((p) => [p.name, new PingPong(p.shape, initial[p.name]!.data)] as const),
      ...buffers.slice(params.length).map((b) => [b.name, new PingPong(b.shape)] as const),
    ]);
    const gradientSets = Array.from({ length: Math.max(1, sets) }, () => Object.fromEntries(params.map((p) => [p.name, runtimeTensor('float32', new Float32Array(sizeOf(p.shape)), p.shape)])));
    return new GraphStore(session, pairs, params.map((p) => p.name), gradientSets);
  }

  tensor(name: string): RuntimeTensor {
    return this.buffers.get(name)!.current;
  }

  async update(grads: Readonly<GradientSet>, scalars: UpdateScalars): Promise<void> {
    const feeds: Record<string, RuntimeTensor> = {};
    const fetches: Record<string, RuntimeTensor> = {};
    for (const [name, t] of Object.entries(scalarFeeds(scalars))) feeds[name] = runtimeTensor(t.type, t.data, t.dims);
    for (const name of this.weightNames) feeds[`grad.${name}`] = grads[name]!;
    for (const [name, b] of this.buffers) {
      feeds[name] = b.current;
      fetches[`new.${name}`] = b.spare;
    }
    await this.session.run(feeds, fetches);
    // only a finished run swaps: a failed one leaves weights and slots as they were
    for (const b of this.buffers.values()) b.swap();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
