import { TeacherError } from '../../core/errors/index.js';
import { readRegularFileSync } from '../../core/util/fs.js';
import { DataType, decodeModel, type GraphProto, type TensorProto } from '../../core/onnx/index.js';

const INDEX_TYPES = new Set<number>([DataType.INT32, DataType.INT64]);
const NON_NUMERIC = new Set<number>([DataType.UNDEFINED, DataType.STRING, DataType.BOOL]);

/** Elements of one constant tensor if it counts as parameters (see countParameters), else 0. */
function tensorParameters(t: TensorProto): number {
  const dims = (t.dims ?? []).map(Number);
  const type = t.dataType ?? 0;
  if (dims.length === 0 || NON_NUMERIC.has(type) || (dims.length === 1 && INDEX_TYPES.has(type))) return 0;
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Parameters of a model as stored in its protobuf: the elements of every numeric initializer
 * (and Constant node value) of rank >= 1, except rank-1 int32/int64 tensors, which are shapes,
 * axes and indices rather than weights. Scalars are skipped for the same reason, and so are the
 * scales and zero points a quantization_annotation names (an int8 model counts as its fp32 original).
 */
export function countParameters(graph: GraphProto): number {
  // scales and zero points of quantized weights (quantization_annotation) are not weights themselves
  const quantParams = new Set((graph.quantizationAnnotation ?? []).flatMap((a) => (a.quantParameterTensorNames ?? []).map((e) => e.value)));
  let n = 0;
  for (const t of graph.initializer ?? []) if (!quantParams.has(t.name)) n += tensorParameters(t);
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Constant') continue;
    for (const a of node.attribute ?? []) if (a.name === 'value' && a.t) n += tensorParameters(a.t);
  }
  return n;
}

/** A model file's bytes with its size and parameter count. */
export interface ModelFile {
  /** Path as given. */
  path: string;
  /** File contents. */
  bytes: Uint8Array;
  /** Parameters (countParameters). */
  parameters: number;
}

/** Reads an .onnx file; a missing file or one that is not ONNX is a TeacherError. */
export function readModelFile(path: string): ModelFile {
  const bytes = new Uint8Array(readRegularFileSync(path, (why) => new TeacherError(`model '${path}' ${why}; pass the path of an .onnx file`)));
  const graph = decodeModel(bytes).graph;
  if (!graph?.node?.length) throw new TeacherError(`model '${path}' is not an ONNX model (no graph nodes); pass an .onnx file`);
  return { path, bytes, parameters: countParameters(graph) };
}
