import { test } from 'node:test';
import { Rng } from '../../src/core/util/index.js';
import { checkGradients, projectedLoss, projFeed, randn, uniform, type Feed } from './harness.js';

const rng = new Rng(7);

/** op(x) for a unary op, checked on x [3, 4]; `f` is a float64 reference for ops without a double kernel. */
async function unary(op: string, x: Feed, attrs: Record<string, number> = {}, f?: (x: number) => number): Promise<void> {
  await checkGradients({
    build: (g) => projectedLoss(g, g.op(op, [g.input('x', 'float32', [3, 4])], attrs), [3, 4]),
    feeds: { x, ...projFeed(rng, [3, 4]) },
    wrt: ['x'],
    ...(f ? { reference: (v: Record<string, Float64Array>) => v.x!.reduce((s, xi, i) => s + f(xi) * v.proj![i]!, 0) } : {}),
  });
}

test('unary elementwise ops match float64 finite differences', async () => {
  // Relu's inputs stay 0.05 away from the kink; Log and Sqrt see positive inputs only
  const awayFromZero = randn(rng, [3, 4]);
  (awayFromZero.data as Float64Array).forEach((v, i, a) => { a[i] = Math.fround(Math.sign(v) * (Math.abs(v) + 0.05)); });
  await unary('Relu', awayFromZero);
  await unary('LeakyRelu', awayFromZero, { alpha: 0.1 } as never);
  await unary('Abs', awayFromZero);
  await unary('Elu', awayFromZero, { alpha: 0.7 } as never, (v) => (v > 0 ? v : 0.7 * Math.expm1(v)));
  await unary('Softplus', randn(rng, [3, 4]), {}, (v) => Math.log1p(Math.exp(v)));
  for (const op of ['Tanh', 'Sigmoid', 'Exp', 'Neg', 'Identity', 'Sin', 'Cos']) await unary(op, randn(rng, [3, 4]));
  for (const op of ['Log', 'Sqrt', 'Reciprocal']) await unary(op, uniform(rng, [3, 4], 0.5, 2));
  for (const axis of [-1, 0, 1]) {
    await unary('Softmax', randn(rng, [3, 4]), { axis });
    await unary('LogSoftmax', randn(rng, [3, 4]), { axis });
  }
});

test('Erf matches finite differences of a float64 reference (onnxruntime has no double Erf)', async () => {
  const erf = (x: number): number => {
    // Taylor series: exact to ~1e-13 for |x| < 3
    let term = x, sum = x;
    for (let n = 1; n < 80; n++) { term *= -x * x / n; sum += term / (2 * n + 1); }
    return 2 / Math.sqrt(Math.PI) * sum;
  };
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Erf', [g.input('x', 'float32', [3, 4])]), [3, 4]),
    feeds: { x: randn(rng, [3, 4]), ...projFeed(rng, [3, 4]) },
    wrt: ['x'],
    reference: (v) => v.x!.reduce((s, x, i) => s + erf(x) * v.proj![i]!, 0),
  });
});

test('broadcasting binary ops reduce each gradient to its input shape', async () => {
  const shapes: [number[], number[]][] = [[[3, 4], [3, 4]], [[3, 4], [4]], [[3, 1], [1, 4]], [[2, 3, 4], [3, 1]], [[1], [2, 3]], [[], [3, 4]]];
  for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min']) {
    for (const [sa, sb] of shapes) {
      const out = sa.length >= sb.length ? sa.map((d, i) => Math.max(d, sb[i - (sa.length - sb.length)] ?? 1)) : sb.map((d, i) => Math.max(d, sa[i - (sb.length - sa.length)] ?? 1));
      await checkGradients({
        build: (g) => projectedLoss(g, g.op(op, [g.input('a', 'float32', sa), g.input('b', 'float32', sb)]), out),
        feeds: { a: randn(rng, sa), b: op === 'Div' ? uniform(rng, sb, 0.5, 2) : randn(rng, sb), ...projFeed(rng, out) },
        wrt: ['a', 'b'],
      });
    }
  }
});

test('Sum and Mean of several broadcast inputs', async () => {
  for (const op of ['Sum', 'Mean']) {
    await checkGradients({
      build: (g) => projectedLoss(g, g.op('Tanh', [g.op(op, [g.input('a', 'float32', [3, 4]), g.input('b', 'float32', [4]), g.input('c', 'float32', [3, 1])])]), [3, 4]),
      feeds: { a: randn(rng, [3, 4]), b: randn(rng, [4]), c: randn(rng, [3, 1]), ...projFeed(rng, [3, 4]) },
      wrt: ['a', 'b', 'c'],
      // onnxruntime has no double Mean
      reference: (v) => {
        let s = 0;
        for (let r = 0; r < 3; r++) for (let k = 0; k < 4; k++) {
          const sum = v.a![r * 4 + k]! + v.b![k]! + v.c![r]!;
          s += Math.tanh(op === 'Sum' ? sum : sum / 3) * v.proj![r * 4 + k]!;
        }
        return s;
      },
    });
  }
});

test('Pow with a constant exponent and with a differentiated exponent', async () => {
  for (const p of [2, 3, 0.5, -1.5]) {
    await checkGradients({
      build: (g) => projectedLoss(g, g.op('Pow', [g.input('x', 'float32', [3, 4]), g.scalar(p)]), [3, 4]),
      feeds: { x: uniform(rng, [3, 4], 0.5, 2), ...projFeed(rng, [3, 4]) },
      wrt: ['x'],
    });
  }
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Pow', [g.input('x', 'float32', [3, 4]), g.input('p', 'float32', [4])]), [3, 4]),
    feeds: { x: uniform(rng, [3, 4], 0.5, 2), p: uniform(rng, [4], -1, 2), ...projFeed(rng, [3, 4]) },
    wrt: ['x', 'p'],
  });
});

test('Where passes the gradient to the chosen side; its condition gets none', async () => {
  const cond = Uint8Array.from({ length: 12 }, () => rng.int(2));
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Where', [g.input('c', 'bool', [3, 4]), g.input('a', 'float32', [3, 4]), g.input('b', 'float32', [4])]), [3, 4]),
    feeds: { c: { data: cond, dims: [3, 4], type: 'bool' }, a: randn(rng, [3, 4]), b: randn(rng, [4]), ...projFeed(rng, [3, 4]) },
    wrt: ['a', 'b'],
  });
});

test('Clip passes the gradient inside its range only', async () => {
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Clip', [g.input('x', 'float32', [3, 4]), g.scalar(-0.5), g.scalar(0.7)]), [3, 4]),
    // values 0.05 away from the bounds: the FD step never straddles them
    feeds: { x: { data: Float64Array.from([-2, -0.8, -0.45, 0, 0.3, 0.6, 0.75, 1, 2, -0.55, 0.1, 0.65].map(Math.fround)), dims: [3, 4] }, ...projFeed(rng, [3, 4]) },
    wrt: ['x'],
  });
});

test('Cast float to float and Identity pass the gradient through', async () => {
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Cast', [g.op('Tanh', [g.input('x', 'float32', [3, 4])])], { to: 1 }), [3, 4]),
    feeds: { x: randn(rng, [3, 4]), ...projFeed(rng, [3, 4]) },
    wrt: ['x'],
  });
});
