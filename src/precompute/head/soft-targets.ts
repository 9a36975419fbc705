import { TeacherError } from '../../core/errors/index.js';
import type { TargetKind } from '../../cache/targets/spec.js';
import { GraphBuilder } from '../../core/onnx/builder.js';
import { graphValueNames, pruneToOutputs, renameValue, uniqueIn } from '../../core/onnx/graph-utils.js';
import { cast, reduce } from '../../core/onnx/ops.js';
import { decodeModel, encodeModel } from '../../core/onnx/proto.js';
import { DataType, type ModelProto } from '../../core/onnx/types.js';
import { inverseCdfSample } from './sampling.js';
import { valueInfoDims, type Dim } from '../../core/onnx/tensor.js';

/** What the teacher output holds. */
export type TeacherOutputKind = 'logits' | 'logprobs' | 'probs';

/** Options for appendSoftTargetHead. */
export interface SoftTargetHeadOptions {
  /** full logits, top-k + logsumexp, or sampled ids. */
  kind: TargetKind;
  /** What the teacher output holds (default 'logits'); 'probs' (a final Softmax) is turned into log-probs. */
  outputKind?: TeacherOutputKind;
  /** Name of the teacher output to read (default: the first graph output). */
  output?: string;
  /** k for 'topk'. */
  k?: number;
  /** Draws per position for 'sampled'; the graph then takes input `uniforms` float32 [..., samples]. */
  samples?: number;
  /** Temperature of the 'sampled' draws (default 1); logsumexp is always at T = 1. */
  temperature?: number;
  /** For 'full': also return `logsumexp` (default false). */
  logsumexp?: boolean;
  /** Keep the teacher's other outputs (default false: they are dropped with the nodes only they need). */
  keepOtherOutputs?: boolean;
}

/** Name of the extra graph input of the 'sampled' head. */
export const UNIFORMS_INPUT = 'uniforms';

// Probabilities are clipped here before Log so exact zeros give a finite log-prob.
const TINY_PROB = 1e-30;

/** The output names the head produces, in order. */
export function softTargetOutputNames(opts: Pick<SoftTargetHeadOptions, 'kind' | 'logsumexp'>): string[] {
  switch (opts.kind) {
    case 'topk': return ['topk_logits', 'topk_ids', 'logsumexp'];
    case 'sampled': return ['sample_ids', 'logsumexp'];
    case 'full': return opts.logsumexp ? ['logits', 'logsumexp'] : ['logits'];
  }
}

/**
 * Appends nodes to a teacher so onnxruntime computes the soft targets itself and never returns
 * the full [..., V] logits for 'topk' / 'sampled'. Returns the new model bytes.
 */
export function appendSoftTargetHead(modelBytes: Uint8Array, opts: SoftTargetHeadOptions): Uint8Array {
  return encodeModel(appendSoftTargetHeadToModel(decodeModel(modelBytes), opts));
}

/** appendSoftTargetHead on a decoded model (mutates and returns it). */
export function appendSoftTargetHeadToModel(model: ModelProto, opts: SoftTargetHeadOptions): ModelProto {
  checkOptions(opts);
  const outputs = model.graph?.output ?? [];
  const wanted = opts.output ?? outputs[0]?.name;
  const info = outputs.find((o) => o.name === wanted);
  if (!info) throw new TeacherError(`teacher output '${wanted ?? ''}' not found; expected one of [${outputs.map((o) => o.name).join(', ')}]`);
  // the head's outputs take fixed names; if the teacher's value already has one (often 'logits'), move it aside
  if (softTargetOutputNames(opts).includes(info.name!)) {
    renameValue(model.graph!, info.name!, uniqueIn(graphValueNames(model.graph!), `kennis/${info.name}_teacher`));
  }
  const g = GraphBuilder.wrap(model);
  if (g.opset < 11) throw new TeacherError(`teacher opset ${g.opset} is too old for the soft-target head; expected opset >= 11, re-export the teacher`);
  const dims = valueInfoDims(info);
  const vocab = dims?.at(-1);
  if (dims?.length === 0) throw new TeacherError(`teacher output '${info.name}' is a scalar; expected [..., V] logits`);
  if (opts.kind === 'topk' && typeof vocab === 'number' && opts.k! > vocab) {
    throw new TeacherError(`topk k=${opts.k} exceeds the teacher's ${vocab} classes; expected k <= ${vocab}`);
  }
  // unnamed dynamic dims get shared names so all head outputs agree on their leading dims
  const lead: Dim[] | undefined = dims?.slice(0, -1).map((d, i) => d ?? `kennis_dim${i}`);
  const withLast = (n: number): Dim[] | undefined => (lead ? [...lead, n] : undefined);

  let x = toFloat32(g, info.name!, info.type?.tensorType?.elemType ?? DataType.FLOAT);
  if (opts.outputKind === 'probs') x = g.op('Log', [g.op('Max', [x, g.scalar(TINY_PROB)])], {}, { name: 'logprobs' });

  const head: { name: string; source: string; elem: 'float32' | 'int32'; dims: Dim[] | undefined }[] = [];
  const lse = (): void => {
    head.push({ name: 'logsumexp', source: logSumExpLastAxis(g, x, typeof vocab === 'number' ? vocab : undefined, dims?.length), elem: 'float32', dims: lead });
  };
  if (opts.kind === 'topk') {
    const [values, indices] = g.node('TopK', [x, g.int64s([opts.k!], 'k')], 2, { axis: -1, largest: 1, sorted: 1 });
    head.push({ name: 'topk_logits', source: values!, elem: 'float32', dims: withLast(opts.k!) });
    head.push({ name: 'topk_ids', source: cast(g, indices!, 'int32'), elem: 'int32', dims: withLast(opts.k!) });
    lse();
  } else if (opts.kind === 'sampled') {
    if (g.has(UNIFORMS_INPUT)) throw new TeacherError(`teacher graph already has a value named '${UNIFORMS_INPUT}', the sampled head's input; rename it in the teacher`);
    g.input(UNIFORMS_INPUT, 'float32', withLast(opts.samples!));
    const ids = inverseCdfSample(g, x, UNIFORMS_INPUT, opts.samples!, opts.temperature ?? 1);
    head.push({ name: 'sample_ids', source: ids, elem: 'int32', dims: withLast(opts.samples!) });
    lse();
  } else {
    head.push({ name: 'logits', source: x, elem: 'float32', dims: dims?.map((d, i) => d ?? `kennis_dim${i}`) });
    if (opts.logsumexp) lse();
  }

  const others = opts.keepOtherOutputs ? outputs.filter((o) => o !== info) : [];
  model.graph!.output = others;
  for (const h of head) {
    if (g.has(h.name)) {
      throw new TeacherError(`teacher graph already has a value named '${h.name}', which the soft-target head must output; rename it in the teacher`);
    }
    g.output(h.name, h.elem, h.dims, h.source);
  }
  pruneToOutputs(model.graph!);
  return model;
}

/**
 * logsumexp over the last axis in two levels: onnxruntime's ReduceLogSumExp adds the V exp terms
 * one after another in float32, an error of up to V * 2^-24 (3e-3 at V = 50,257; 1.9e-4 measured)
 * that the ghost bucket's tail mass inherits. Reshaped to [..., V/w, w] for a divisor w of V near
 * sqrt(V) (the largest one up to it), logsumexp of the blocks' logsumexps is the same value with an error of ~(w + V/w) * 2^-24,
 * and the reshape is a view, so no [..., V] intermediate is added (peak RSS stays as it was). Without
 * a static V and rank, or without such a divisor (a prime V), the plain op.
 */
function logSumExpLastAxis(g: GraphBuilder, x: string, vocab: number | undefined, rank: number | undefined): string {
  const width = vocab !== undefined && rank !== undefined ? blockWidth(vocab) : undefined;
  if (width === undefined) return reduce(g, 'ReduceLogSumExp', x, [-1], false);
  // Reshape's 0 keeps that input dim, so the leading (maybe dynamic) dims need no Shape op
  const grid = g.op('Reshape', [x, g.int64s([...Array<number>(rank! - 1).fill(0), vocab! / width, width], 'shape')]);
  return reduce(g, 'ReduceLogSumExp', reduce(g, 'ReduceLogSumExp', grid, [-1], false), [-1], false);
}

/** The largest divisor of V up to sqrt(V) if it is >= 8 (so both levels have >= 8 terms), else undefined (small or prime V). */
export function blockWidth(vocab: number): number | undefined {
  if (vocab < 256) return undefined;
  for (let d = Math.floor(Math.sqrt(vocab)); d >= 8; d--) if (vocab % d === 0) return d;
  return undefined;
}

function checkOptions(opts: SoftTargetHeadOptions): void {
  const posInt = (v: number | undefined): boolean => v !== undefined && Number.isInteger(v) && v >= 1;
  if (opts.kind === 'topk' && !posInt(opts.k)) throw new TeacherError(`soft-target head 'topk' expected an integer k >= 1, got ${opts.k}`);
  if (opts.kind === 'sampled' && !posInt(opts.samples)) {
    throw new TeacherError(`soft-target head 'sampled' expected an integer samples >= 1, got ${opts.samples}`);
  }
  const t = opts.temperature ?? 1;
  if (!(Number.isFinite(t) && t > 0)) throw new TeacherError(`soft-target head expected a temperature > 0, got ${opts.temperature}`);
}

function toFloat32(g: GraphBuilder, x: string, elemType: number): string {
  if (elemType === DataType.FLOAT) return x;
  if (elemType === DataType.FLOAT16 || elemType === DataType.BFLOAT16 || elemType === DataType.DOUBLE) return cast(g, x, 'float32');
  throw new TeacherError(`teacher output '${x}' has element type ${elemType}; expected float logits or probabilities`);
}
