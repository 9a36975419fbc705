/**
 * Gradient checks: the backward graph appended by appendGradients runs in float32 in
 * onnxruntime; its outputs are compared with central finite differences of the loss computed in
 * float64 (the same forward graph converted to double and run in onnxruntime, or a float64 JS
 * reference for ops onnxruntime has no double kernel for: Erf, Conv, AveragePool).
 *
 * Tolerance: |analytic - fd| <= 1e-3 |fd| + 1e-5 max|fd| + 1e-7 per element. The double FD with
 * step 1e-5 is exact to ~1e-9 relative (truncation h^2 f''' plus 1e-16/h roundoff), so the error
 * is the float32 backward pass itself: unit roundoff 6e-8 grown by sums of tens to hundreds of
 * terms stays near 1e-5 relative to the largest entry of a gradient, 100x below the bound; the
 * max|fd| floor covers elements that are near zero through cancellation. Measured over the
 * 196 checks of test/onnx-grad (KENNIS_GRAD_ERRORS=1 prints each): worst |backward - fd| was
 * 4e-7 of max|fd| (median 6e-8).
 */
import assert from 'node:assert/strict';
import { appendGradients, DataType, encodeModel, GraphBuilder, tensorFromArray, tensorToArray, tensorValueInfo, type GradientOptions, type ModelProto, type TensorProto } from '../../src/core/onnx/index.js';
import { Teacher, type PlainTensor } from '../../src/core/runtime/index.js';
import { Rng } from '../../src/core/util/index.js';

/** One input of a case: float values (fed as float32 to the gradient graph), int64, int32 or bool. */
export interface Feed {
  data: Float64Array | BigInt64Array | Int32Array | Uint8Array;
  dims: number[];
  /** 'bool' for a Uint8Array mask (default: float for Float64Array, int64 for BigInt64Array). */
  type?: 'bool';
}

export interface GradCase {
  /** Builds the float32 forward graph and returns the name of its scalar loss. */
  build(g: GraphBuilder): string;
  feeds: Record<string, Feed>;
  wrt: string[];
  /** float64 loss for the FD check when onnxruntime lacks a double kernel for an op of the graph. */
  reference?: (values: Record<string, Float64Array>) => number;
  /** Elements checked per wrt tensor (random subset when larger; default 40). */
  samples?: number;
  opset?: number;
  /** Extra appendGradients options. */
  options?: Partial<GradientOptions>;
}

export interface GradResult {
  /** The float32 gradients from onnxruntime, by wrt name. */
  grads: Record<string, PlainTensor>;
  /** The model with its backward pass. */
  model: ModelProto;
  /** Largest relative error seen (|a - fd| / max|fd|). */
  worst: number;
}

/** Random float64 values, rounded to float32 so both passes see the same point. */
export function randn(rng: Rng, dims: number[], scale = 1, offset = 0): Feed {
  const n = dims.reduce((a, b) => a * b, 1);
  return { data: Float64Array.from(Float32Array.from({ length: n }, () => offset + scale * rng.normal())), dims };
}

/** A random float array in [lo, hi), rounded to float32. */
export function uniform(rng: Rng, dims: number[], lo: number, hi: number): Feed {
  const n = dims.reduce((a, b) => a * b, 1);
  return { data: Float64Array.from(Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next())), dims };
}

function plain(feed: Feed, double: boolean): PlainTensor {
  if (feed.type === 'bool') return { type: 'bool', data: feed.data as Uint8Array, dims: feed.dims };
  if (feed.data instanceof BigInt64Array) return { type: 'int64', data: feed.data, dims: feed.dims };
  if (feed.data instanceof Int32Array) return { type: 'int32', data: feed.data, dims: feed.dims };
  return double ? { type: 'float64', data: feed.data as Float64Array, dims: feed.dims } : { type: 'float32', data: Float32Array.from(feed.data as Float64Array), dims: feed.dims };
}

/** The same model computing in double: float inputs, outputs, initializers, constants and casts. */
export function toDouble(model: ModelProto): ModelProto {
  const m = structuredClone(model);
  const g = m.graph!;
  const retype = (t: TensorProto): TensorProto => (t.dataType === DataType.FLOAT ? tensorFromArray(t.name ?? '', Float64Array.from(tensorToArray(t) as Float32Array), (t.dims ?? []).map(Number)) : t);
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
    if (v.type?.tensorType?.elemType === DataType.FLOAT) v.type.tensorType.elemType = DataType.DOUBLE;
  }
  g.initializer = (g.initializer ?? []).map(retype);
  for (const node of g.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.t) a.t = retype(a.t);
      if (node.opType === 'Cast' && a.name === 'to' && Number(a.i) === DataType.FLOAT) a.i = DataType.DOUBLE;
    }
  }
  return m;
}

/** Runs the gradient check of one case; asserts every checked element is within tolerance. */
export async function checkGradients(c: GradCase, seed = 1): Promise<GradResult> {
  const g = new GraphBuilder({ opset: c.opset ?? 17 });
  const loss = c.build(g);
  g.output('loss', 'float32', undefined, loss);
  const forward = g.toModel();
  const model = structuredClone(forward);
  appendGradients(model.graph!, { loss: 'loss', wrt: c.wrt, opset: c.opset ?? 17, ...c.options });

  const session = await Teacher.create(encodeModel(model), 'gradient graph');
  const feeds32 = Object.fromEntries(Object.entries(c.feeds).map(([k, f]) => [k, plain(f, false)]));
  const prefix = c.options?.prefix ?? 'grad.';
  const out = await session.run(feeds32, c.wrt.map((x) => `${prefix}${x}`));
  await session.release();

  const values: Record<string, Float64Array> = Object.fromEntries(Object.entries(c.feeds).filter(([, f]) => f.data instanceof Float64Array).map(([k, f]) => [k, Float64Array.from(f.data as Float64Array)]));
  const dims: Record<string, number[]> = Object.fromEntries(Object.entries(c.feeds).map(([k, f]) => [k, f.dims]));
  // differentiated initializers become inputs of the FD model, so they can be perturbed
  const perturbed = (forward.graph!.initializer ?? []).filter((t) => c.wrt.includes(t.name!));
  for (const t of perturbed) {
    values[t.name!] = Float64Array.from(tensorToArray(t) as Float32Array);
    dims[t.name!] = (t.dims ?? []).map(Number);
  }
  if (perturbed.length) {
    forward.graph!.initializer = forward.graph!.initializer!.filter((t) => !perturbed.includes(t));
    forward.graph!.input!.push(...perturbed.map((t) => tensorValueInfo(t.name!, 'float32', dims[t.name!])));
  }
  let lossAt: () => Promise<number>;
  let release = async (): Promise<void> => {};
  if (c.reference) {
    const ref = c.reference;
    lossAt = async () => ref(values);
  } else {
    const double = await Teacher.create(encodeModel(toDouble(forward)), 'double forward');
    release = () => double.release();
    lossAt = async () => {
      const feeds: Record<string, PlainTensor> = Object.fromEntries(Object.entries(c.feeds).map(([k, f]) => [k, plain(f, true)]));
      for (const [k, v] of Object.entries(values)) feeds[k] = { type: 'float64', data: v, dims: dims[k]! };
      return (await double.run(feeds, ['loss'])).loss!.data[0] as number;
    };
  }

  const rng = new Rng(seed);
  const grads: Record<string, PlainTensor> = {};
  let worst = 0;
  for (const x of c.wrt) {
    const grad = out[`${prefix}${x}`]!;
    grads[x] = grad;
    const v = values[x]!;
    assert.deepEqual(grad.dims, dims[x], `gradient of ${x} has the shape of ${x}`);
    const n = v.length;
    const limit = c.samples ?? 40;
    const picks = n <= limit ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: limit }, () => rng.int(n));
    const fd = new Map<number, number>();
    for (const i of picks) {
      const x0 = v[i]!;
      const h = 1e-5 * Math.max(1, Math.abs(x0));
      v[i] = x0 + h;
      const up = await lossAt();
      v[i] = x0 - h;
      const down = await lossAt();
      v[i] = x0;
      fd.set(i, (up - down) / (2 * h));
    }
    const scale = Math.max(...fd.values(), ...[...fd.values()].map((f) => -f));
    for (const [i, f] of fd) {
      const a = grad.data[i] as number;
      const err = Math.abs(a - f);
      worst = Math.max(worst, err / Math.max(scale, 1e-12));
      assert.ok(err <= 1e-3 * Math.abs(f) + 1e-5 * scale + 1e-7, `d loss / d ${x}[${i}]: backward ${a}, finite difference ${f} (max |fd| ${scale})`);
    }
  }
  await release();
  if (process.env.KENNIS_GRAD_ERRORS) console.log(`worst |backward - fd| / max|fd|: ${worst.toExponential(2)} (${c.wrt.join(', ')})`);
  return { grads, model, worst };
}

/** loss = sum(y * proj) with `proj` a random graph input of y's shape (not differentiated), so every element of dy differs. */
export function projectedLoss(g: GraphBuilder, y: string, dims: number[]): string {
  g.input('proj', 'float32', dims);
  return g.op('ReduceSum', [g.op('Mul', [y, 'proj'])], { keepdims: 0 });
}

/** The `proj` feed for projectedLoss. */
export function projFeed(rng: Rng, dims: number[]): Record<string, Feed> {
  return { proj: randn(rng, dims) };
}
