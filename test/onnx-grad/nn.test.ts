import { test } from 'node:test';
import { activation, attr, type GraphBuilder } from '../../src/core/onnx/index.js';
import { Rng } from '../../src/core/util/index.js';
import { checkGradients, projectedLoss, projFeed, randn } from './harness.js';

const rng = new Rng(3);

test('LayerNormalization: input, scale and bias, over the last axis and the last two', async () => {
  for (const [axis, norm] of [[-1, [4]], [-2, [3, 4]], [1, [3, 4]]] as [number, number[]][]) {
    await checkGradients({
      build: (g) => projectedLoss(g, g.op('LayerNormalization', [g.input('x', 'float32', [2, 3, 4]), g.input('scale', 'float32', norm), g.input('bias', 'float32', norm)], { axis, epsilon: attr.float(1e-5) }), [2, 3, 4]),
      feeds: { x: randn(rng, [2, 3, 4], 2, 0.5), scale: randn(rng, norm), bias: randn(rng, norm), ...projFeed(rng, [2, 3, 4]) },
      wrt: ['x', 'scale', 'bias'],
    });
  }
});

test('gelu from its Erf and Tanh formulas (opset 17) and the Gelu op (opset 20)', async () => {
  const erf = (x: number): number => {
    let term = x, sum = x;
    for (let n = 1; n < 80; n++) { term *= -x * x / n; sum += term / (2 * n + 1); }
    return 2 / Math.sqrt(Math.PI) * sum;
  };
  const geluErf = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
  const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  for (const [opset, kind, f] of [[17, 'gelu', geluErf], [17, 'gelu_tanh', geluTanh], [20, 'gelu', geluErf], [20, 'gelu_tanh', geluTanh]] as const) {
    await checkGradients({
      opset,
      build: (g) => projectedLoss(g, activation(g, g.input('x', 'float32', [3, 4]), kind), [3, 4]),
      feeds: { x: randn(rng, [3, 4], 1.5), ...projFeed(rng, [3, 4]) },
      wrt: ['x'],
      reference: (v) => v.x!.reduce((s, x, i) => s + f(x) * v.proj![i]!, 0),
    });
  }
});

interface Geometry { strides: number[]; pads: number[]; dilations: number[]; kernel: number[] }

/** float64 NCHW convolution (group 1) with bias. */
function conv2d(x: Float64Array, xd: number[], w: Float64Array, wd: number[], b: Float64Array | undefined, geo: Geometry): { y: Float64Array; dims: number[] } {
  const [n, ch, h, wid] = xd as [number, number, number, number];
  const [m, , kh, kw] = wd as [number, number, number, number];
  const [sh, sw] = geo.strides as [number, number];
  const [dh, dw] = geo.dilations as [number, number];
  const [pt, pl, pb, pr] = geo.pads as [number, number, number, number];
  const ho = Math.floor((h + pt + pb - ((kh - 1) * dh + 1)) / sh) + 1;
  const wo = Math.floor((wid + pl + pr - ((kw - 1) * dw + 1)) / sw) + 1;
  const y = new Float64Array(n * m * ho * wo);
  for (let b0 = 0; b0 < n; b0++) for (let o = 0; o < m; o++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let s = b ? b[o]! : 0;
    for (let c = 0; c < ch; c++) for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) {
      const r = i * sh + p * dh - pt, col = j * sw + q * dw - pl;
      if (r < 0 || r >= h || col < 0 || col >= wid) continue;
      s += x[((b0 * ch + c) * h + r) * wid + col]! * w[((o * ch + c) * kh + p) * kw + q]!;
    }
    y[((b0 * m + o) * ho + i) * wo + j] = s;
  }
  return { y, dims: [n, m, ho, wo] };
}

/** float64 NCHW average pooling. */
function avgPool(x: Float64Array, xd: number[], geo: Geometry, countIncludePad: boolean): { y: Float64Array; dims: number[] } {
  const [n, ch, h, wid] = xd as [number, number, number, number];
  const [kh, kw] = geo.kernel as [number, number];
  const [sh, sw] = geo.strides as [number, number];
  const [pt, pl, pb, pr] = geo.pads as [number, number, number, number];
  const ho = Math.floor((h + pt + pb - kh) / sh) + 1, wo = Math.floor((wid + pl + pr - kw) / sw) + 1;
  const y = new Float64Array(n * ch * ho * wo);
  for (let nc = 0; nc < n * ch; nc++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let s = 0, cnt = 0;
    for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) {
      const r = i * sh + p - pt, col = j * sw + q - pl;
      if (r < 0 || r >= h || col < 0 || col >= wid) continue;
      s += x[(nc * h + r) * wid + col]!;
      cnt++;
    }
    y[(nc * ho + i) * wo + j] = s / (countIncludePad ? kh * kw : cnt);
  }
  return { y, dims: [n, ch, ho, wo] };
}

const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * b[i]!, 0);

test('Conv: x, weights and bias across strides, pads, dilations and auto_pad', async () => {
  const xd = [2, 3, 7, 6];
  const geos: (Geometry & { autoPad?: string })[] = [
    { kernel: [3, 3], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
    { kernel: [3, 2], strides: [2, 2], pads: [1, 0, 1, 1], dilations: [1, 1] },
    { kernel: [2, 3], strides: [3, 2], pads: [0, 1, 2, 0], dilations: [1, 1] },
    { kernel: [2, 2], strides: [1, 2], pads: [1, 1, 0, 0], dilations: [2, 2] },
    { kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], autoPad: 'SAME_UPPER' },
  ];
  for (const geo of geos) {
    const wd = [4, 3, ...geo.kernel];
    const { dims } = conv2d(new Float64Array(xd.reduce((a, b) => a * b)), xd, new Float64Array(wd.reduce((a, b) => a * b)), wd, undefined, geo);
    await checkGradients({
      build: (g: GraphBuilder) => projectedLoss(g, g.op('Conv', [g.input('x', 'float32', xd), g.input('w', 'float32', wd), g.input('b', 'float32', [4])], {
        kernel_shape: geo.kernel, strides: geo.strides, dilations: geo.dilations,
        ...(geo.autoPad ? { auto_pad: geo.autoPad } : { pads: geo.pads }),
      }), dims),
      feeds: { x: randn(rng, xd), w: randn(rng, wd), b: randn(rng, [4]), ...projFeed(rng, dims) },
      wrt: ['x', 'w', 'b'],
      reference: (v) => dot(conv2d(v.x!, xd, v.w!, wd, v.b!, geo).y, v.proj!),
    });
  }
});

test('MaxPool (overlapping windows, pads, strides) and AveragePool (with and without counting pads)', async () => {
  const xd = [2, 2, 6, 5];
  const geos: Geometry[] = [
    { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] },
    { kernel: [3, 3], strides: [1, 2], pads: [1, 1, 1, 0], dilations: [1, 1] },
    { kernel: [3, 2], strides: [2, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
    { kernel: [2, 3], strides: [2, 2], pads: [0, 1, 1, 1], dilations: [1, 1] },
  ];
  for (const geo of geos) {
    const { dims } = avgPool(new Float64Array(60 * 2), xd, geo, false);
    await checkGradients({
      build: (g) => projectedLoss(g, g.op('MaxPool', [g.input('x', 'float32', xd)], { kernel_shape: geo.kernel, strides: geo.strides, pads: geo.pads }), dims),
      feeds: { x: randn(rng, xd), ...projFeed(rng, dims) },
      wrt: ['x'],
    });
    for (const include of [0, 1]) {
      await checkGradients({
        build: (g) => projectedLoss(g, g.op('AveragePool', [g.input('x', 'float32', xd)], { kernel_shape: geo.kernel, strides: geo.strides, pads: geo.pads, count_include_pad: include }), dims),
        feeds: { x: randn(rng, xd), ...projFeed(rng, dims) },
        wrt: ['x'],
        reference: (v) => dot(avgPool(v.x!, xd, geo, include === 1).y, v.proj!),
      });
    }
  }
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('GlobalAveragePool', [g.input('x', 'float32', xd)]), [2, 2, 1, 1]),
    feeds: { x: randn(rng, xd), ...projFeed(rng, [2, 2, 1, 1]) },
    wrt: ['x'],
    reference: (v) => {
      let s = 0;
      for (let nc = 0; nc < 4; nc++) s += v.proj![nc]! * v.x!.slice(nc * 30, nc * 30 + 30).reduce((a, b) => a + b, 0) / 30;
      return s;
    },
  });
});
