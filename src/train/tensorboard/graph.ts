import {
  AttributeType, DataType, attributeValue, valueInfoDims,
  type AttributeProto, type GraphProto, type ModelProto, type TensorProto, type ValueInfoProto,
} from '../../core/onnx/index.js';

/** tensorboard.GraphDef as a protobufjs plain object (graph.proto, node_def.proto, attr_value.proto). */
export interface GraphDef {
  node: NodeDef[];
}

/** tensorboard.NodeDef as a plain object. */
export interface NodeDef {
  name: string;
  op: string;
  /** `producer`, `producer:k` for its k-th output (k > 0). */
  input: string[];
  attr: Record<string, AttrValue>;
}

/** tensorboard.AttrValue as a plain object (one of the fields is set). */
export interface AttrValue {
  s?: Uint8Array;
  i?: number;
  f?: number;
  type?: number;
  shape?: Shape;
  list?: { s?: Uint8Array[]; i?: number[]; f?: number[]; shape?: Shape[] };
}

/** tensorboard.TensorShapeProto as a plain object; size -1 is an unknown dim. */
export interface Shape {
  dim?: { size: number; name?: string }[];
  unknownRank?: boolean;
}

/** onnx TensorProto.DataType -> tensorboard DataType (types.proto numbers). */
const TF_DTYPE: Record<number, number> = {
  [DataType.FLOAT]: 1, [DataType.DOUBLE]: 2, [DataType.INT32]: 3, [DataType.UINT8]: 4, [DataType.INT16]: 5,
  [DataType.INT8]: 6, [DataType.STRING]: 7, [DataType.COMPLEX64]: 8, [DataType.INT64]: 9, [DataType.BOOL]: 10,
  [DataType.BFLOAT16]: 14, [DataType.UINT16]: 17, [DataType.COMPLEX128]: 18, [DataType.FLOAT16]: 19,
  [DataType.UINT32]: 22, [DataType.UINT64]: 23,
};

const utf8 = new TextEncoder();

/**
 * The main graph of an ONNX model as a GraphDef for TensorBoard's Graphs tab: graph inputs become
 * Placeholder nodes, initializers (weights) Const nodes with their dtype and shape, every ONNX node a
 * node of its op type with its attributes, and each graph output an Identity node `output/<name>`.
 * Edges follow the ONNX value names; TensorBoard nests nodes by the `/`-separated scopes of their
 * names. Weight values are not copied (the diagram needs shapes, not numbers).
 */
export function graphDefFromOnnx(model: ModelProto): GraphDef {
  const graph: GraphProto = model.graph ?? {};
  const taken = new Set<string>();
  const nodes: NodeDef[] = [];
  /** ONNX value name -> the GraphDef input string of the node that produces it. */
  const producer = new Map<string, string>();
  const shapes = new Map<string, ValueInfoProto>();
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) if (v.name) shapes.set(v.name, v);

  const add = (wanted: string, op: string, inputs: string[], attr: Record<string, AttrValue>): string => {
    const name = uniqueNodeName(taken, wanted);
    nodes.push({ name, op, input: inputs, attr });
    return name;
  };
  const ref = (value: string): string[] => {
    const p = producer.get(value);
    return p === undefined ? [] : [p];
  };

  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const nodeScopes = scopes(graph, initializers);
  for (const input of graph.input ?? []) {
    if (!input.name || initializers.has(input.name)) continue;
    const attr: Record<string, AttrValue> = { shape: { shape: shapeOf(input) }, _output_shapes: { list: { shape: [shapeOf(input)] } } };
    const dtype = TF_DTYPE[input.type?.tensorType?.elemType ?? 0];
    if (dtype !== undefined) attr['dtype'] = { type: dtype };
    producer.set(input.name, add(input.name, 'Placeholder', [], attr));
  }
  for (const t of graph.initializer ?? []) {
    if (!t.name) continue;
    const scope = nodeScopes.constants.get(t.name);
    producer.set(t.name, add(scope ? `${scope}/${t.name}` : t.name, 'Const', [], constAttrs(t)));
  }
  (graph.node ?? []).forEach((node, i) => {
    const op = node.domain ? `${node.domain}.${node.opType ?? ''}` : (node.opType ?? 'Unknown');
    const attr: Record<string, AttrValue> = {};
    for (const a of node.attribute ?? []) {
      const v = attrValue(a);
      if (a.name && v) attr[a.name] = v;
    }
    const outputs = node.output ?? [];
    const outShapes = outputs.map((o) => shapes.get(o)).filter((v): v is ValueInfoProto => v !== undefined);
    if (outShapes.length === outputs.length && outputs.length > 0) attr['_output_shapes'] = { list: { shape: outShapes.map(shapeOf) } };
    const own = node.name || `${op}_${i}`;
    const scope = nodeScopes.nodes[i];
    const name = add(scope ? `${scope}/${own}` : own, op, (node.input ?? []).filter((x) => x !== '').flatMap(ref), attr);
    outputs.forEach((o, k) => { if (o) producer.set(o, k === 0 ? name : `${name}:${k}`); });
  });
  for (const out of graph.output ?? []) {
    if (!out.name) continue;
    add(`output/${out.name}`, 'Identity', ref(out.name), { _output_shapes: { list: { shape: [shapeOf(out)] } } });
  }
  return { node: nodes };
}

/**
 * TensorBoard folds nodes by `/` name scope. Weights carry theirs (dense_0/kernel -> dense_0); an
 * unscoped op joins the scope of its weights, else of its first scoped input, so a layer's ops fold
 * with its weights and an activation with the layer before it; an unscoped constant (a shape, an
 * axis) joins the scope of its first consumer. Returns the scope to prefix to each node
 * ('' for none) and to each unscoped initializer that gets one.
 */
function scopes(graph: GraphProto, initializers: ReadonlySet<string>): { nodes: string[]; constants: Map<string, string> } {
  const dirname = (name: string): string => (name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '');
  const valueScope = new Map<string, string>();
  for (const name of initializers) if (dirname(name)) valueScope.set(name, dirname(name));
  const constants = new Map<string, string>();
  const nodes = (graph.node ?? []).map((node) => {
    const inputs = (node.input ?? []).filter((x) => x !== '');
    const own = dirname(node.name ?? '');
    const from = inputs.find((x) => initializers.has(x) && valueScope.has(x)) ?? inputs.find((x) => valueScope.has(x));
    const scope = own ? '' : (from !== undefined ? valueScope.get(from)! : '');
    const full = own || scope;
    if (full) {
      for (const o of node.output ?? []) if (o) valueScope.set(o, full);
      for (const x of inputs) if (initializers.has(x) && !dirname(x) && !constants.has(x)) constants.set(x, full);
    }
    return scope;
  });
  return { nodes, constants };
}

/** A valid, unique TensorBoard node name: NodeDef names match [A-Za-z0-9.][A-Za-z0-9_>./]*. */
function uniqueNodeName(taken: Set<string>, wanted: string): string {
  let base = wanted.replace(/[^A-Za-z0-9_>./]/g, '_').replace(/\/+/g, '/').replace(/^\/|\/$/g, '');
  if (!/^[A-Za-z0-9.]/.test(base)) base = `n${base}`;
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

function shapeOf(info: ValueInfoProto): Shape {
  const dims = valueInfoDims(info);
  if (dims === undefined) return { unknownRank: true };
  return { dim: dims.map((d) => (typeof d === 'number' ? { size: d } : d === undefined ? { size: -1 } : { size: -1, name: d })) };
}

function constAttrs(t: TensorProto): Record<string, AttrValue> {
  const shape: Shape = { dim: (t.dims ?? []).map((d) => ({ size: Number(d) })) };
  const attr: Record<string, AttrValue> = { shape: { shape }, _output_shapes: { list: { shape: [shape] } } };
  const dtype = TF_DTYPE[t.dataType ?? 0];
  if (dtype !== undefined) attr['dtype'] = { type: dtype };
  return attr;
}

/** An ONNX attribute as an AttrValue; tensors become their shape, subgraphs their name. */
function attrValue(a: AttributeProto): AttrValue | undefined {
  const v = attributeValue(a);
  switch (a.type) {
    case AttributeType.FLOAT: return { f: v as number };
    case AttributeType.INT: return { i: v as number };
    case AttributeType.STRING: return { s: utf8.encode(v as string) };
    case AttributeType.FLOATS: return { list: { f: v as number[] } };
    case AttributeType.INTS: return { list: { i: v as number[] } };
    case AttributeType.STRINGS: return { list: { s: (v as string[]).map((s) => utf8.encode(s)) } };
    case AttributeType.TENSOR: return a.t ? { shape: { dim: (a.t.dims ?? []).map((d) => ({ size: Number(d) })) } } : undefined;
    case AttributeType.GRAPH: return { s: utf8.encode(`graph ${a.g?.name ?? ''}`) };
    default: return undefined;
  }
}
