import { KennisError } from '../../core/errors/index.js';
import {
  DataType, GraphBuilder, attributeValue, decodeModel, defaultOpset, encodeModel, pruneToOutputs, tensorToArray,
  type GraphProto, type ModelProto, type NodeProto, type TensorProto,
} from '../../core/onnx/index.js';
import { toFloat16Bits } from '../../core/util/index.js';

/** Weight precisions `quantizeModel` writes. */
export type QuantizeMode = 'int8' | 'float16';

/**
 * How int8 weights run. `dynamic`: DynamicQuantizeLinear on the activations + MatMulInteger
 * (onnxruntime fuses it into one integer kernel); `dequantize`: DequantizeLinear of the int8
 * weight feeding the float MatMul (int8 on disk only). Conv weights always use `dequantize`.
 */
export type Int8Format = 'dynamic' | 'dequantize';

/** Options of quantizeModel. */
export interface QuantizeOptions {
  /** int8 only (default 'dynamic': measured fastest in onnxruntime-node 1.30 CPU, see scripts/bench/quantize.ts). */
  int8Format?: Int8Format;
}

/** One weight that was stored in lower precision. */
export interface QuantizedWeight {
  /** Initializer name in the source model. */
  name: string;
  /** Its dims. */
  shape: number[];
  /** The op that reads it (MatMul, Gemm, Conv, Gather; float16: any). */
  op: string;
}

/** What quantizeModel produced. */
export interface QuantizeResult {
  /** The rewritten model. */
  bytes: Uint8Array;
  /** The weights stored in int8 or float16, in graph order. */
  weights: QuantizedWeight[];
}

/** Metadata key naming the weight precision of a quantized model. */
export const QUANTIZATION_METADATA_KEY = 'kennis.quantization';

// float16: smaller float tensors (biases of a few classes, scalars) are left alone, they cost nothing
const FLOAT16_MIN_ELEMENTS = 16;
const FLOAT16_MAX = 65504;
const INT8_MAX = 127;

/**
 * Rewrites ONNX model bytes so its weights are stored in int8 or float16, runnable by onnxruntime.
 * int8: every MatMul/Gemm whose weight is a 2-D float32 initializer, every Conv with an
 * initializer kernel and every Gather from a 2-D initializer table (embeddings, per-row scales)
 * gets symmetric per-output-channel int8 weights (scale = max|w| / 127, zero point 0).
 * float16: every float32 initializer of at least 16 values that fits the float16 range is stored
 * as float16 and Cast back to float32 at load, so the graph computes as before.
 * A model with nothing to quantize is a KennisError.
 */
export function quantizeModel(modelBytes: Uint8Array, mode: QuantizeMode, opts: QuantizeOptions = {}): QuantizeResult {
  const model = decodeModel(modelBytes);
  const graph = model.graph;
  if (!graph?.node?.length) throw new KennisError('the model to quantize has no graph nodes; pass the bytes of an exported .onnx student');
  const weights = mode === 'int8' ? quantizeInt8(model, graph, opts.int8Format ?? 'dynamic') : storeFloat16(model, graph);
  if (weights.length === 0) {
    throw new KennisError(mode === 'int8'
      ? `model '${graph.name ?? ''}' has no quantizable weights (no MatMul, Gemm, Conv or Gather reading a float32 initializer); export without --quantize or use --quantize float16`
      : `model '${graph.name ?? ''}' has no float32 initializer of ${FLOAT16_MIN_ELEMENTS} or more values in the float16 range; export without --quantize`);
  }
  pruneToOutputs(graph);
  const format = mode === 'int8' ? `int8-${opts.int8Format ?? 'dynamic'}-per-channel` : 'float16-weights';
  model.metadataProps = [...(model.metadataProps ?? []).filter((p) => p.key !== QUANTIZATION_METADATA_KEY), { key: QUANTIZATION_METADATA_KEY, value: format }];
  return { bytes: encodeModel(model), weights };
}

/** Float32 initializers by name, excluding those also declared as graph inputs (callers may override them). */
function floatInitializers(graph: GraphProto): Map<string, TensorProto> {
  const inputs = new Set((graph.input ?? []).map((i) => i.name));
  const out = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) if (t.dataType === DataType.FLOAT && t.dataLocation !== 1 && !inputs.has(t.name)) out.set(t.name!, t);
  return out;
}

function intAttr(node: NodeProto, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? Number(attributeValue(a)) : fallback;
}

/** Symmetric int8 codes and one scale per slice along `axis` of a row-major [rows, cols] (axis 1) or [channels, rest] (axis 0) matrix. */
export function quantizePerChannel(w: Float32Array, rows: number, cols: number, axis: 0 | 1): { q: Int8Array; scale: Float32Array } {
  const channels = axis === 1 ? cols : rows;
  const maxAbs = new Float64Array(channels);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const ch = axis === 1 ? c : r;
      const v = Math.abs(w[r * cols + c]!);
      if (v > maxAbs[ch]!) maxAbs[ch] = v;
    }
  }
  // an all-zero channel keeps scale 1 so dequantization never divides by or multiplies with 0/0
  const scale = Float32Array.from(maxAbs, (m) => (m > 0 ? m / INT8_MAX : 1));
  const q = new Int8Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = scale[axis === 1 ? c : r]!;
      q[r * cols + c] = Math.max(-INT8_MAX, Math.min(INT8_MAX, Math.round(w[r * cols + c]! / s)));
    }
  }
  return { q, scale };
}

function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

function quantizeInt8(model: ModelProto, graph: GraphProto, format: Int8Format): QuantizedWeight[] {
  const opset = defaultOpset(model) ?? 0;
  // per-axis DequantizeLinear arrived in opset 13; dynamic quantization needs only opset 11
  if (opset < 13 && format === 'dequantize') throw new KennisError(`model opset ${opset} has no per-channel DequantizeLinear; use the dynamic int8 format or export at opset >= 13`);
  const floats = floatInitializers(graph);
  const g = GraphBuilder.wrap(model, 'kennis_quant/');
  const original = graph.node ?? [];
  const done: QuantizedWeight[] = [];
  graph.node = [];
  for (const node of original) {
    if (!rewriteInt8(g, node, floats, format, opset, done)) graph.node.push(node);
  }
  return done;
}

/** Emits the int8 replacement of `node` into `g` and returns true, or returns false to keep the node as it is. */
function rewriteInt8(g: GraphBuilder, node: NodeProto, floats: Map<string, TensorProto>, format: Int8Format, opset: number, done: QuantizedWeight[]): boolean {
  if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') return false;
  if (node.opType === 'Gather') return gatherInt8(g, node, floats, opset, done);
  const [a, b, c] = node.input ?? [];
  const out = node.output?.[0];
  const w = b !== undefined ? floats.get(b) : undefined;
  if (!a || !out || !w) return false;
  const dims = (w.dims ?? []).map(Number);
  if (node.opType === 'MatMul' && dims.length === 2) {
    matMulInt8(g, a, tensorToArray(w) as Float32Array, dims[0]!, dims[1]!, b!, format, out);
  } else if (node.opType === 'Gemm' && dims.length === 2 && intAttr(node, 'transA', 0) === 0) {
    const transB = intAttr(node, 'transB', 0) === 1;
    const data = tensorToArray(w) as Float32Array;
    const [K, N] = transB ? [dims[1]!, dims[0]!] : [dims[0]!, dims[1]!];
    const alphaAttr = node.attribute?.find((x) => x.name === 'alpha');
    const beta = node.attribute?.find((x) => x.name === 'beta')?.f ?? 1;
    // alpha folds into the per-channel scales; the bias term stays a float Add
    const product = c ? g.uniqueName('gemm_product') : out;
    matMulInt8(g, a, transB ? transposed(data, N, K) : data, K, N, b!, format, product, alphaAttr?.f ?? 1);
    if (c) g.node('Add', [product, beta === 1 ? c : g.op('Mul', [c, g.scalar(beta)])], [out]);
  } else if (node.opType === 'Conv' && dims.length >= 3 && opset >= 13) {
    const data = tensorToArray(w) as Float32Array;
    const perChannel = data.length / dims[0]!;
    const { q, scale } = quantizePerChannel(data, dims[0]!, perChannel, 0);
    const deq = g.op('DequantizeLinear', perRowInt8(g, q, scale, dims, b!), { axis: 0 });
    g.graph.node!.push({ ...node, input: [a, deq, ...(node.input ?? []).slice(2)] });
  } else {
    return false;
  }
  done.push({ name: b!, shape: dims, op: node.opType! });
  return true;
}

/** Gather from an int8 embedding table with one scale per row (token): DequantizeLinear(axis 0) then the Gather as it was. */
function gatherInt8(g: GraphBuilder, node: NodeProto, floats: Map<string, TensorProto>, opset: number, done: QuantizedWeight[]): boolean {
  const [table, ...rest] = node.input ?? [];
  const t = table !== undefined ? floats.get(table) : undefined;
  const dims = (t?.dims ?? []).map(Number);
  if (!t || dims.length !== 2 || intAttr(node, 'axis', 0) !== 0 || opset < 13) return false;
  const { q, scale } = quantizePerChannel(tensorToArray(t) as Float32Array, dims[0]!, dims[1]!, 0);
  const deq = g.op('DequantizeLinear', perRowInt8(g, q, scale, dims, table!), { axis: 0 });
  g.graph.node!.push({ ...node, input: [deq, ...rest] });
  done.push({ name: table!, shape: dims, op: 'Gather' });
  return true;
}

/** The int8 weight, its scales and zero points along axis 0 as initializers (DequantizeLinear's inputs). */
function perRowInt8(g: GraphBuilder, q: Int8Array, scale: Float32Array, dims: number[], hint: string): [string, string, string] {
  const names: [string, string, string] = [
    g.constant(q, dims, `${hint}_int8`), g.constant(scale, [dims[0]!], `${hint}_scale`), g.constant(new Int8Array(dims[0]!), [dims[0]!], `${hint}_zero_point`),
  ];
  annotate(g, ...names);
  return names;
}

/**
 * Records which initializers are the scale and zero point of an int8 weight (ONNX
 * quantization_annotation), so tools such as countParameters can tell weights from quantization parameters.
 */
function annotate(g: GraphBuilder, weight: string, scale: string, zeroPoint: string): void {
  (g.graph.quantizationAnnotation ??= []).push({
    tensorName: weight,
    quantParameterTensorNames: [{ key: 'SCALE_TENSOR', value: scale }, { key: 'ZERO_POINT_TENSOR', value: zeroPoint }],
  });
}

/** x [.., K] · W [K, N] with int8 W (per-column scale, times `alpha`), written to `out`. */
function matMulInt8(g: GraphBuilder, x: string, w: Float32Array, K: number, N: number, hint: string, format: Int8Format, out: string, alpha = 1): void {
  const { q, scale } = quantizePerChannel(w, K, N, 1);
  if (alpha !== 1) for (let j = 0; j < N; j++) scale[j] = scale[j]! * alpha;
  const wq = g.constant(q, [K, N], `${hint}_int8`);
  const ws = g.constant(scale, [N], `${hint}_scale`);
  const wzp = g.constant(new Int8Array(N), [N], `${hint}_zero_point`);
  annotate(g, wq, ws, wzp);
  if (format === 'dequantize') {
    g.node('MatMul', [x, g.op('DequantizeLinear', [wq, ws, wzp], { axis: 1 })], [out]);
    return;
  }
  // the pattern onnxruntime's quantize_dynamic writes, which its optimizer fuses into DynamicQuantizeMatMul
  const [xq, xScale, xZero] = g.node('DynamicQuantizeLinear', [x], 3, {}, { name: `${hint}_input_quant` });
  const acc = g.op('MatMulInteger', [xq!, wq, xZero!, wzp]);
  const accFloat = g.op('Cast', [acc], { to: DataType.FLOAT });
  g.node('Mul', [accFloat, g.op('Mul', [xScale!, ws])], [out]);
}

function storeFloat16(model: ModelProto, graph: GraphProto): QuantizedWeight[] {
  const floats = floatInitializers(graph);
  const consumer = new Map<string, string>();
  for (const node of graph.node ?? []) for (const i of node.input ?? []) if (!consumer.has(i)) consumer.set(i, node.opType ?? '');
  const g = GraphBuilder.wrap(model, 'kennis_quant/');
  const original = graph.node ?? [];
  graph.node = [];
  const done: QuantizedWeight[] = [];
  const replaced = new Set<string>();
  for (const [name, t] of floats) {
    const data = tensorToArray(t) as Float32Array;
    if (data.length < FLOAT16_MIN_ELEMENTS || data.some((v) => !(Math.abs(v) <= FLOAT16_MAX))) continue;
    const dims = (t.dims ?? []).map(Number);
    const half = g.constant(toFloat16Bits(data), dims, `${name}_float16`, 'float16');
    // the Cast's output takes the old name, so every consumer reads it unchanged
    g.node('Cast', [half], [name], { to: DataType.FLOAT });
    replaced.add(name);
    done.push({ name, shape: dims, op: consumer.get(name) ?? '' });
  }
  graph.initializer = (graph.initializer ?? []).filter((t) => !replaced.has(t.name!));
  graph.node.push(...original);
  return done;
}
