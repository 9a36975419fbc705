import { TeacherError, TrainError } from '../../core/errors/index.js';
import { DataType, attributeValue, decodeModel, tensorToArray, type NodeProto, type TensorProto } from '../../core/onnx/index.js';
import { svd } from '../../core/util/svd.js';
import type { WeightMap } from './params.js';
import type { MlpSpec } from './spec.js';

/** One dense layer y = x·kernel + bias of a teacher, kernel row-major [inputs, outputs]. */
export interface DenseLayer {
  /** The teacher initializer holding the kernel. */
  name: string;
  inputs: number;
  outputs: number;
  kernel: Float32Array;
  bias: Float32Array;
}

/** Layer widths input side first: [inputs, ...hidden, classes]. */
function widthsOf(spec: MlpSpec): number[] {
  return [spec.inputs, ...spec.hidden, spec.classes];
}

/** A rank-r factorization only truncates a layer whose rank limit min(in, out) exceeds r; the others stay whole. */
function factors(inputs: number, outputs: number, rank: number): boolean {
  return rank < Math.min(inputs, outputs);
}

/**
 * The low-rank form of an mlp: every dense layer (in x out) with min(in, out) > rank becomes two,
 * (in x rank) with no activation or dropout (a `linearHidden` bottleneck) then (rank x out) with
 * the layer's own activation; narrower layers stay as they are. E.g. 784-1200-1200-10 at rank 64:
 * hidden [64, 1200, 64, 1200], linearHidden [0, 2]. A rank that factors no layer is a TrainError.
 */
export function lowRankSpec(spec: MlpSpec, rank: number): MlpSpec {
  if (spec.linearHidden?.length) throw new TrainError(`student mlp is already factorized (linearHidden [${spec.linearHidden}]); give lowRankSpec the unfactorized spec`);
  const w = widthsOf(spec);
  const limit = Math.max(...w.slice(1).map((out, l) => Math.min(w[l]!, out)));
  if (!(Number.isInteger(rank) && rank >= 1 && rank < limit)) {
    throw new TrainError(`student.rank ${rank} factorizes none of the layers ${layerList(w)} (a rank-r factorization needs r < min(in, out)); choose a rank from 1 to ${limit - 1}`);
  }
  const hidden: number[] = [];
  const linearHidden: number[] = [];
  for (let l = 0; l + 1 < w.length; l++) {
    if (factors(w[l]!, w[l + 1]!, rank)) {
      linearHidden.push(hidden.length);
      hidden.push(rank);
    }
    if (l + 2 < w.length) hidden.push(w[l + 1]!);
  }
  return { ...spec, hidden, linearHidden };
}

/** The unfactorized spec a lowRankSpec came from (the linear bottlenecks removed). */
export function fullRankSpec(spec: MlpSpec): MlpSpec {
  const linear = new Set(spec.linearHidden);
  const { linearHidden: _, ...rest } = spec;
  return { ...rest, hidden: spec.hidden.filter((_, i) => !linear.has(i)) };
}

function layerList(w: readonly number[]): string {
  return w.slice(1).map((out, l) => `${w[l]}x${out}`).join(', ');
}

/**
 * The dense layers of an ONNX model in graph order: every MatMul (or Gemm) whose weight is a
 * 2-D float32 initializer, with the bias of the Add that follows it (or Gemm's C), zeros if none.
 * Gemm's transB and alpha/beta are applied, so each layer is y = x·kernel + bias.
 */
export function teacherDenseLayers(model: Uint8Array, label: string): DenseLayer[] {
  const graph = decodeModel(model).graph ?? {};
  const floats = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) if (t.dataType === DataType.FLOAT) floats.set(t.name!, t);
  const nodes = graph.node ?? [];
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) for (const i of n.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const read = (name: string | undefined): Float32Array | undefined => {
    const t = name !== undefined ? floats.get(name) : undefined;
    return t ? (tensorToArray(t) as Float32Array) : undefined;
  };
  const layers: DenseLayer[] = [];
  for (const node of nodes) {
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm') continue;
    const weightName = node.input?.[1];
    const t = weightName !== undefined ? floats.get(weightName) : undefined;
    if (!t || t.dims?.length !== 2) continue;
    const [rows, cols] = t.dims.map(Number) as [number, number];
    const attr = (name: string, fallback: number): number => {
      const a = node.attribute?.find((x) => x.name === name);
      return a ? Number(attributeValue(a)) : fallback;
    };
    if (node.opType === 'Gemm' && attr('transA', 0) !== 0) continue;
    const transB = node.opType === 'Gemm' && attr('transB', 0) === 1;
    const [inputs, outputs] = transB ? [cols, rows] : [rows, cols];
    const raw = tensorToArray(t) as Float32Array;
    const alpha = node.opType === 'Gemm' ? attr('alpha', 1) : 1;
    const kernel = new Float32Array(inputs * outputs);
    for (let i = 0; i < inputs; i++) for (let o = 0; o < outputs; o++) kernel[i * outputs + o] = alpha * raw[transB ? o * inputs + i : i * outputs + o]!;
    let bias: Float32Array | undefined;
    if (node.opType === 'Gemm') {
      const c = read(node.input?.[2]);
      const beta = attr('beta', 1);
      if (c?.length === outputs) bias = c.map((v) => beta * v);
    } else {
      const add = consumers.get(node.output?.[0] ?? '')?.find((n) => n.opType === 'Add');
      const other = add?.input?.find((i) => i !== node.output?.[0]);
      const b = read(other);
      if (b?.length === outputs) bias = b;
    }
    layers.push({ name: weightName!, inputs, outputs, kernel, bias: bias ?? new Float32Array(outputs) });
  }
  if (layers.length === 0) throw new TeacherError(`teacher '${label}' has no dense layers (MatMul or Gemm with a 2-D float32 initializer weight); student.init teacher_svd needs a dense teacher`);
  return layers;
}

/**
 * Initial weights of the low-rank student `lowRankSpec(spec, rank)` from a teacher whose dense
 * layers have exactly the shapes of `spec` (unfactorized): each factorized layer W ≈ U_r S_r V_rᵀ
 * (truncated SVD in float64) becomes dense (U_r S_r^½, bias 0) then dense (S_r^½ V_rᵀ, the teacher's
 * bias); layers left whole copy the teacher's. Shapes that differ are a TeacherError naming both.
 */
export function teacherSvdWeights(spec: MlpSpec, rank: number, layers: readonly DenseLayer[], label: string): { spec: MlpSpec; weights: WeightMap } {
  const w = widthsOf(spec);
  const teacherWidths = [layers[0]?.inputs ?? 0, ...layers.map((l) => l.outputs)];
  const chained = layers.every((l, i) => i === 0 || l.inputs === layers[i - 1]!.outputs);
  if (!chained || teacherWidths.join() !== w.join()) {
    throw new TeacherError(`teacher '${label}' has dense layers ${layers.map((l) => `${l.inputs}x${l.outputs}`).join(', ')}, the student ${layerList(w)}; ` +
      (chained && teacherWidths[0] === w[0] && teacherWidths.at(-1) === w.at(-1)
        ? `set student.hidden to [${teacherWidths.slice(1, -1).join(', ')}] (the teacher's widths; student.rank makes the student small)`
        : 'student.init teacher_svd needs a teacher that is a plain stack of dense layers with the same inputs and classes'));
  }
  const low = lowRankSpec(spec, rank);
  const weights: WeightMap = {};
  let i = 0;
  const put = (kernel: Float32Array, rows: number, cols: number, bias: Float32Array): void => {
    weights[`dense_${i}/kernel`] = { shape: [rows, cols], data: kernel };
    weights[`dense_${i}/bias`] = { shape: [cols], data: bias };
    i++;
  };
  for (const layer of layers) {
    if (!factors(layer.inputs, layer.outputs, rank)) {
      put(Float32Array.from(layer.kernel), layer.inputs, layer.outputs, Float32Array.from(layer.bias));
      continue;
    }
    const t = svd(layer.kernel, layer.inputs, layer.outputs, rank);
    // the square root of S on both sides keeps the two factors at the same scale for training
    const root = Float64Array.from(t.S, Math.sqrt);
    const a = Float32Array.from({ length: layer.inputs * rank }, (_, k) => t.U[k]! * root[k % rank]!);
    const b = new Float32Array(rank * layer.outputs);
    for (let r = 0; r < rank; r++) for (let o = 0; o < layer.outputs; o++) b[r * layer.outputs + o] = root[r]! * t.V[o * rank + r]!;
    put(a, layer.inputs, rank, new Float32Array(rank));
    put(b, rank, layer.outputs, Float32Array.from(layer.bias));
  }
  return { spec: low, weights };
}
