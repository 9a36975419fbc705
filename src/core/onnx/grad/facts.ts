import { attributeValue } from '../attributes.js';
import { tensorToArray, valueInfoDims, type Dim } from '../tensor.js';
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
 * (graph inputs, outputs, initializers, value_info, Constant nodes) and ranks inferred from
 * those through common ops. Used to pick static reductions over Shape-based ones.
 */
export class GraphFacts {
  private readonly producers = new Map<string, NodeProto>();
  private indexed = 0;
  private readonly declaredDims = new Map<string, (Dim | undefined)[]>();
  private readonly declaredType = new Map<string, number>();
  private readonly constants = new Map<string, TensorProto>();
  private readonly ranks = new Map<string, number | undefined>();

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
      }
      if (node.opType === 'Cast') this.declaredType.set(node.output![0]!, nodeAttr(node, 'to') as number);
    }
  }

  /** The node that computes a value (nodes appended since construction included), if any. */
  producer(name: string): NodeProto | undefined {
    const nodes = this.graph.node ?? [];
    for (; this.indexed < nodes.length; this.indexed++) {
      for (const o of nodes[this.indexed]!.output ?? []) if (o) this.producers.set(o, nodes[this.indexed]!);
    }
    return this.producers.get(name);
  }

  private addConstant(name: string, t: TensorProto): void {
    this.constants.set(name, t);
    this.declaredDims.set(name, (t.dims ?? []).map(Number));
    if (t.dataType) this.declaredType.set(name, t.dataType);
  }

  /** True if the value is a graph initializer or a Constant node output. */
  isConstant(name: string): boolean {
    return this.constants.has(name);
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

  /** Declared dims (numbers, symbolic names, or undefined for unnamed dynamic dims), if any. */
  dims(name: string): (Dim | undefined)[] | undefined {
    return this.declaredDims.get(name);
  }

  /** Declared dims when every one is a number. */
  staticDims(name: string): number[] | undefined {
    const d = this.dims(name);
    return d && d.every((x): x is number => typeof x === 'number') ? d : undefined;
  }

  /** Rank of a value, from declarations or inferred through its producer; undefined when unknown. */
  rank(name: string): number | undefined {
    if (this.ranks.has(name)) return this.ranks.get(name);
    const r = this.inferRank(name);
    this.ranks.set(name, r);
    return r;
  }

  private inferRank(name: string): number | undefined {
    const declared = this.dims(name);
    if (declared) return declared.length;
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
}
