import { KennisError } from '../errors/index.js';
import { toAttribute, type AttrValue } from './attributes.js';
import { defaultOpset, graphValueNames, uniqueIn } from './graph-utils.js';
import { encodeModel } from './proto.js';
import { tensorFromArray, tensorValueInfo, type Dim, type ElemType, type TensorArray } from './tensor.js';
import type { GraphProto, ModelProto, NodeProto } from './types.js';

/** Options for a new model. */
export interface GraphBuilderOptions {
  /** Graph name (default 'kennis'). */
  name?: string;
  /** Default-domain opset version (default 17). */
  opset?: number;
  /** IR version (default: the lowest onnxruntime accepts for the opset, 8 for opset 17). */
  irVersion?: number;
  /** producer_name written into the model (default 'kennis'). */
  producerName?: string;
}

/** Options for one node. */
export interface NodeOptions {
  /** Name hint for the node and its generated outputs (default: the op type). */
  name?: string;
  /** Operator domain (default: the ONNX default domain); import it with `importOpset`. */
  domain?: string;
}

/** IR version ONNX released with `opset` (IR 8: opsets up to 17, 9: up to 20, 10: up to 22, then 11). */
export function irVersionFor(opset: number): number {
  if (opset <= 17) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

/** Builds an ONNX graph node by node; every generated value name is unique across the model. */
export class GraphBuilder {
  /** Default-domain opset the nodes are written against. */
  readonly opset: number;
  /** The graph being built (mutated in place). */
  readonly graph: GraphProto;
  private readonly names: Set<string>;
  private readonly model: ModelProto | undefined;
  private readonly prefix: string;

  constructor(opts: GraphBuilderOptions = {}) {
    const opset = opts.opset ?? 17;
    const graph: GraphProto = { name: opts.name ?? 'kennis', node: [], input: [], output: [], initializer: [] };
    const model: ModelProto = {
      irVersion: opts.irVersion ?? irVersionFor(opset), producerName: opts.producerName ?? 'kennis',
      opsetImport: [{ domain: '', version: opset }], graph,
    };
    this.opset = opset;
    this.graph = graph;
    this.model = model;
    this.names = new Set();
    this.prefix = '';
  }

  /** A builder that appends to an existing model's main graph; generated names start with `prefix`. */
  static wrap(model: ModelProto, prefix = 'kennis/'): GraphBuilder {
    const graph = model.graph ?? (model.graph = {});
    const opset = defaultOpset(model);
    if (opset === undefined) throw new KennisError('model imports no default-domain opset; expected an opset_import entry with domain ""');
    return GraphBuilder.make(graph, graphValueNames(graph), opset, model, prefix);
  }

  private static make(graph: GraphProto, names: Set<string>, opset: number, model: ModelProto | undefined, prefix: string): GraphBuilder {
    const g = Object.create(GraphBuilder.prototype) as GraphBuilder;
    Object.assign(g, { opset, graph, names, model, prefix });
    return g;
  }

  /** A builder for a subgraph (Loop/Scan/If body) sharing this builder's names and opset. */
  subgraph(name: string): GraphBuilder {
    return GraphBuilder.make({ name: this.uniqueName(name), node: [], input: [], output: [], initializer: [] }, this.names, this.opset, undefined, this.prefix);
  }

  /** True if `name` is already used anywhere in the model. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** Reserves and returns `prefix + hint`, or `prefix + hint_N` if that is taken. */
  uniqueName(hint: string): string {
    return uniqueIn(this.names, this.prefix + hint);
  }

  private claim(name: string, what: string): string {
    if (this.names.has(name)) throw new KennisError(`${what} name '${name}' is already used in graph '${this.graph.name}'; choose another name`);
    this.names.add(name);
    return name;
  }

  /** Declares a graph input; a string dim is dynamic (dim_param), undefined dims: unknown rank. */
  input(name: string, elem: ElemType, dims?: readonly Dim[]): string {
    (this.graph.input ??= []).push(tensorValueInfo(this.claim(name, 'input'), elem, dims));
    return name;
  }

  /**
   * Declares a graph output (dims undefined: unknown rank). With `source`, the output is an
   * Identity of that value, so layer helpers' generated names need not match output names.
   */
  output(name: string, elem: ElemType, dims?: readonly Dim[], source?: string): string {
    if (source !== undefined && source !== name) this.node('Identity', [source], [this.claim(name, 'output')]);
    else this.names.add(name);
    (this.graph.output ??= []).push(tensorValueInfo(name, elem, dims));
    return name;
  }

  /** Adds a named initializer (weights), stored as little-endian raw_data. */
  initializer(name: string, data: TensorArray, dims: readonly number[], elem?: ElemType): string {
    const tensor = tensorFromArray(name, data, dims, elem);
    this.claim(name, 'initializer');
    (this.graph.initializer ??= []).push(tensor);
    return name;
  }

  /** Adds an initializer under a fresh unique name derived from `hint`. */
  constant(data: TensorArray, dims: readonly number[], hint = 'const', elem?: ElemType): string {
    const name = this.uniqueName(hint);
    (this.graph.initializer ??= []).push(tensorFromArray(name, data, dims, elem));
    return name;
  }

  /** int64 1-D constant (shapes, axes, starts/ends). */
  int64s(values: readonly (number | bigint)[], hint = 'ints'): string {
    return this.constant(BigInt64Array.from(values, (v) => BigInt(v)), [values.length], hint);
  }

  /** 0-D constant: float32 (default), float64, int32 or int64. */
  scalar(value: number, elem: 'float32' | 'float64' | 'int32' | 'int64' = 'float32', hint = 'scalar'): string {
    const data = elem === 'int64' ? BigInt64Array.of(BigInt(value))
      : elem === 'int32' ? Int32Array.of(value)
        : elem === 'float64' ? Float64Array.of(value) : Float32Array.of(value);
    return this.constant(data, [], hint);
  }

  /** Appends a node; `outputs` is a count of generated names or explicit names. Returns the output names. */
  node(opType: string, inputs: readonly string[], outputs: number | readonly string[] = 1, attrs: Record<string, AttrValue | undefined> = {}, opts: NodeOptions = {}): string[] {
    const hint = opts.name ?? opType;
    const outs = typeof outputs === 'number'
      ? Array.from({ length: outputs }, (_, i) => this.uniqueName(outputs === 1 ? hint : `${hint}_${i}`))
      : outputs.map((o) => { this.names.add(o); return o; });
    const node: NodeProto = { input: [...inputs], output: outs, name: this.uniqueName(`${hint}_node`), opType };
    if (opts.domain) node.domain = opts.domain;
    const attribute = Object.entries(attrs).filter((e): e is [string, AttrValue] => e[1] !== undefined).map(([k, v]) => toAttribute(k, v));
    if (attribute.length) node.attribute = attribute;
    (this.graph.node ??= []).push(node);
    return outs;
  }

  /** Appends a single-output node and returns its output name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue | undefined> = {}, opts: NodeOptions = {}): string {
    return this.node(opType, inputs, 1, attrs, opts)[0]!;
  }

  /** Adds (or raises) an opset import, e.g. for nodes in the 'com.microsoft' domain. */
  importOpset(domain: string, version: number): void {
    const imports = (this.toModel().opsetImport ??= []);
    const entry = imports.find((o) => (o.domain ?? '') === domain);
    if (!entry) imports.push({ domain, version });
    else if (Number(entry.version ?? 0) < version) entry.version = version;
  }

  /** The model this builder writes into (throws for subgraph builders). */
  toModel(): ModelProto {
    if (!this.model) throw new KennisError(`graph '${this.graph.name}' is a subgraph; call toModel() on its parent builder`);
    return this.model;
  }

  /** Serialized ModelProto bytes. */
  toBytes(): Uint8Array {
    return encodeModel(this.toModel());
  }
}
