import { TrainError } from '../../core/errors/index.js';
import { appendGradients } from '../../core/onnx/grad/index.js';
import {
  DataType, GraphBuilder, decodeModel, defaultOpset, elemTypeOf, encodeModel, tensorFromArray, tensorToArray, tensorValueInfo, valueInfoDims,
  type ModelProto,
} from '../../core/onnx/index.js';
import type { PlainTensor } from '../../core/runtime/index.js';
import type { Manifest } from '../../cache/index.js';
import type { LoaderBatch } from '../loader/index.js';
import { defaultExcludeFromDecay } from '../optim/index.js';
import { checkTokenIds, initialWeights, paramDefs, validateSpec, type StudentSpec, type WeightMap } from '../students/index.js';
import { checkWeights } from '../students/onnx/index.js';
import type { StudentInput } from '../student-spec.js';
import { addLossHeads, addSumOfSquares, evalGraph, stepGraph, TRAIN_OPSET, type DropoutInput } from './graphs.js';
import { toFloat32, toInt32 } from './loss-feeds.js';
import type { LossGraphSpec } from './loss-graph.js';
import type { ParamInfo } from './optimizer-graph.js';

/**
 * What the onnxruntime trainer needs of a student, whether kennis built it from a spec or the
 * user brought it as an ONNX model: its two graphs, its parameters with their initial values,
 * and how a loader batch becomes its inputs.
 */
export interface StudentGraphs {
  /** Names the student in errors, e.g. 'mlp', 'model.onnx'. */
  label: string;
  /** Forward + loss + backward of a micro-batch (graphs.ts). */
  step: Uint8Array;
  /** Dropout masks the step graph takes, in draw order. */
  masks: readonly DropoutInput[];
  /** Forward + loss sums + metrics. */
  evaluation: Uint8Array;
  /** Trained parameters in order. */
  params: ParamInfo[];
  /** Their initial values. */
  initial: WeightMap;
  /** The student's input feeds of one batch. */
  inputs(batch: LoaderBatch): Record<string, PlainTensor>;
  /** Throws a TrainError unless `weights` are exactly this student's parameters. */
  checkWeights(weights: WeightMap): void;
}

/** A kennis student (mlp, cnn, gpt) from its spec; initial weights as the tfjs student draws them from `seed`. */
export function specGraphs(spec: StudentSpec, input: StudentInput, loss: LossGraphSpec, seed: number): StudentGraphs {
  validateSpec(spec);
  const defs = paramDefs(spec);
  const shapes = Object.fromEntries(defs.map((d) => [d.name, d.shape]));
  const step = stepGraph(spec, shapes, input.valuesPerRow, loss);
  return {
    label: spec.arch,
    step: step.bytes,
    masks: step.masks,
    evaluation: evalGraph(spec, shapes, input.valuesPerRow, loss),
    params: defs.map((d) => ({ name: d.name, shape: d.shape, decayed: !defaultExcludeFromDecay(d.name, d.shape) })),
    initial: initialWeights(defs, seed),
    inputs: (b) => {
      const col = columnOf(b, input);
      const dims = [b.size, input.valuesPerRow];
      if (spec.arch !== 'gpt') return { input: { type: 'float32', data: toFloat32(col), dims } };
      const ids = toInt32(col);
      checkTokenIds(ids, spec.vocab);
      return { input: { type: 'int32', data: ids, dims } };
    },
    checkWeights: (w) => checkWeights(spec, w),
  };
}

function columnOf(b: LoaderBatch, input: StudentInput): NonNullable<LoaderBatch['columns'][string]> {
  const col = b.columns[input.column];
  if (col === undefined) throw new TrainError(`batch has no column '${input.column}' for the student input; the cache does not match the trainer's manifest`);
  return col;
}

/** Options of a student brought as an ONNX model. */
export interface ModelStudentOptions {
  /** Initializers to keep fixed (by name). */
  freeze?: readonly string[];
}

/**
 * A student brought as an ONNX model (e.g. from torch.onnx.export): its float initializers of
 * rank >= 1 are the trained parameters (scalar constants and `freeze` stay fixed), its one data
 * input is fed from the cache's student input column (an `attention_mask` input, if any, with
 * ones), and its first output is the logits ([N, V] or [B, T, V]). A node on the way from a
 * parameter to the loss with no gradient rule is a TrainError naming the op and the node.
 */
export function modelGraphs(bytes: Uint8Array, label: string, manifest: Manifest, input: StudentInput, loss: LossGraphSpec, options: ModelStudentOptions = {}): StudentGraphs {
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new TrainError(`student model ${label} is not an ONNX model (${(e as Error).message.split('\n')[0]}); check student.path`);
  }
  const graph = model.graph ?? {};
  const modelOpset = defaultOpset(model) ?? 0;
  if (modelOpset < 13) throw new TrainError(`student model ${label} uses opset ${modelOpset}; kennis trains models of opset 13 or later, re-export it with opset_version=17`);
  // the training graphs need opset 16-17 ops (ScatterND with reduction, the gradients of Gather):
  // a model of opset 13-16 is trained at 17, where the ops a student uses kept their meaning
  // (except RoiAlign, whose default sampling changed at 16)
  const opset = Math.max(modelOpset, TRAIN_OPSET);
  const roiAlign = (graph.node ?? []).find((n) => n.opType === 'RoiAlign' && !n.domain);
  if (roiAlign && modelOpset < 16) throw new TrainError(`student model ${label} uses RoiAlign (node '${roiAlign.name ?? ''}') at opset ${modelOpset}, whose meaning changed at opset 16; re-export it with opset_version=17`);
  const frozen = new Set(options.freeze ?? []);
  const known = new Set((graph.initializer ?? []).map((t) => t.name!));
  const unknown = [...frozen].find((n) => !known.has(n));
  if (unknown !== undefined) throw new TrainError(`student.freeze names '${unknown}', which is not an initializer of ${label}; its initializers are ${[...known].slice(0, 12).join(', ')}${known.size > 12 ? ', ...' : ''}`);
  const params: ParamInfo[] = [];
  const initial: WeightMap = {};
  for (const t of graph.initializer ?? []) {
    const dims = (t.dims ?? []).map(Number);
    if (t.dataType !== DataType.FLOAT || dims.length === 0 || frozen.has(t.name!)) continue;
    params.push({ name: t.name!, shape: dims, decayed: !defaultExcludeFromDecay(t.name!, dims) });
    initial[t.name!] = { shape: dims, data: tensorToArray(t) as Float32Array };
  }
  if (params.length === 0) throw new TrainError(`student model ${label} has no float initializers to train (all frozen or none); export it with its weights as initializers`);
  const { vocab } = manifest.targets;
  const inputs = (graph.input ?? []).filter((i) => !known.has(i.name!));
  const data = inputs.filter((i) => i.name !== 'attention_mask');
  if (data.length !== 1) {
    throw new TrainError(`student model ${label} has inputs ${inputs.map((i) => i.name).join(', ')}; kennis feeds one input (plus an optional attention_mask) from cache column '${input.column}'`);
  }
  const x = data[0]!;
  const elem = elemTypeOf(x.type?.tensorType?.elemType ?? 0);
  if (elem !== 'float32' && elem !== 'int64' && elem !== 'int32') throw new TrainError(`student input '${x.name}' of ${label} has type ${elem}; kennis feeds float32, int64 or int32`);
  const declared = valueInfoDims(x)?.slice(1);
  const rowShape = declared && declared.every((d): d is number => typeof d === 'number') ? declared : [input.valuesPerRow];
  if (rowShape.reduce((a, b) => a * b, 1) !== input.valuesPerRow) {
    throw new TrainError(`student input '${x.name}' of ${label} takes [N,${rowShape.join(',')}] but cache column '${input.column}' has ${input.valuesPerRow} values per row; export the model with a matching input shape`);
  }
  const logits = graph.output?.[0]?.name;
  if (logits === undefined) throw new TrainError(`student model ${label} has no outputs; its first output must be the logits`);
  const last = valueInfoDims(graph.output![0]!)?.at(-1);
  if (typeof last === 'number' && last !== vocab) throw new TrainError(`student model ${label} outputs ${last} logits per position, the cache has ${vocab} classes; export a model with ${vocab} outputs`);
  const hasMask = inputs.some((i) => i.name === 'attention_mask');

  // parameters become graph inputs, so one session serves every step
  const build = (withGradients: boolean): Uint8Array => {
    const m = decodeModel(bytes);
    m.opsetImport = [...(m.opsetImport ?? []).filter((o) => o.domain && o.domain !== 'ai.onnx'), { domain: '', version: opset }];
    const gr = m.graph!;
    const trained = new Set(params.map((p) => p.name));
    gr.initializer = (gr.initializer ?? []).filter((t) => !trained.has(t.name!));
    gr.input = [...(gr.input ?? []).filter((i) => !trained.has(i.name!)), ...params.map((p) => tensorValueInfo(p.name, 'float32', p.shape))];
    const out = gr.output![0]!.name!;
    gr.output = [];
    const g = GraphBuilder.wrap(m, 'kennis/');
    const rows = g.op('Reshape', [out, g.int64s([-1, vocab], 'logit_rows')]);
    const objective = addLossHeads(g, rows, loss, !withGradients);
    if (withGradients) {
      const { gradients } = appendGradients(gr, { ...objective, wrt: params.map((p) => p.name), opset });
      addSumOfSquares(m, Object.values(gradients));
    }
    return encodeModel(m);
  };
  const type = elem;
  return {
    label,
    step: build(true),
    masks: [],
    evaluation: build(false),
    params,
    initial,
    inputs: (b) => {
      const col = columnOf(b, input);
      const dims = [b.size, ...rowShape];
      const n = dims.reduce((a, c) => a * c, 1);
      const feeds: Record<string, PlainTensor> = {
        [x.name!]: type === 'float32' ? { type, data: toFloat32(col), dims } : type === 'int32' ? { type, data: toInt32(col), dims } : { type, data: BigInt64Array.from(toInt32(col), (v) => BigInt(v)), dims },
      };
      if (hasMask) feeds.attention_mask = { type: 'int64', data: new BigInt64Array(n).fill(1n), dims };
      return feeds;
    },
    checkWeights: (w) => {
      for (const p of params) {
        const given = w[p.name];
        if (given === undefined || given.data.length !== p.shape.reduce((a, b) => a * b, 1)) {
          throw new TrainError(`weights lack parameter '${p.name}' of shape [${p.shape}] of ${label}; load weights saved from the same model`);
        }
      }
      const extra = Object.keys(w).find((k) => !params.some((p) => p.name === k));
      if (extra !== undefined) throw new TrainError(`weights have parameter '${extra}', which ${label} does not train; load weights saved from the same model`);
    },
  };
}

/** The model with its trained initializers replaced by `weights` (the trained model student, ready for inference). */
export function modelWithWeights(bytes: Uint8Array, weights: WeightMap): Uint8Array {
  const model = decodeModel(bytes);
  model.graph!.initializer = (model.graph!.initializer ?? []).map((t) => {
    const w = weights[t.name!];
    return w === undefined ? t : tensorFromArray(t.name!, w.data, w.shape);
  });
  return encodeModel(model);
}
