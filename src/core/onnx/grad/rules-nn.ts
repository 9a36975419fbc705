import type { AttrValue } from '../attributes.js';
import type { GradContext, GradientRule } from './context.js';
import { scatterFlat } from './rules-shape.js';

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** Mean over axes with keepdims (axes as an attribute before opset 18, as an input from 18). */
const mean = (c: GradContext, x: string, axes: number[]): string =>
  (c.opset >= 18 ? c.op('ReduceMean', [x, c.ints(axes)], { keepdims: 1 }) : c.op('ReduceMean', [x], { axes, keepdims: 1 }));

/**
 * LayerNormalization over axes [axis, rank): with xhat = (x - mean) * invstd and g = dy * scale,
 * dx = invstd (g - mean(g) - xhat mean(g xhat)); dscale = sum(dy xhat), dbias = sum(dy) over the
 * leading axes. Mean and invstd are recomputed from x.
 */
function layerNormRule(c: GradContext): (string | undefined)[] {
  const [x, scale, bias] = [c.x(0), c.x(1), c.x(2)];
  const axis = c.attr('axis', -1);
  let axes: number[];
  if (axis < 0) axes = range(axis, 0);
  else {
    const rank = c.facts.rank(x);
    if (rank === undefined) throw c.error('has no gradient rule in kennis for a non-negative axis on an input of unknown rank; use axis=-1 or declare the input shape');
    axes = range(axis, rank);
  }
  const centered = c.op('Sub', [x, mean(c, x, axes)]);
  const variance = mean(c, c.op('Mul', [centered, centered]), axes);
  const invStd = c.op('Reciprocal', [c.op('Sqrt', [c.op('Add', [variance, c.scalar(c.attr('epsilon', 1e-5))])])]);
  const xhat = c.op('Mul', [centered, invStd]);
  let dx: string | undefined;
  if (c.needs(0)) {
    const gy = c.op('Mul', [c.dy, scale]);
    const inner = c.op('Sub', [c.op('Sub', [gy, mean(c, gy, axes)]), c.op('Mul', [xhat, mean(c, c.op('Mul', [gy, xhat]), axes)])]);
    dx = c.op('Mul', [invStd, inner]);
  }
  return [
    dx,
    c.needs(1) ? c.reduceTo(c.op('Mul', [c.dy, xhat]), scale, c.y()) : undefined,
    c.needs(2) ? c.reduceTo(c.dy, bias, c.y()) : undefined,
  ];
}

/** Gelu (opset 20), exact (erf) or tanh approximation. */
function geluRule(c: GradContext): (string | undefined)[] {
  const x = c.x(0);
  const mul = (...v: string[]): string => v.reduce((a, b) => c.op('Mul', [a, b]));
  let local: string;
  if (c.attr('approximate', 'none') === 'tanh') {
    // y = x/2 (1 + t), t = tanh(k (x + a x^3)): y' = (1 + t)/2 + x/2 (1 - t^2) k (1 + 3a x^2)
    const k = Math.sqrt(2 / Math.PI), a = 0.044715;
    const x2 = mul(x, x);
    const t = c.op('Tanh', [mul(c.scalar(k), c.op('Add', [x, mul(c.scalar(a), x2, x)]))]);
    const half = c.op('Mul', [c.op('Add', [c.scalar(1), t]), c.scalar(0.5)]);
    const slope = mul(x, c.scalar(0.5 * k), c.op('Sub', [c.scalar(1), mul(t, t)]), c.op('Add', [c.scalar(1), mul(c.scalar(3 * a), x2)]));
    local = c.op('Add', [half, slope]);
  } else {
    // y = x Phi(x): y' = Phi(x) + x phi(x)
    const cdf = mul(c.scalar(0.5), c.op('Add', [c.scalar(1), c.op('Erf', [mul(x, c.scalar(Math.SQRT1_2))])]));
    const pdf = mul(c.scalar(1 / Math.sqrt(2 * Math.PI)), c.op('Exp', [mul(c.scalar(-0.5), x, x)]));
    local = c.op('Add', [cdf, mul(x, pdf)]);
  }
  return [c.op('Mul', [c.dy, local])];
}

/** Kernel, strides, dilations and explicit pads of a Conv or pooling node. */
interface Window { kernel: number[]; strides: number[]; dilations: number[]; pads: number[] }

function windowOf(c: GradContext, kernelFromWeights?: string): Window {
  const kernel = c.attr<number[] | undefined>('kernel_shape', undefined) ?? (kernelFromWeights ? c.facts.staticDims(kernelFromWeights)?.slice(2) : undefined);
  if (!kernel) throw c.error('has no gradient rule in kennis without a kernel_shape attribute or static weight dims; set kernel_shape');
  const n = kernel.length;
  const strides = c.attr('strides', Array<number>(n).fill(1));
  const dilations = c.attr('dilations', Array<number>(n).fill(1));
  let pads = c.attr('pads', Array<number>(2 * n).fill(0));
  const autoPad = c.attr('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = Array<number>(2 * n).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // with stride 1 'same' padding does not depend on the input size
    if (strides.some((s) => s !== 1)) throw c.error(`has no gradient rule in kennis for auto_pad=${autoPad} with strides > 1; give explicit pads`);
    const total = kernel.map((k, i) => (k - 1) * dilations[i]!);
    const begin = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    pads = [...begin, ...total.map((t, i) => t - begin[i]!)];
  }
  return { kernel, strides, dilations, pads };
}

/**
 * The transpose of a windowed op (Conv, AveragePool) applied to v: a ConvTranspose with kernel
 * `weights`, sized like x's spatial dims. With strides > 1 the windows may stop short of x's end
 * or run into its end padding by an amount that depends on x's size, so the ConvTranspose gets the
 * leading pads only and its output is cut or zero-padded to x's size in the graph.
 */
function transposedWindow(c: GradContext, v: string, weights: string, x: string, win: Window): string {
  const n = win.kernel.length;
  const strided = win.strides.some((s) => s !== 1);
  const pads = strided ? [...win.pads.slice(0, n), ...Array<number>(n).fill(0)] : win.pads;
  const t = c.op('ConvTranspose', [v, weights], { kernel_shape: win.kernel, strides: win.strides, dilations: win.dilations, pads });
  if (!strided) return t;
  const cut = c.op('Slice', [t, c.ints(Array<number>(n).fill(0)), c.dimsOf(x, 2), c.ints(range(2, n + 2))]);
  const missing = c.op('Sub', [c.dimsOf(x, 2), c.dimsOf(cut, 2)]);
  return c.op('Pad', [cut, c.op('Concat', [c.ints(Array<number>(n + 4).fill(0)), missing], { axis: 0 })]);
}

/** Conv (group 1): dx by ConvTranspose with the same weights, dw by a Conv of x and dy with batch and channels swapped. */
function convRule(c: GradContext): (string | undefined)[] {
  const [x, w] = [c.x(0), c.x(1)];
  if (c.attr('group', 1) !== 1) throw c.error('has no gradient rule in kennis for group != 1; use group=1 convolutions');
  const win = windowOf(c, w);
  const n = win.kernel.length;
  const swap = [1, 0, ...range(2, n + 2)];
  let dx: string | undefined, dw: string | undefined;
  if (c.needs(0)) {
    dx = transposedWindow(c, c.dy, w, x, win);
  }
  if (c.needs(1)) {
    // dW[m, c, i] = sum_{n, o} dy[n, m, o] x[n, c, o s + i d]: a Conv over x^T with kernel dy^T, stride d and dilation s
    let t = c.op('Conv', [c.op('Transpose', [x], { perm: swap }), c.op('Transpose', [c.dy], { perm: swap })], {
      strides: win.dilations, dilations: win.strides, pads: win.pads,
    });
    if (win.strides.some((s) => s !== 1)) t = c.op('Slice', [t, c.ints(Array<number>(n).fill(0)), c.ints(win.kernel), c.ints(range(2, n + 2))]);
    dw = c.op('Transpose', [t], { perm: swap });
  }
  return [dx, dw, c.needs(2) ? c.reduceSum(c.dy, [0, ...range(2, n + 2)], false) : undefined];
}

/** Copies a node's attributes for another node of the same op. */
function sameAttributes(c: GradContext): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of c.node.attribute ?? []) {
    const { name, ...rest } = a;
    if (name) out[name] = { $attr: rest };
  }
  return out;
}

/** MaxPool: the gradient goes to the element each window picked (the Indices output, recomputed when the node lacks it). */
function maxPoolRule(c: GradContext): (string | undefined)[] {
  const x = c.x(0);
  if (c.attr('storage_order', 0) !== 0) throw c.error('has no gradient rule in kennis for storage_order=1; use the default row-major order');
  const win = windowOf(c);
  const indices = c.y(1) || c.multiOutput('MaxPool', [x], 2, sameAttributes(c))[1]!;
  const overlapping = win.strides.some((s, i) => s < (win.kernel[i]! - 1) * win.dilations[i]! + 1);
  return [scatterFlat(c, x, indices, c.dy, overlapping)];
}

/** AveragePool: each window spreads dy / count back over its elements (a ConvTranspose with a ones kernel, channels folded into the batch). */
function avgPoolRule(c: GradContext): (string | undefined)[] {
  const x = c.x(0);
  if (c.attr('ceil_mode', 0) !== 0) throw c.error('has no gradient rule in kennis for ceil_mode=1; use ceil_mode=0');
  const win = windowOf(c);
  if (win.dilations.some((d) => d !== 1)) throw c.error('has no gradient rule in kennis for dilations > 1');
  const size = win.kernel.reduce((a, k) => a * k, 1);
  const folded = c.reshape(c.dy, c.op('Concat', [c.ints([-1, 1]), c.dimsOf(c.dy, 2)], { axis: 0 }));
  let divisor = c.scalar(size);
  if (c.attr('count_include_pad', 0) === 0 && win.pads.some((p) => p !== 0)) {
    // windows at the border average over fewer elements: count them by pooling ones with pads counted as zeros
    const ones = c.filled(c.op('Concat', [c.ints([1, 1]), c.dimsOf(x, 2)], { axis: 0 }), 1);
    const attrs = { ...sameAttributes(c), count_include_pad: 1 };
    divisor = c.op('Mul', [c.op('AveragePool', [ones], attrs), c.scalar(size)]);
  }
  const onesKernel = c.filled(c.ints([1, 1, ...win.kernel]), 1);
  return [c.reshapeLike(transposedWindow(c, c.op('Div', [folded, divisor]), onesKernel, x, win), x)];
}

/** Rules for normalization, activations with their own op, convolution and pooling. */
export const NN_RULES: Record<string, GradientRule> = {
  LayerNormalization: layerNormRule,
  Gelu: geluRule,
  Conv: convRule,
  MaxPool: maxPoolRule,
  AveragePool: avgPoolRule,
  GlobalAveragePool: (c) => {
    const count = c.toFloat(c.op('Div', [c.op('Size', [c.x(0)]), c.op('Size', [c.y()])]));
    return [c.op('Expand', [c.op('Div', [c.dy, count]), c.op('Shape', [c.x(0)])])];
  },
};
