import { TeacherError } from '../errors/index.js';
import type { TensorSignature } from './types.js';
import { decodeModel } from './proto.js';
import { DataType, type ValueInfoProto } from './types.js';

/** A model's graph inputs (without initializers) and outputs, read from its protobuf. */
export interface ModelSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

const TYPE_NAMES: Record<number, string> = {
  [DataType.FLOAT]: 'float32', [DataType.UINT8]: 'uint8', [DataType.INT8]: 'int8', [DataType.UINT16]: 'uint16',
  [DataType.INT16]: 'int16', [DataType.INT32]: 'int32', [DataType.INT64]: 'int64', [DataType.STRING]: 'string',
  [DataType.BOOL]: 'bool', [DataType.FLOAT16]: 'float16', [DataType.DOUBLE]: 'float64', [DataType.UINT32]: 'uint32',
  [DataType.UINT64]: 'uint64', [DataType.BFLOAT16]: 'bfloat16',
};

/**
 * Reads a model's signature without onnxruntime, so the trainer can key caches by teacher
 * without loading it. Bytes that are not an ONNX model are a TeacherError naming `label`.
 */
export function inspectModel(bytes: Uint8Array, label: string): ModelSignature {
  let graph;
  try {
    graph = decodeModel(bytes).graph;
  } catch {
    graph = undefined;
  }
  if (!graph || !graph.output?.length || !graph.node?.length) {
    throw new TeacherError(`teacher '${label}' is not an ONNX model (no graph with nodes and outputs); set teacher.path to an .onnx file`);
  }
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  return {
    inputs: (graph.input ?? []).filter((i) => !initializers.has(i.name)).map(signatureOf),
    outputs: graph.output.map(signatureOf),
  };
}

function signatureOf(info: ValueInfoProto): TensorSignature {
  const t = info.type?.tensorType;
  const dims = t?.shape?.dim ?? [];
  return {
    name: info.name ?? '',
    type: TYPE_NAMES[t?.elemType ?? 0] ?? 'unknown',
    shape: dims.map((d, i) => (d.dimValue !== undefined && Number(d.dimValue) > 0 ? Number(d.dimValue) : d.dimParam || `d${i}`)),
  };
}
