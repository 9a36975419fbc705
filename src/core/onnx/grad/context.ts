import { TrainError } from '../../errors/index.js';
import { attr } from '../attributes.js';
import type { GraphBuilder } from '../builder.js';
import { tensorFromArray } from '../tensor.js';
import { DataType, type NodeProto } from '../types.js';
import { filledTensor } from '../ops.js';
import { nodeAttr, type GraphFacts } from './facts.js';

/**
 * Fresh name hints for generated nodes and constants: GraphBuilder probes base, base_1, base_2,
 * ... for a free name, which is quadratic when one hint is reused thousands of times.
 */
export class Namer {
  private count = 0;
  hint(base: string): string {
    return `${base}${++this.count}`;
  }
}

/** Everything a gradient rule sees of one forward node. */
export class GradContext {
  constructor(
    /** Appends backward nodes to the graph (through op/node/ints/scalar, which name them). */
    private readonly g: GraphBuilder,
    private readonly namer: Namer,
    /** What the graph declares about its values (ranks, dims, constants). */
    readonly facts: GraphFacts,
    /** The forward node being differentiated. */
    readonly node: NodeProto,
    /** Gradients of the node's outputs (undefined: that output does not reach the loss). */
    readonly dys: readonly (string | undefined)[],
    private readonly wanted: (name: string) => boolean,
    /** ONNX DataType code of the float values being differentiated. */
    readonly floatType: number,
  ) {}

  /** Gradient of output 0; a node reached only through another output has no rule. */
  get dy(): string {
    const d = this.dys[0];
    if (d === undefined) throw this.error(`has no gradient rule in kennis when only output ${this.dys.findIndex((x) => x !== undefined)} reaches the loss; use its first output`);
    return d;
  }

  /** Name of input i ('' when absent). */
  x(i: number): string {
    return this.node.input?.[i] ?? '';
  }

  /** Name of output i. */
  y(i = 0): string {
    return this.node.output?.[i] ?? '';
  }

  /** True if the gradient of input i is needed (the input lies on a path from a wrt value to the loss). */
  needs(i: number): boolean {
    const name = this.x(i);
    return name !== '' && this.wanted(name);
  }

  /** Attribute value with a default. */
  attr(name: string, fallback: number): number;
  attr(name: string, fallback: string): string;
  attr<T>(name: string, fallback: T): T;
  attr<T>(name: string, fallback: T): T {
    return (nodeAttr(this.node, name) as T | undefined) ?? fallback;
  }

  /** A TrainError naming this node. */
  error(why: string): TrainError {
    return new TrainError(`op '${this.node.opType}' (node '${this.node.name ?? ''}') ${why}`);
  }

  /** Default-domain opset the backward nodes are written against. */
  get opset(): number {
    return this.g.opset;
  }

  /** Appends a single-output node. */
  op(opType: string, inputs: readonly string[], attrs: Parameters<GraphBuilder['op']>[2] = {}): string {
    return this.g.op(opType, inputs, attrs, { name: this.namer.hint(opType) });
  }

  /** Appends a node with `outputs` outputs. */
  multiOutput(opType: string, inputs: readonly string[], outputs: number, attrs: Parameters<GraphBuilder['op']>[2] = {}): string[] {
    return this.g.node(opType, inputs, outputs, attrs, { name: this.namer.hint(opType) });
  }

  /** A 0-D constant of the differentiated float type. */
  scalar(value: number): string {
    return this.g.scalar(value, this.floatType === DataType.DOUBLE ? 'float64' : 'float32', this.namer.hint('scalar'));
  }

  /** A 0-D int64 constant. */
  intScalar(value: number): string {
    return this.g.scalar(value, 'int64', this.namer.hint('int'));
  }

  /** int64 1-D constant. */
  ints(values: readonly number[]): string {
    return this.g.int64s(values, this.namer.hint('ints'));
  }

  /** Casts an int64/bool value to the differentiated float type. */
  toFloat(x: string): string {
    return this.op('Cast', [x], { to: this.floatType });
  }

  /** A float tensor of x's shape filled with `value`. */
  filledLike(x: string, value: number): string {
    return this.filled(this.op('Shape', [x]), value);
  }

  /** A float tensor of a (dynamic) shape filled with `value`. */
  filled(shape: string, value: number): string {
    return filledTensor(this.g, shape, value, this.floatType, this.namer.hint('filled'));
  }

  /** dims(x)[from:to] as an int64 1-D tensor (to undefined: to the end). */
  dimsOf(x: string, from: number, to?: number): string {
    const inputs = [this.op('Shape', [x]), this.ints([from])];
    if (to !== undefined) inputs.push(this.ints([to]));
    else inputs.push(this.ints([Number.MAX_SAFE_INTEGER]));
    return this.op('Slice', inputs);
  }

  /**
   * Reshape; a Reshape of a Reshape output reads the first one's input instead (the same values,
   * and onnxruntime 1.30's fusion of consecutive Reshapes fails on Shape-computed shapes).
   */
  reshape(x: string, shape: string): string {
    const producer = this.facts.producer(x);
    if (producer?.opType === 'Reshape' && !producer.domain) x = producer.input![0]!;
    return this.op('Reshape', [x, shape]);
  }

  /** Reshapes a gradient back to x's (dynamic) shape. */
  reshapeLike(grad: string, x: string): string {
    return this.reshape(grad, this.op('Shape', [x]));
  }

  /** ReduceSum over constant axes (opset >= 13 form). */
  reduceSum(x: string, axes: readonly number[] | string, keepdims: boolean): string {
    return this.op('ReduceSum', [x, typeof axes === 'string' ? axes : this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }

  /** Swaps the last two axes (Transpose when the rank is known, else Einsum with an ellipsis). */
  transposeLast2(x: string): string {
    const r = this.facts.rank(x);
    if (r === undefined) return this.op('Einsum', [x], { equation: '...ij->...ji' });
    const perm = Array.from({ length: r }, (_, i) => i);
    [perm[r - 2], perm[r - 1]] = [r - 1, r - 2];
    return this.op('Transpose', [x], { perm });
  }

  /**
   * Sums a gradient of a broadcast result (shaped like `result`) back to the shape of the input
   * `x`. When the dims of x and of the result are known well enough (declared, or inferred with
   * symbolic dims such as 'batch' tracked through the graph) the reduced axes are constants, or
   * no reduction is needed at all; otherwise they are computed in the graph from Shape(x) and
   * Shape(grad), so broadcasting over dynamic dims works with no shape information at all.
   */
  reduceTo(grad: string, x: string, result: string): string {
    const known = this.facts.broadcastAxes(x, result);
    if (known) {
      if (known.length === 0) return grad;
      const lead = this.facts.rank(result)! - this.facts.rank(x)!;
      if (known.every((a) => a < lead)) return this.reduceSum(grad, known, false);
      const summed = this.reduceSum(grad, known, true);
      return lead > 0 ? this.op('Squeeze', [summed, this.ints(known.filter((a) => a < lead))]) : summed;
    }
    const f = this.facts;
    const yr = f.rank(result);
    const sx = this.op('Shape', [x]);
    const xr = f.rank(x);
    let padded = sx;
    if (xr !== undefined && yr !== undefined) {
      if (yr > xr) padded = this.op('Concat', [this.ints(Array(yr - xr).fill(1)), sx], { axis: 0 });
    } else {
      const extra = this.op('Sub', [this.op('Size', [this.op('Shape', [grad])]), this.op('Size', [sx])]);
      const ones = this.op('ConstantOfShape', [this.op('Reshape', [extra, this.ints([1])])], {
        value: attr.tensor(tensorFromArray('value', BigInt64Array.of(1n), [1])),
      });
      padded = this.op('Concat', [ones, sx], { axis: 0 });
    }
    // size-1 axes of x (after left-padding its shape to the result's rank) are the broadcast ones;
    // summing an axis that is 1 in both is a no-op
    const axes = this.op('Reshape', [this.op('NonZero', [this.op('Equal', [padded, this.intScalar(1)])]), this.ints([-1])]);
    const summed = this.op('ReduceSum', [grad, axes], { keepdims: 1, noop_with_empty_axes: 1 });
    return this.reshape(summed, sx);
  }
}

/** A gradient rule: the gradients of the node's inputs, by input index (undefined: none). */
export type GradientRule = (c: GradContext) => (string | undefined)[];
