import { attr } from './attributes.js';
import { dataTypeOf, tensorFromArray, type ElemType } from './tensor.js';
import { DataType } from './types.js';
import type { GraphBuilder } from './builder.js';

/**
 * Small op emitters that hide opset differences (axes moved from attributes to inputs in
 * opset 13 for ReduceSum/Squeeze/Unsqueeze and in opset 18 for the other reductions), so the
 * same code can append to teachers exported at any opset >= 11.
 */

/** Reduction ops kennis emits. */
export type ReduceOp = 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceLogSumExp' | 'ReduceProd';

const INT64_MAX = 2n ** 63n - 1n;

/** A float tensor (float32, or float64 for DataType.DOUBLE) of a dynamic shape (an int64 shape value) filled with `value`. */
export function filledTensor(g: GraphBuilder, shape: string, value: number, floatType: number = DataType.FLOAT, name?: string): string {
  const data = floatType === DataType.DOUBLE ? Float64Array.of(value) : Float32Array.of(value);
  return g.op('ConstantOfShape', [shape], { value: attr.tensor(tensorFromArray('value', data, [1])) }, { name });
}

/** A reduction over `axes`; the axes go where the graph's opset expects them. */
export function reduce(g: GraphBuilder, op: ReduceOp, x: string, axes: readonly number[], keepdims: boolean, name?: string): string {
  const axesAsInput = op === 'ReduceSum' ? g.opset >= 13 : g.opset >= 18;
  const keep = keepdims ? 1 : 0;
  return axesAsInput
    ? g.op(op, [x, g.int64s(axes, 'axes')], { keepdims: keep }, { name })
    : g.op(op, [x], { axes: [...axes], keepdims: keep }, { name });
}

/**
 * log(sum(exp(x))) over `axes`, as Log(ReduceSum(Exp(x - c))) + c with the shift c =
 * Floor(ReduceMax(x)): 6-18x faster than onnxruntime's ReduceLogSumExp kernel (scalar exp per
 * element) on [2048, 256] and [512, 32000]. Floor carries no gradient, so a differentiated graph
 * gets the plain softmax gradient and nothing through the max; c is within 1 of the max, so no
 * exp overflows and the sum is at least 1. Also returns the parts, for a softmax without another
 * pass: `exp` = exp(x - c) and its `sum` over `axes` (kept dims), softmax = exp / sum.
 */
export function logSumExp(g: GraphBuilder, x: string, axes: readonly number[], keepdims: boolean): { lse: string; exp: string; sum: string } {
  const shift = g.op('Floor', [reduce(g, 'ReduceMax', x, axes, true)]);
  const exp = g.op('Exp', [g.op('Sub', [x, shift])]);
  const sum = reduce(g, 'ReduceSum', exp, axes, true);
  const lse = g.op('Add', [g.op('Log', [sum]), shift]);
  // dropping size-1 axes with a reduction: a Squeeze would need the axes as a tensor at opset 13+
  return { lse: keepdims ? lse : reduce(g, 'ReduceMax', lse, axes, false), exp, sum };
}

/** Inserts size-1 axes. */
export function unsqueeze(g: GraphBuilder, x: string, axes: readonly number[]): string {
  return g.opset >= 13 ? g.op('Unsqueeze', [x, g.int64s(axes, 'axes')]) : g.op('Unsqueeze', [x], { axes: [...axes] });
}

/** x[start:end] along one axis (end undefined: to the end; negative indices count from the back). */
export function slice(g: GraphBuilder, x: string, axis: number, start: number | string, end?: number | string): string {
  const bound = (v: number | bigint | string, hint: string): string => (typeof v === 'string' ? v : g.int64s([v], hint));
  return g.op('Slice', [x, bound(start, 'starts'), bound(end ?? INT64_MAX, 'ends'), g.int64s([axis], 'axes')]);
}

/** Casts x to an element type. */
export function cast(g: GraphBuilder, x: string, to: ElemType): string {
  return g.op('Cast', [x], { to: dataTypeOf(to) });
}

/** x @ W (+ b): MatMul then Add. */
export function matmulAdd(g: GraphBuilder, x: string, w: string, b?: string): string {
  const y = g.op('MatMul', [x, w]);
  return b ? g.op('Add', [y, b]) : y;
}
