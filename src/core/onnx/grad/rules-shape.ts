import { DataType } from '../types.js';
import type { GradContext, GradientRule } from './context.js';

/** The gradient of an op that only rearranges or re-shapes its input's elements. */
const reshapeBack: GradientRule = (c) => [c.reshapeLike(c.dy, c.x(0))];

/** int64 tensor shaped like x holding each element's row-major position: Gather/Slice of it says where their outputs came from. */
function positionsOf(c: GradContext, x: string): string {
  const range = c.op('Range', [c.intScalar(0), c.op('Size', [x]), c.intScalar(1)]);
  return c.op('Reshape', [range, c.op('Shape', [x])]);
}

/** Scatters `updates` (any shape) into zeros shaped like `like` at the flat positions `positions` (same shape as updates). */
export function scatterFlat(c: GradContext, like: string, positions: string, updates: string, accumulate: boolean): string {
  const zeros = c.filled(c.op('Reshape', [c.op('Size', [like]), c.ints([1])]), 0);
  const index = c.op('Unsqueeze', [c.reshape(positions, c.ints([-1])), c.ints([-1])]);
  const flat = c.reshape(updates, c.ints([-1]));
  return c.reshapeLike(scatter(c, zeros, index, flat, accumulate), like);
}

/** ScatterND; with `accumulate`, duplicate indices add up (reduction='add', opset 16). */
export function scatter(c: GradContext, data: string, index: string, updates: string, accumulate: boolean): string {
  if (!accumulate) return c.op('ScatterND', [data, index, updates]);
  if (c.opset < 16) throw c.error(`has no gradient rule in kennis below opset 16 (it scatters with ScatterND reduction='add'); export the model at opset 16 or later and pass opts.opset`);
  return c.op('ScatterND', [data, index, updates], { reduction: 'add' });
}

function gatherRule(c: GradContext): (string | undefined)[] {
  const [data, indices] = [c.x(0), c.x(1)];
  if (!c.needs(0)) return [];
  const axis = c.attr('axis', 0);
  const rank = c.facts.rank(data);
  if (axis === 0 || (rank !== undefined && axis === -rank)) {
    // row lookups (embeddings): each output row adds into the table row it was read from
    // ScatterND takes int64 indices only (Gather also int32)
    const ids = c.facts.elemType(indices) === DataType.INT64 ? indices : c.op('Cast', [indices], { to: DataType.INT64 });
    const index = c.op('Unsqueeze', [ids, c.ints([-1])]);
    return [scatter(c, c.filledLike(data, 0), index, c.dy, true)];
  }
  const positions = c.op('Gather', [positionsOf(c, data), indices], { axis });
  return [scatterFlat(c, data, positions, c.dy, true)];
}

/**
 * ScatterND without reduction (its indices are unique by the ONNX spec): data's gradient is dy
 * with the overwritten positions zeroed, updates' gradient is dy read back at them.
 */
function scatterNDRule(c: GradContext): (string | undefined)[] {
  const reduction = c.attr('reduction', 'none');
  if (reduction !== 'none') throw c.error(`has no gradient rule in kennis with reduction '${reduction}'`);
  const [index, updates] = [c.x(1), c.x(2)];
  return [
    c.needs(0) ? c.op('ScatterND', [c.dy, index, c.filledLike(updates, 0)]) : undefined,
    undefined,
    c.needs(2) ? c.op('GatherND', [c.dy, index]) : undefined,
  ];
}

function concatRule(c: GradContext): (string | undefined)[] {
  const axis = c.attr('axis', 0);
  const inputs = c.node.input ?? [];
  const known = inputs.map((x) => {
    const dims = c.facts.dims(x);
    return dims?.[axis < 0 ? axis + dims.length : axis];
  });
  const sizes = known.every((d): d is number => typeof d === 'number')
    ? c.ints(known)
    : c.op('Concat', inputs.map((x) => c.dimsOf(x, axis, axis === -1 ? undefined : axis + 1)), { axis: 0 });
  const parts = c.multiOutput('Split', [c.dy, sizes], inputs.length, { axis });
  return inputs.map((_, i) => (c.needs(i) ? parts[i] : undefined));
}

function splitRule(c: GradContext): (string | undefined)[] {
  const parts = (c.node.output ?? []).map((y, i) => c.dys[i] ?? c.filledLike(y, 0));
  return [c.op('Concat', parts, { axis: c.attr('axis', 0) })];
}

/** Dropout in inference mode is the identity; masks drawn inside the graph cannot be replayed by the backward pass. */
function dropoutRule(c: GradContext): (string | undefined)[] {
  if (c.x(2)) throw c.error('has no gradient rule in kennis in training mode; express dropout as Mul(x, mask) with the mask fed as a graph input');
  return [c.dy];
}

/** Pad (constant mode, pads >= 0): the gradient is dy without the padding, a Slice from pads_begin to dims - pads_end. */
function padRule(c: GradContext): (string | undefined)[] {
  if (c.attr('mode', 'constant') !== 'constant') throw c.error(`has no gradient rule in kennis for mode '${c.attr('mode', '')}'; use constant padding`);
  if (c.x(3)) throw c.error('has no gradient rule in kennis with an axes input; give pads for every axis');
  const pads = c.x(1);
  const rank = c.op('Div', [c.op('Size', [pads]), c.intScalar(2)]);
  const half = (from: string | undefined, to: string | undefined): string =>
    c.op('Slice', [pads, from ?? c.ints([0]), to ?? c.ints([Number.MAX_SAFE_INTEGER])]);
  const r = c.op('Reshape', [rank, c.ints([1])]);
  const begin = half(undefined, r), end = half(r, undefined);
  return [c.op('Slice', [c.dy, begin, c.op('Sub', [c.op('Shape', [c.dy]), end])])];
}

/** Tile: dy viewed as [repeats_0, dims_0, repeats_1, dims_1, ...] summed over the repeat axes. */
function tileRule(c: GradContext): (string | undefined)[] {
  const [x, repeats] = [c.x(0), c.x(1)];
  const rank = c.facts.rank(x) ?? c.facts.constInts(repeats)?.length;
  if (rank === undefined) throw c.error('has no gradient rule in kennis for an input of unknown rank; declare its shape');
  const pairs = c.op('Concat', [c.op('Unsqueeze', [repeats, c.ints([1])]), c.op('Unsqueeze', [c.op('Shape', [x]), c.ints([1])])], { axis: 1 });
  const split = c.reshape(c.dy, c.op('Reshape', [pairs, c.ints([-1])]));
  return [c.reduceSum(split, Array.from({ length: rank }, (_, i) => 2 * i), false)];
}

/**
 * Slice: with unit steps, dy padded back with zeros (pads from the clamped starts and ends, so
 * negative and out-of-range bounds work, fed or constant); with other steps, dy scattered to
 * the positions the same Slice picks from an index tensor.
 */
function sliceRule(c: GradContext): (string | undefined)[] {
  const [x, starts, ends, axesIn, steps] = [c.x(0), c.x(1), c.x(2), c.x(3), c.x(4)];
  const rank = c.facts.rank(x);
  const count = c.facts.constInts(starts)?.length ?? c.facts.staticDims(starts)?.[0];
  const axes = axesIn ? c.facts.constInts(axesIn) : count === undefined ? undefined : Array.from({ length: count }, (_, i) => i);
  const unitSteps = !steps || c.facts.constInts(steps)?.every((v) => v === 1);
  if (!unitSteps || rank === undefined || !axes) {
    const positions = c.op('Slice', [positionsOf(c, x), ...(c.node.input ?? []).slice(1)]);
    return [scatterFlat(c, x, positions, c.dy, false)];
  }
  const normalized = axes.map((a) => (a < 0 ? a + rank : a));
  const dims = c.op('Gather', [c.op('Shape', [x]), c.ints(normalized)], { axis: 0 });
  const zero = c.intScalar(0);
  const clamp = (given: string): string => {
    const bound = c.facts.elemType(given) === DataType.INT64 ? given : c.op('Cast', [given], { to: DataType.INT64 });
    const wrapped = c.op('Where', [c.op('Less', [bound, zero]), c.op('Add', [bound, dims]), bound]);
    return c.op('Max', [c.op('Min', [wrapped, dims]), zero]);
  };
  const begin = clamp(starts);
  const end = c.op('Max', [clamp(ends), begin]);
  const after = c.op('Sub', [dims, end]);
  const perAxis = (v: string): string[] => Array.from({ length: rank }, (_, i) => {
    const j = normalized.indexOf(i);
    return j < 0 ? c.ints([0]) : c.op('Slice', [v, c.ints([j]), c.ints([j + 1])]);
  });
  const pads = c.op('Concat', [...perAxis(begin), ...perAxis(after)], { axis: 0 });
  return [c.op('Pad', [c.dy, pads])];
}

/** Rules for ops that move, select or re-shape elements. */
export const SHAPE_RULES: Record<string, GradientRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Expand: (c) => [c.reduceTo(c.dy, c.x(0), c.y())],
  Transpose: (c) => {
    const perm = c.attr<number[] | undefined>('perm', undefined);
    if (!perm) return [c.op('Transpose', [c.dy])];
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => { inverse[p] = i; });
    return [c.op('Transpose', [c.dy], { perm: inverse })];
  },
  Slice: sliceRule,
  Gather: gatherRule,
  ScatterND: scatterNDRule,
  Concat: concatRule,
  Split: splitRule,
  Dropout: dropoutRule,
  Pad: padRule,
  Tile: tileRule,
};
