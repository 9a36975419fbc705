import { KennisError } from '../errors/index.js';
import { attr } from './attributes.js';
import type { GraphBuilder } from './builder.js';
import { matmulAdd, reduce } from './ops.js';
import { shapeSize } from './tensor.js';

/** A float32 weight with its shape (row-major). */
export interface Weight {
  /** Values, row-major. */
  data: Float32Array;
  /** Shape. */
  dims: number[];
}

/** Activations the layer helpers can append. */
export type Activation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'gelu' | 'gelu_tanh' | 'softmax';

/** Adds a weight as an initializer named after `hint`, checking its size. */
export function weight(g: GraphBuilder, w: Weight, hint: string): string {
  if (shapeSize(w.dims) !== w.data.length) {
    throw new KennisError(`weight '${hint}' expected ${shapeSize(w.dims)} values for shape [${w.dims.join(',')}], got ${w.data.length}`);
  }
  return g.constant(w.data, w.dims, hint);
}

/** Applies an activation; gelu uses the opset-20 Gelu op when available, else its erf / tanh formula. */
export function activation(g: GraphBuilder, x: string, kind: Activation): string {
  switch (kind) {
    case 'linear': return x;
    case 'relu': return g.op('Relu', [x]);
    case 'tanh': return g.op('Tanh', [x]);
    case 'sigmoid': return g.op('Sigmoid', [x]);
    case 'softmax': return softmax(g, x);
    case 'gelu':
      if (g.opset >= 20) return g.op('Gelu', [x]);
      // 0.5 x (1 + erf(x / sqrt 2)), the pattern onnxruntime fuses into one kernel
      return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [g.op('Erf', [g.op('Div', [x, g.scalar(Math.SQRT2)])]), g.scalar(1)])]);
    case 'gelu_tanh': {
      if (g.opset >= 20) return g.op('Gelu', [x], { approximate: 'tanh' });
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
      const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
      return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.scalar(1)])]);
    }
  }
}

/** y = act(x @ W + b) with W [in, out] (the tfjs Dense kernel layout). */
export function dense(g: GraphBuilder, x: string, W: Weight, b?: Weight, act: Activation = 'linear', hint = 'dense'): string {
  return activation(g, matmulAdd(g, x, weight(g, W, `${hint}.W`), b && weight(g, b, `${hint}.b`)), act);
}

/** Row lookup: table [V, d] gathered at integer ids [...] -> [..., d]. */
export function embedding(g: GraphBuilder, ids: string, table: Weight, hint = 'embedding'): string {
  return g.op('Gather', [weight(g, table, `${hint}.table`), ids], { axis: 0 });
}

/** Softmax over the last axis. */
export function softmax(g: GraphBuilder, x: string, axis = -1): string {
  return g.op('Softmax', [x], { axis });
}

/** LayerNorm over the last axis: LayerNormalization from opset 17, else mean/variance nodes. */
export function layerNorm(g: GraphBuilder, x: string, gamma: Weight, beta: Weight, eps = 1e-5, hint = 'ln'): string {
  const scale = weight(g, gamma, `${hint}.gamma`);
  const bias = weight(g, beta, `${hint}.beta`);
  if (g.opset >= 17) return g.op('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: attr.float(eps) });
  const centered = g.op('Sub', [x, reduce(g, 'ReduceMean', x, [-1], true)]);
  const variance = reduce(g, 'ReduceMean', g.op('Mul', [centered, centered]), [-1], true);
  const normed = g.op('Div', [centered, g.op('Sqrt', [g.op('Add', [variance, g.scalar(eps)])])]);
  return g.op('Add', [g.op('Mul', [normed, scale]), bias]);
}

/** Options for conv2d. */
export interface Conv2dOptions {
  /** Strides [sH, sW] (default [1, 1]). */
  strides?: [number, number];
  /** Pads [top, left, bottom, right] (default none). */
  pads?: [number, number, number, number];
  /** 'SAME_UPPER' pads like tfjs padding 'same'; overrides pads. */
  autoPad?: 'SAME_UPPER' | 'VALID';
  /** Dilations [dH, dW] (default [1, 1]). */
  dilations?: [number, number];
  /** Groups (default 1). */
  group?: number;
}

/** NCHW convolution with kernel W [outC, inC/group, kH, kW] (see hwioToOihw for tfjs kernels) and bias [outC]. */
export function conv2d(g: GraphBuilder, x: string, W: Weight, b?: Weight, opts: Conv2dOptions = {}, act: Activation = 'linear', hint = 'conv'): string {
  const inputs = [x, weight(g, W, `${hint}.W`), ...(b ? [weight(g, b, `${hint}.b`)] : [])];
  const y = g.op('Conv', inputs, {
    kernel_shape: W.dims.slice(2), strides: opts.strides, dilations: opts.dilations, group: opts.group,
    ...(opts.autoPad ? { auto_pad: opts.autoPad } : { pads: opts.pads }),
  });
  return activation(g, y, act);
}

/** Options for pooling. */
export interface PoolOptions {
  /** Window [kH, kW]. */
  kernel: [number, number];
  /** Strides (default: the window). */
  strides?: [number, number];
  /** Pads [top, left, bottom, right] (default none). */
  pads?: [number, number, number, number];
}

/** NCHW max pooling. */
export function maxPool(g: GraphBuilder, x: string, opts: PoolOptions): string {
  return g.op('MaxPool', [x], { kernel_shape: opts.kernel, strides: opts.strides ?? opts.kernel, pads: opts.pads });
}

/** Flattens to 2-D [prod(dims[:axis]), prod(dims[axis:])]. */
export function flatten(g: GraphBuilder, x: string, axis = 1): string {
  return g.op('Flatten', [x], { axis });
}

/** Reshape to a fixed shape (0 copies the input dim, -1 infers one dim). */
export function reshape(g: GraphBuilder, x: string, shape: readonly number[]): string {
  return g.op('Reshape', [x, g.int64s(shape, 'shape')]);
}

/** Permutes axes. */
export function transpose(g: GraphBuilder, x: string, perm: readonly number[]): string {
  return g.op('Transpose', [x], { perm: [...perm] });
}

/** tfjs conv kernel [kH, kW, inC, outC] -> ONNX [outC, inC, kH, kW]. */
export function hwioToOihw(w: Weight): Weight {
  const [kh, kw, ci, co] = w.dims as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let h = 0; h < kh; h++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) {
    out[((o * ci + i) * kh + h) * kw + x] = w.data[((h * kw + x) * ci + i) * co + o]!;
  }
  return { data: out, dims: [co, ci, kh, kw] };
}
