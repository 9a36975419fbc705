import { test } from 'node:test';
import { attr } from '../../src/core/onnx/index.js';
import { Rng } from '../../src/core/util/index.js';
import { checkGradients, projectedLoss, projFeed, randn } from './harness.js';

const rng = new Rng(11);

test('MatMul: 2-D, batched, broadcast batch dims, vectors', async () => {
  const cases: [number[], number[], number[]][] = [
    [[3, 4], [4, 5], [3, 5]],
    [[2, 3, 4], [4, 5], [2, 3, 5]],
    [[2, 3, 4], [2, 4, 5], [2, 3, 5]],
    [[2, 1, 3, 4], [3, 4, 5], [2, 3, 3, 5]],
    [[3, 4], [2, 4, 5], [2, 3, 5]],
    [[4], [4, 5], [5]],
    [[2, 3, 4], [4], [2, 3]],
  ];
  for (const [sa, sb, out] of cases) {
    await checkGradients({
      build: (g) => projectedLoss(g, g.op('MatMul', [g.input('a', 'float32', sa), g.input('b', 'float32', sb)]), out),
      feeds: { a: randn(rng, sa), b: randn(rng, sb), ...projFeed(rng, out) },
      wrt: ['a', 'b'],
    });
  }
});

test('MatMul of intermediates of unknown rank (Einsum transposes)', async () => {
  // Reshape to a runtime shape hides the rank from the gradient builder
  await checkGradients({
    build: (g) => {
      const a = g.op('Reshape', [g.input('a', 'float32', [24]), g.input('sa', 'int64', [3])]);
      const b = g.op('Reshape', [g.input('b', 'float32', [40]), g.input('sb', 'int64', [3])]);
      return projectedLoss(g, g.op('MatMul', [a, b]), [2, 3, 5]);
    },
    feeds: {
      a: randn(rng, [24]), b: randn(rng, [40]), ...projFeed(rng, [2, 3, 5]),
      sa: { data: BigInt64Array.of(2n, 3n, 4n), dims: [3] }, sb: { data: BigInt64Array.of(2n, 4n, 5n), dims: [3] },
    },
    wrt: ['a', 'b'],
  });
  // batched first input of unknown shape times a 2-D weight: dW sums over every leading dim
  await checkGradients({
    build: (g) => {
      const a = g.op('Reshape', [g.input('a', 'float32', [24]), g.input('sa', 'int64', [3])]);
      return projectedLoss(g, g.op('MatMul', [a, g.input('b', 'float32', [4, 5])]), [2, 3, 5]);
    },
    feeds: { a: randn(rng, [24]), b: randn(rng, [4, 5]), ...projFeed(rng, [2, 3, 5]), sa: { data: BigInt64Array.of(2n, 3n, 4n), dims: [3] } },
    wrt: ['a', 'b'],
  });
});

test('Gemm: every transA/transB, alpha, beta, C broadcast', async () => {
  for (const transA of [0, 1]) for (const transB of [0, 1]) for (const cShape of [[3, 5], [5], [1, 5], [3, 1], []]) {
    const sa = transA ? [4, 3] : [3, 4];
    const sb = transB ? [5, 4] : [4, 5];
    await checkGradients({
      build: (g) => projectedLoss(g, g.op('Gemm', [g.input('a', 'float32', sa), g.input('b', 'float32', sb), g.input('c', 'float32', cShape)], {
        transA, transB, alpha: attr.float(0.7), beta: attr.float(1.3),
      }), [3, 5]),
      feeds: { a: randn(rng, sa), b: randn(rng, sb), c: randn(rng, cShape), ...projFeed(rng, [3, 5]) },
      wrt: ['a', 'b', 'c'],
    });
  }
});
