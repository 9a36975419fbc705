import { attributeValue } from '../attributes.js';
import { tensorFromArray, tensorToArray, valueInfoDims, type Dim } from '../tensor.js';
import { DataType, type GraphProto, type NodeProto, type TensorProto } from '../types.js';

/** Reads one attribute of a node (ints as numbers), or undefined when the node does not set it. */
export function nodeAttr(node: NodeProto, name: string): ReturnType<typeof attributeValue> {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a ? attributeValue(a) : undefined;
}

/** Ops whose outputs carry no gradient: comparisons, shapes, indices, random draws, rounding. */
const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor',
  'ArgMax', 'ArgMin', 'NonZero', 'ConstantOfShape', 'Range', 'Floor', 'Ceil', 'Round', 'Sign', 'IsNaN', 'IsInf',
  'EyeLike', 'OneHot', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli',
  'Multinomial', 'Constant', 'BitShift',
]);

const FLOAT_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

/** True for a float ONNX data type code. */
export function isFloatType(code: number | undefined): boolean {
  return code !== undefined && FLOAT_TYPES.has(code);
}

/** True if no gradient flows through the node (its outputs are constants for the backward pass). */
export function blocksGradient(node: NodeProto): boolean {
  if (NON_DIFFERENTIABLE.has(node.opType ?? '') && !node.domain) return true;
  return node.opType === 'Cast' && !isFloatType(nodeAttr(node, 'to') as number | undefined);
}

/** Ops whose output has the rank of their first input. */
const SAME_RANK = new Set([
  'Relu', 'LeakyRelu', 'Tanh', 'Sigmoid', 'Erf', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Reciprocal', 'Softmax', 'LogSoftmax',
  'LayerNormalization', 'Cast', 'Identity', 'Dropout', 'Clip', 'Slice', 'Concat', 'Conv', 'ConvTranspose', 'MaxPool',
  'AveragePool', 'GlobalAveragePool', 'Gelu', 'Split', 'Softplus', 'Elu', 'HardSigmoid', 'CumSum', 'Sin', 'Cos',
  'Floor', 'Ceil', 'Round', 'Sign', 'Not', 'IsNaN', 'IsInf',
]);
/** Elementwise ops with numpy broadcasting: output rank is the largest input rank. */
const BROADCAST = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Greater', 'GreaterOrEqual',
  'Less', 'LessOrEqual', 'And', 'Or', 'Xor', 'PRelu',
]);

/**
 * What the graph itself says about its values: producers, declared element types and dims
 * (graph inputs, outputs, initializers, value_info, Constant nodes), and dims inferred from
 * those through common ops. Used to pick constant reductions over Shape-based ones.
 */
export class GraphFacts {
  private readonly producers = new Map<string, number>();
  private indexed = 0;
  private inferredUpTo = 0;
  private readonly declaredDims = new Map<string, (Dim | undefined)[]>();
  private readonly declaredType = new Map<string, number>();
  private readonly constants = new Map<string, TensorProto>();
  private readonly inferred = new Map<string, (Dim | undefined)[] | undefined>();

  constructor(private readonly graph: GraphProto) {
    for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
      if (!v.name) continue;
      const dims = valueInfoDims(v);
      if (dims) this.declaredDims.set(v.name, dims);
      const type = v.type?.tensorType?.elemType;
      if (type) this.declaredType.set(v.name, type);
    }
    for (const t of graph.initializer ?? []) this.addConstant(t.name ?? '', t);
    for (const node of graph.node ?? []) {
      if (node.opType === 'Constant' && !node.domain) {
        const value = nodeAttr(node, 'value');
        if (value && typeof value === 'object' && !Array.isArray(value) && 'dataType' in value) this.addConstant(node.output![0]!, value);
        const ints = nodeAttr(node, 'value_ints') ?? nodeAttr(node, 'value_int');
        if (ints !== undefined) {
          const list = (Array.isArray(ints) ? ints : [ints]) as number[];
          this.addConstant(node.output![0]!, tensorFromArray(node.output![0]!, BigInt64Array.from(list, (v) => BigInt(v)), Array.isArray(ints) ? [list.length] : []));
        }
      }
      if (node.opType === 'Cast') this.declaredType.set(node.output![0]!, nodeAttr(node, 'to') as number);
    }
  }

  /** The node that computes a value (nodes appended since construction included), if any. */
  producer(name: string): NodeProto | undefined {
    const at = this.producerIndex(name);
    return at === undefined ? undefined : this.graph.node![at];
  }

  private producerIndex(name: string): number | undefined {
    const nodes = this.graph.node ?? [];
    for (; this.indexed < nodes.length; this.indexed++) {
      for (const o of nodes[this.indexed]!.output ?? []) if (o) this.producers.set(o, this.indexed);
    }
    return this.producers.get(name);
  }

  private addConstant(name: string, t: TensorProto): void {
    this.constants.set(name, t);
    this.declaredDims.set(name, (t.dims ?? []).map(Number));
    if (t.dataType) this.declaredType.set(name, t.dataType);
  }

  /** Values of a small integer constant (axes, perm, shapes), or undefined when not constant. */
  constInts(name: string | undefined): number[] | undefined {
    if (!name) return undefined;
    const t = this.constants.get(name);
    if (!t || (t.dataType !== DataType.INT64 && t.dataType !== DataType.INT32)) return undefined;
    return Array.from(tensorToArray(t) as ArrayLike<number | bigint>, Number);
  }

  /** Declared element type (ONNX DataType code), if any. */
  elemType(name: string): number | undefined {
    return this.declaredType.get(name);
  }

  /**
   * Dims of a value (numbers, symbolic names, or undefined for dims not known): declared, or
   * inferred through its producer; undefined when even the rank is unknown. Equal symbolic names
   * are equal sizes (the ONNX convention), so a dynamic batch dim is tracked through the graph.
   */
  dims(name: string): (Dim | undefined)[] | undefined {
    const declared = this.declaredDims.get(name);
    if (declared) return declared;
    if (!this.inferred.has(name)) {
      // infer every node up to the producer in graph order, so each inference reads memoized
      // inputs (no recursion through deep graphs)
      const at = this.producerIndex(name);
      if (at === undefined) this.infer(name);
      else for (; this.inferredUpTo <= at; this.inferredUpTo++) for (const o of this.graph.node![this.inferredUpTo]!.output ?? []) if (o) this.infer(o);
    }
    return this.inferred.get(name);
  }

  private infer(name: string): void {
    if (this.declaredDims.has(name) || this.inferred.has(name)) return;
    // an unknown dim of an inferred value gets a symbol of its own: values derived from it
    // through shape-preserving ops share that symbol, so their sizes are known to be equal
    const dims = this.inferDims(name);
    const r = dims?.length ?? this.inferRankFromProducer(name);
    this.inferred.set(name, r === undefined ? undefined : Array.from({ length: r }, (_, i) => dims?.[i] ?? `${name}#${i}`));
  }

  /** Dims as the graph declares them (inputs, outputs, initializers, value_info), if it does. */
  declaredDimsOf(name: string): (Dim | undefined)[] | undefined {
    return this.declaredDims.get(name);
  }

  /** Dims when every one is a known number. */
  staticDims(name: string): number[] | undefined {
    const d = this.dims(name);
    return d && d.every((x): x is number => typeof x === 'number') ? d : undefined;
  }

  /**
   * The axes of `result` that broadcasting `x` to it expanded (leading axes x lacks, and axes
   * where x has size 1 and the result may not), or undefined when the dims do not tell.
   */
  broadcastAxes(x: string, result: string): number[] | undefined {
    const xd = this.dims(x), yd = this.dims(result);
    if (!xd || !yd || yd.length < xd.length) return undefined;
    const lead = yd.length - xd.length;
    const axes = Array.from({ length: lead }, (_, i) => i);
    for (let i = 0; i < xd.length; i++) {
      const d = xd[i], e = yd[lead + i];
      if (d === 1) { if (e !== 1) axes.push(lead + i); continue; }
      // a size other than 1 is never broadcast; equal symbols are equal sizes
      if ((typeof d === 'number') || (d !== undefined && d === e)) continue;
      return undefined;
    }
    return axes;
  }

  /** Rank of a value, from declarations or inferred through its producer; undefined when unknown. */
  rank(name: string): number | undefined {
    return this.dims(name)?.length;
  }

  private inferRankFromProducer(name: string): number | undefined {
    const node = this.producer(name);
    if (!node || node.domain) return undefined;
    const ins = node.input ?? [];
    const rankOf = (i: number): number | undefined => (ins[i] ? this.rank(ins[i]!) : undefined);
    const op = node.opType ?? '';
    const axesCount = (): number | undefined => {
      const fromAttr = nodeAttr(node, 'axes') as number[] | undefined;
      return fromAttr ? fromAttr.length : this.constInts(ins[1])?.length;
    };
    if (SAME_RANK.has(op)) return rankOf(0);
    if (BROADCAST.has(op)) {
      const rs = ins.filter((n) => n).map((n) => this.rank(n));
      return rs.every((r): r is number => r !== undefined) ? Math.max(...rs) : undefined;
    }
    switch (op) {
      case 'MatMul': {
        const a = rankOf(0), b = rankOf(1);
        if (a === undefined || b === undefined) return undefined;
        if (a === 1 && b === 1) return 0;
        return a === 1 ? b - 1 : b === 1 ? a - 1 : Math.max(a, b);
      }
      case 'Gemm': case 'Flatten': return 2;
      case 'Shape': case 'Range': case 'NonZero': return op === 'NonZero' ? 2 : 1;
      case 'Size': return 0;
      case 'Transpose': return (nodeAttr(node, 'perm') as number[] | undefined)?.length ?? rankOf(0);
      case 'Reshape': return this.constInts(ins[1])?.length;
      case 'Expand': {
        const shape = this.constInts(ins[1]), r = rankOf(0);
        return shape && r !== undefined ? Math.max(shape.length, r) : undefined;
      }
      case 'Gather': {
        const a = rankOf(0), b = rankOf(1);
        return a !== undefined && b !== undefined ? a - 1 + b : undefined;
      }
      case 'Unsqueeze': case 'Squeeze': {
        const r = rankOf(0), n = axesCount();
        if (r === undefined || n === undefined) return undefined;
        return op === 'Unsqueeze' ? r + n : r - n;
      }
      default:
        if (op.startsWith('Reduce')) {
          const r = rankOf(0);
          if (r === undefined) return undefined;
          const noAxes = !ins[1] && !nodeAttr(node, 'axes');
          if ((nodeAttr(node, 'keepdims') ?? 1) !== 0 || (noAxes && nodeAttr(node, 'noop_with_empty_axes') === 1)) return r;
          const n = axesCount();
          return n === undefined ? (ins[1] ? undefined : 0) : r - n;
        }
        return undefined;
    }
  }

  private inferDims(name: string): (Dim | undefined)[] | undefined {
    const node = this.producer(name);
    if (!node || node.domain || node.output?.[0] !== name) return undefined;
    const ins = node.input ?? [];
    const op = node.opType ?? '';
    const at = (i: number): (Dim | undefined)[] | undefined => (ins[i] ? this.dims(ins[i]!) : undefined);
    const axesOf = (): number[] | undefined => (nodeAttr(node, 'axes') as number[] | undefined) ?? this.constInts(ins[1]);
    if (UNARY_SAME_SHAPE.has(op)) return at(0);
    if (BROADCAST.has(op)) {
      const all = ins.filter((n) => n).map((n) => this.dims(n));
      return all.every((d): d is (Dim | undefined)[] => d !== undefined) ? broadcastDims(all) : undefined;
    }
    switch (op) {
      case 'MatMul': {
        const a = at(0), b = at(1);
        if (!a || !b || a.length < 2 || b.length < 2) return undefined;
        return [...broadcastDims([a.slice(0, -2), b.slice(0, -2)]), a.at(-2), b.at(-1)];
      }
      case 'Gemm': {
        const a = at(0), b = at(1);
        if (!a || !b) return undefined;
        return [a[nodeAttr(node, 'transA') ? 1 : 0], b[nodeAttr(node, 'transB') ? 0 : 1]];
      }
      case 'Transpose': {
        const a = at(0);
        if (!a) return undefined;
        const perm = (nodeAttr(node, 'perm') as number[] | undefined) ?? a.map((_, i) => a.length - 1 - i);
        return perm.map((p) => a[p]);
      }
      case 'Reshape': {
        const shape = this.constInts(ins[1]), a = at(0);
        if (!shape) return undefined;
        const out: (Dim | undefined)[] = shape.map((d, i) => (d === 0 && !nodeAttr(node, 'allowzero') ? a?.[i] : d === -1 ? undefined : d));
        const known = (dims: (Dim | undefined)[] | undefined): number | undefined => (dims?.every((d): d is number => typeof d === 'number') ? dims.reduce((x, y) => x * y, 1) : undefined);
        const total = known(a), rest = known(out.filter((_, i) => shape[i] !== -1));
        const free = shape.indexOf(-1);
        if (free >= 0 && total !== undefined && rest) out[free] = total / rest;
        return out;
      }
      case 'Unsqueeze': {
        const a = at(0), axes = axesOf();
        if (!a || !axes) return undefined;
        const r = a.length + axes.length;
        const ones = new Set(axes.map((x) => (x < 0 ? x + r : x)));
        const rest = [...a];
        return Array.from({ length: r }, (_, i) => (ones.has(i) ? 1 : rest.shift()));
      }
      case 'Squeeze': {
        const a = at(0), axes = axesOf();
        if (!a || !axes) return undefined;
        const drop = new Set(axes.map((x) => (x < 0 ? x + a.length : x)));
        return a.filter((_, i) => !drop.has(i));
      }
      case 'Gather': {
        const a = at(0), idx = at(1);
        if (!a || !idx) return undefined;
        const axis = Number(nodeAttr(node, 'axis') ?? 0);
        const ax = axis < 0 ? axis + a.length : axis;
        return [...a.slice(0, ax), ...idx, ...a.slice(ax + 1)];
      }
      case 'Expand': {
        const a = at(0), shape = this.constInts(ins[1]);
        return a && shape ? broadcastDims([a, shape]) : undefined;
      }
      default:
        if (op.startsWith('Reduce')) {
          const a = at(0);
          if (!a) return undefined;
          const axes = axesOf();
          if (!axes && ins[1]) return undefined;
          if (!axes && nodeAttr(node, 'noop_with_empty_axes') === 1) return a;
          const reduced = new Set((axes ?? a.map((_, i) => i)).map((x) => (x < 0 ? x + a.length : x)));
          const keep = (nodeAttr(node, 'keepdims') ?? 1) !== 0;
          return keep ? a.map((d, i) => (reduced.has(i) ? 1 : d)) : a.filter((_, i) => !reduced.has(i));
        }
        return undefined;
    }
  }
}

/** Ops whose (first) output has the shape of their first input. */
const UNARY_SAME_SHAPE = new Set([
  'Relu', 'LeakyRelu', 'Tanh', 'Sigmoid', 'Erf', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Reciprocal', 'Softmax', 'LogSoftmax',
  'LayerNormalization', 'Cast', 'Identity', 'Dropout', 'Clip', 'Gelu', 'Softplus', 'Elu', 'HardSigmoid', 'Sin', 'Cos',
  'Floor', 'Ceil', 'Round', 'Sign', 'Not', 'IsNaN', 'IsInf', 'CumSum',
]);

/**
 * numpy broadcasting of dims: along each axis the result is the one size other than 1; an
 * unknown dim next to a known size > 1 must be 1 or that size, so the result is that size; two
 * different unknowns or symbols give an unknown dim.
 */
function broadcastDims(all: (Dim | undefined)[][]): (Dim | undefined)[] {
  const rank = Math.max(...all.map((d) => d.length));
  return Array.from({ length: rank }, (_, i) => {
    let out: Dim | undefined = 1;
    let unknown = false;
    for (const dims of all) {
      const d = dims[i - (rank - dims.length)] ?? (i < rank - dims.length ? 1 : undefined);
      if (d === 1) continue;
      if (d === undefined) { unknown = true; continue; }
      if (out === 1) out = d;
      else if (out !== d) {
        if (typeof out === 'number' && typeof d === 'string') continue;
        if (typeof d === 'number' && typeof out === 'string') { out = d; continue; }
        return undefined;
      }
    }
    if (out === 1 && unknown) return undefined;
    return typeof out === 'string' && unknown ? undefined : out;
  });
}
