import { DataType } from '../types.js';
import type { GradContext, GradientRule } from './context.js';

/** The gradient of an op that only rearranges or re-shapes its input's elements. */
const reshapeBack: GradientRule = (c) => [c.reshapeLike(c.dy, c.x(0))];

/** int64 tensor shaped like x holding each element's row-major position: Gather/Slice of it says where their outputs came from. */
function positionsOf(c: GradContext, x: string): string {
  const range = c.op('Range', [c.g.scalar(0, 'int64'), c.op('Size', [x]), c.g.scalar(1, 'int64')]);
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
  if (c.g.opset < 16) throw c.error(`has no gradient rule in kennis below opset 16 (it scatters with ScatterND reduction='add'); export the model at opset 16 or later and pass opts.opset`);
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

function concatRule(c: GradContext): (string | undefined)[] {
  const axis = c.attr('axis', 0);
  const inputs = c.node.input ?? [];
  const sizes = c.op('Concat', inputs.map((x) => c.dimsOf(x, axis, axis === -1 ? undefined : axis + 1)), { axis: 0 });
  const parts = c.g.node('Split', [c.dy, sizes], inputs.length, { axis });
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
  Slice: (c) => {
    const positions = c.op('Slice', [positionsOf(c, c.x(0)), ...(c.node.input ?? []).slice(1)]);
    return [scatterFlat(c, c.x(0), positions, c.dy, false)];
  },
  Gather: gatherRule,
  Concat: concatRule,
  Split: splitRule,
  Dropout: dropoutRule,
};
