// The one module in kennis that imports onnxruntime: everything else talks to `Teacher`.
import * as ort from 'onnxruntime-node';
import { TeacherError } from '../errors/index.js';
import type { TensorSignature } from '../onnx/types.js';

/** Element types kennis feeds to or reads from onnxruntime. */
export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array | Float64Array;

/** A plain tensor crossing the onnxruntime boundary. */
export interface PlainTensor {
  /** onnxruntime element type name, e.g. float32, int64. */
  type: string;
  /** Row-major values. */
  data: TensorData;
  /** Dimensions. */
  dims: number[];
}

/** How onnxruntime runs the teacher. */
export interface TeacherSessionOptions {
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads?: number;
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. */
  providers?: string[];
  /** Let idle onnxruntime threads busy-wait for the next op (default true, onnxruntime's own default); false leaves those cores to other threads. */
  spin?: boolean;
  /**
   * Keep onnxruntime's CPU memory arena (default true). The arena grows by powers of two and keeps
   * what it grew to: with 2 GiB of logits per call (V = 262,144, T = 2048) the second call took
   * peak RSS from 2.4 to 4.6 GiB; without it RSS stays at one call's 2.3 GiB.
   */
  memArena?: boolean;
}

/** onnxruntime session options from kennis's: providers, threads, spinning, memory arena. */
function ortSessionOptions(options: TeacherSessionOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: options.providers ?? ['cpu'],
    graphOptimizationLevel: 'all',
    // onnxruntime would also log the errors kennis reports itself as one line
    logSeverityLevel: 4,
    ...(options.spin === false ? { extra: { 'session.intra_op.allow_spinning': '0' } } : {}),
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    ...(options.memArena === false ? { enableCpuMemArena: false } : {}),
  };
}

/** An onnxruntime inference session with its signature read from the model itself. */
export class Teacher {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** Names the teacher in errors. */
    private readonly label: string,
    /** Model inputs as onnxruntime reports them. */
    readonly inputs: TensorSignature[],
    /** Model outputs as onnxruntime reports them. */
    readonly outputs: TensorSignature[],
  ) {}

  /** Loads model bytes into onnxruntime; a model it cannot parse is a TeacherError naming `label`. */
  static async create(model: Uint8Array, label: string, options: TeacherSessionOptions = {}): Promise<Teacher> {
    const sessionOptions = ortSessionOptions(options);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(model, sessionOptions);
    } catch (e) {
      const why = (e as Error).message.split('\n')[0]!.slice(0, 300);
      throw new TeacherError(`teacher '${label}' could not be loaded by onnxruntime (${why}); check that it is a complete ONNX model file`);
    }
    return new Teacher(session, label, session.inputMetadata.map(signature), session.outputMetadata.map(signature));
  }

  /**
   * Runs the model; returns the requested outputs (default all) as plain tensors. A failing run
   * is a TeacherError that names `what` (e.g. the dataset rows of the batch).
   */
  async run(feeds: Record<string, PlainTensor>, outputNames?: readonly string[], what = 'a batch'): Promise<Record<string, PlainTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = outputNames ? await this.session.run(ortFeeds, outputNames as string[]) : await this.session.run(ortFeeds);
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
      throw new TeacherError(`teacher '${this.label}' failed on ${what} (${why}); check that these rows fit the teacher's inputs (${describeFeeds(feeds)})`);
    }
    const out: Record<string, PlainTensor> = {};
    for (const [name, value] of Object.entries(results)) {
      const t = value as ort.Tensor;
      out[name] = { type: t.type, data: t.data as TensorData, dims: [...t.dims] };
      // data is copied out of the native buffer by onnxruntime-node, so the tensor can go
      t.dispose();
    }
    return out;
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

function signature(meta: ort.InferenceSession.ValueMetadata): TensorSignature {
  if (!meta.isTensor) return { name: meta.name, type: 'non-tensor', shape: [] };
  return { name: meta.name, type: meta.type, shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))) };
}

function describeFeeds(feeds: Record<string, PlainTensor>): string {
  return Object.entries(feeds).map(([name, t]) => `${name}: ${t.type} [${t.dims.join(',')}]`).join('; ');
}

/** Formats a signature list for error messages: `image: float32 [batch,784]`. */
export function describeSignature(list: readonly TensorSignature[]): string {
  return list.map((s) => `${s.name}: ${s.type} [${s.shape.join(',')}]`).join('; ');
}

/**
 * A tensor in onnxruntime's own type, so a training loop can feed the outputs of one run to the
 * next and hand pre-allocated buffers to `GraphSession.run` without copying through PlainTensor.
 */
export interface RuntimeTensor {
  /** onnxruntime element type name, e.g. float32, int64. */
  readonly type: string;
  /** Dimensions. */
  readonly dims: readonly number[];
  /** Row-major values; on cpu this is the very buffer onnxruntime reads and writes. */
  readonly data: TensorData;
  /** Releases the tensor. */
  dispose(): void;
}

/** Wraps `data` (not copied) as an onnxruntime tensor. */
export function runtimeTensor(type: PlainTensor['type'], data: TensorData, dims: readonly number[]): RuntimeTensor {
  return new ort.Tensor(type as ort.Tensor.Type, data as ort.Tensor.DataType, dims) as unknown as RuntimeTensor;
}

/**
 * An onnxruntime session over a graph kennis built itself (e.g. a training step): runs take and
 * return RuntimeTensors, and `fetches` may hold pre-allocated output tensors that onnxruntime
 * writes into in place (null: onnxruntime allocates). Failures throw `fail(message)`.
 */
export class GraphSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly label: string,
    private readonly fail: (message: string) => Error,
  ) {}

  /** Loads model bytes; `label` names the graph in errors. */
  static async create(model: Uint8Array, label: string, fail: (message: string) => Error, options: TeacherSessionOptions = {}): Promise<GraphSession> {
    const sessionOptions = ortSessionOptions(options);
    try {
      return new GraphSession(await ort.InferenceSession.create(model, sessionOptions), label, fail);
    } catch (e) {
      const why = firstLine(e);
      const providers = sessionOptions.executionProviders as string[];
      // a missing or unknown execution provider is a setting to fix, not a broken graph
      if (/backend not found|shared library|execution provider/i.test(why)) {
        throw fail(`onnxruntime-node cannot run execution providers [${providers.join(', ')}] here (${why}); use providers this install has, e.g. [cpu]`);
      }
      throw fail(`onnxruntime could not load the ${label} graph (${why})`);
    }
  }

  /** Input names of the graph. */
  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** Output names of the graph. */
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph; returns every fetched output (pre-allocated ones are the same objects). */
  async run(feeds: Record<string, RuntimeTensor>, fetches: Record<string, RuntimeTensor | null>): Promise<Record<string, RuntimeTensor>> {
    try {
      const out = await this.session.run(feeds as unknown as ort.InferenceSession.FeedsType, fetches as unknown as ort.InferenceSession.FetchesType);
      return out as unknown as Record<string, RuntimeTensor>;
    } catch (e) {
      throw this.fail(`onnxruntime failed to run the ${this.label} graph (${firstLine(e)})`);
    }
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}
