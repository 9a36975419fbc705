import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendGradients, GraphBuilder, logSumExp, reduce, type ReduceOp } from '../../src/core/onnx/index.js';
import { GraphSession, runtimeTensor } from '../../src/core/runtime/index.js';
import { Rng } from '../../src/core/util/index.js';
import { checkGradients, projectedLoss, projFeed, randn, type Feed } from './harness.js';

const rng = new Rng(5);
const ints = (...v: number[]): Feed => ({ data: BigInt64Array.from(v.map(BigInt)), dims: [v.length] });

test('reductions over constant axes, keepdims 0 and 1, at opset 17 (axes attribute) and 18 (axes input)', async () => {
  const ops: ReduceOp[] = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceLogSumExp'];
  for (const opset of [17, 18]) for (const op of ops) for (const [axes, keep, out] of [[[1], true, [2, 1, 4]], [[-1], false, [2, 3]], [[0, 2], false, [3]]] as [number[], boolean, number[]][]) {
    await checkGradients({
      opset,
      build: (g) => projectedLoss(g, reduce(g, op, g.input('x', 'float32', [2, 3, 4]), axes, keep), out),
      feeds: { x: randn(rng, [2, 3, 4]), ...projFeed(rng, out) },
      wrt: ['x'],
    });
  }
});

test('ReduceSum over all axes, over axes fed at run time, and with noop_with_empty_axes', async () => {
  await checkGradients({
    build: (g) => g.op('Mul', [g.op('ReduceSum', [g.op('Tanh', [g.input('x', 'float32', [2, 3])])], { keepdims: 0 }), g.scalar(1.5)]),
    feeds: { x: randn(rng, [2, 3]) },
    wrt: ['x'],
  });
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('ReduceSum', [g.input('x', 'float32', [2, 3, 4]), g.input('axes', 'int64', [1])], { keepdims: 0 }), [2, 4]),
    feeds: { x: randn(rng, [2, 3, 4]), axes: ints(1), ...projFeed(rng, [2, 4]) },
    wrt: ['x'],
  });
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('ReduceSum', [g.input('x', 'float32', [2, 3])], { keepdims: 0, noop_with_empty_axes: 1 }), [2, 3]),
    feeds: { x: randn(rng, [2, 3]), ...projFeed(rng, [2, 3]) },
    wrt: ['x'],
  });
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('ReduceSumSquare', [g.input('x', 'float32', [2, 3])], { axes: [1], keepdims: 1 }), [2, 1]),
    feeds: { x: randn(rng, [2, 3]), ...projFeed(rng, [2, 1]) },
    wrt: ['x'],
  });
});

/** A shape op applied to x [2, 3, 4], followed by Tanh so the gradient is not just the projection. */
async function shapeOp(build: (g: Parameters<Parameters<typeof checkGradients>[0]['build']>[0], x: string) => string, out: number[], extra: Record<string, Feed> = {}): Promise<void> {
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Tanh', [build(g, g.input('x', 'float32', [2, 3, 4]))]), out),
    feeds: { x: randn(rng, [2, 3, 4]), ...projFeed(rng, out), ...extra },
    wrt: ['x'],
  });
}

test('shape ops: Reshape, Flatten, Transpose, Unsqueeze, Squeeze, Expand', async () => {
  await shapeOp((g, x) => g.op('Reshape', [x, g.int64s([4, 0, -1])]), [4, 3, 2]);
  await shapeOp((g, x) => g.op('Flatten', [x], { axis: 2 }), [6, 4]);
  await shapeOp((g, x) => g.op('Transpose', [x], { perm: [2, 0, 1] }), [4, 2, 3]);
  await shapeOp((g, x) => g.op('Transpose', [x]), [4, 3, 2]);
  await shapeOp((g, x) => g.op('Unsqueeze', [x, g.int64s([0, -1])]), [1, 2, 3, 4, 1]);
  await shapeOp((g, x) => g.op('Squeeze', [g.op('Unsqueeze', [x, g.int64s([1])]), g.int64s([1])]), [2, 3, 4]);
  await shapeOp((g, x) => g.op('Expand', [g.op('Unsqueeze', [x, g.int64s([1])]), g.int64s([2, 5, 3, 4])]), [2, 5, 3, 4]);
  await shapeOp((g, x) => g.op('Expand', [x, g.input('shape', 'int64', [4])]), [3, 2, 3, 4], { shape: ints(3, 1, 1, 1) });
});

test('Pad (constant mode) and Tile', async () => {
  await shapeOp((g, x) => g.op('Pad', [x, g.int64s([0, 1, 2, 1, 0, 3])]), [3, 4, 9]);
  await shapeOp((g, x) => g.op('Pad', [x, g.input('pads', 'int64', [6]), g.scalar(0.5)]), [2, 5, 4], { pads: ints(0, 2, 0, 0, 0, 0) });
  await shapeOp((g, x) => g.op('Tile', [x, g.int64s([2, 1, 3])]), [4, 3, 12]);
  await shapeOp((g, x) => g.op('Tile', [x, g.input('repeats', 'int64', [3])]), [2, 6, 4], { repeats: ints(1, 2, 1) });
});

test('Concat, Split and Slice (negative bounds, steps, omitted axes)', async () => {
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Tanh', [g.op('Concat', [g.input('a', 'float32', [2, 3]), g.input('b', 'float32', [2, 1]), g.input('c', 'float32', [2, 2])], { axis: -1 })]), [2, 6]),
    feeds: { a: randn(rng, [2, 3]), b: randn(rng, [2, 1]), c: randn(rng, [2, 2]), ...projFeed(rng, [2, 6]) },
    wrt: ['a', 'c'],
  });
  // undeclared shapes: split sizes computed from Shape() in the graph
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Tanh', [g.op('Concat', [g.input('a', 'float32'), g.input('b', 'float32')], { axis: 0 })]), [5, 2]),
    feeds: { a: randn(rng, [2, 2]), b: randn(rng, [3, 2]), ...projFeed(rng, [5, 2]) },
    wrt: ['a', 'b'],
  });
  await shapeOp((g, x) => {
    const [p, q] = g.node('Split', [x, g.int64s([1, 3])], 2, { axis: 2 });
    return g.op('Mul', [p!, g.op('ReduceSum', [q!, g.int64s([2])], { keepdims: 1 })]);
  }, [2, 3, 1]);
  await shapeOp((g, x) => g.node('Split', [x, g.int64s([1, 3])], 2, { axis: 2 })[1]!, [2, 3, 3]);
  await shapeOp((g, x) => g.op('Slice', [x, g.int64s([1, -3]), g.int64s([100, -1]), g.int64s([1, 2])]), [2, 2, 2]);
  await shapeOp((g, x) => g.op('Slice', [x, g.int64s([-1, 0]), g.int64s([-100, 4]), g.int64s([2, 0]), g.int64s([-2, 1])]), [2, 3, 2]);
  await shapeOp((g, x) => g.op('Slice', [x, g.int64s([0, 1, 0]), g.int64s([2, 3, 3])]), [2, 2, 3]);
  await shapeOp((g, x) => g.op('Slice', [x, g.input('starts', 'int64', [2]), g.input('ends', 'int64', [2]), g.int64s([-1, 1])]), [2, 1, 3], {
    starts: ints(-100, 1), ends: ints(3, -1),
  });
  await shapeOp((g, x) => g.op('Slice', [x, g.constant(Int32Array.of(1, 1), [2]), g.constant(Int32Array.of(7, 2), [2]), g.constant(Int32Array.of(0, 2), [2]), g.constant(Int32Array.of(1, 1), [2])]), [1, 3, 1]);
  await shapeOp((g, x) => g.op('Slice', [x, g.int64s([2]), g.int64s([1]), g.int64s([1])]), [2, 0, 4]);
});

test('Gather: embedding rows with repeated ids add up; other axes; indices get no gradient', async () => {
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Gather', [g.input('table', 'float32', [5, 3]), g.input('ids', 'int64', [2, 4])], { axis: 0 }), [2, 4, 3]),
    feeds: { table: randn(rng, [5, 3]), ids: { data: BigInt64Array.from([0, 3, 3, 1, 4, 3, 0, 0].map(BigInt)), dims: [2, 4] }, ...projFeed(rng, [2, 4, 3]) },
    wrt: ['table'],
  });
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('Gather', [g.input('table', 'float32', [5, 3]), g.input('ids', 'int32', ['batch', 2])], { axis: 0 }), [3, 2, 3]),
    feeds: { table: randn(rng, [5, 3]), ids: { data: Int32Array.from([4, 4, 1, 0, 4, 2]), dims: [3, 2] }, ...projFeed(rng, [3, 2, 3]) },
    wrt: ['table'],
  });
  await shapeOp((g, x) => g.op('Gather', [x, g.input('ids', 'int64', [3])], { axis: 2 }), [2, 3, 3], { ids: ints(3, 0, 3) });
  await shapeOp((g, x) => g.op('Gather', [x, g.input('ids', 'int64', [])], { axis: -2 }), [2, 4], { ids: { data: BigInt64Array.of(1n), dims: [] } });
});

test('ScatterND: data gets dy with the overwritten positions zeroed, updates get dy at them (rows and single elements); a reduction is refused', async () => {
  // whole rows [2] of a [4, 3] table, and single elements of a [3, 4] matrix
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('ScatterND', [g.input('data', 'float32', [4, 3]), g.input('index', 'int64', [2, 1]), g.input('updates', 'float32', [2, 3])]), [4, 3]),
    feeds: { data: randn(rng, [4, 3]), index: { data: BigInt64Array.of(3n, 1n), dims: [2, 1] }, updates: randn(rng, [2, 3]), ...projFeed(rng, [4, 3]) },
    wrt: ['data', 'updates'],
  });
  await checkGradients({
    build: (g) => projectedLoss(g, g.op('ScatterND', [g.input('data', 'float32', [3, 4]), g.input('index', 'int64', [3, 2]), g.input('updates', 'float32', [3])]), [3, 4]),
    feeds: { data: randn(rng, [3, 4]), index: { data: BigInt64Array.of(0n, 2n, 2n, 3n, 1n, 0n), dims: [3, 2] }, updates: randn(rng, [3]), ...projFeed(rng, [3, 4]) },
    wrt: ['data', 'updates'],
  });
  const g = new GraphBuilder({ opset: 17 });
  const y = g.op('ScatterND', [g.input('x', 'float32', [3]), g.input('i', 'int64', [1, 1]), g.input('u', 'float32', [1])], { reduction: 'add' });
  g.output('loss', 'float32', [], g.op('ReduceSum', [y], { keepdims: 0 }));
  assert.throws(() => appendGradients(g.graph, { loss: 'loss', wrt: ['x'] }), /op 'ScatterND' \(node '[^']+'\) has no gradient rule in kennis with reduction 'add'/);
});

test('Dropout in inference mode passes the gradient through; training mode asks for Mul(x, mask)', async () => {
  await shapeOp((g, x) => g.op('Dropout', [x, g.scalar(0.3)]), [2, 3, 4]);
  const g = new GraphBuilder({ opset: 17 });
  const y = g.op('Dropout', [g.input('x', 'float32', [2]), g.scalar(0.3), g.input('training', 'bool', [])]);
  g.output('loss', 'float32', [], g.op('ReduceSum', [y], { keepdims: 0 }));
  assert.throws(() => appendGradients(g.graph, { loss: 'loss', wrt: ['x'] }), /op 'Dropout' \(node 'Dropout_node'\) has no gradient rule in kennis in training mode; express dropout as Mul\(x, mask\)/);
});

test('logSumExp (shifted by a gradient-free floor of the max) has the softmax gradient and the float64 value, also at 1e4 and with -1e30 entries', async () => {
  for (const [axes, keep, out] of [[[1], true, [2, 1, 4]], [[-1], false, [2, 3]], [[0, 2], false, [3]]] as [number[], boolean, number[]][]) {
    await checkGradients({
      build: (g) => projectedLoss(g, logSumExp(g, g.input('x', 'float32', [2, 3, 4]), axes, keep).lse, out),
      feeds: { x: randn(rng, [2, 3, 4], 3), ...projFeed(rng, out) },
      wrt: ['x'],
    });
  }
  // values where exp overflows float32 without the shift, and a NEG_BIG-style masked row
  const rows = [[1e4, 1e4 - 1, 1e4 + 0.5, 9990], [-1e30, -1e30, 2, -1e30], [-3, 0.25, 7, 88.5]];
  const g = new GraphBuilder({ name: 'lse', opset: 17 });
  g.output('y', 'float32', [3], logSumExp(g, g.input('x', 'float32', [3, 4]), [1], false).lse);
  const session = await GraphSession.create(g.toBytes(), 'lse', (m) => new Error(m), {});
  try {
    const y = (await session.run({ x: runtimeTensor('float32', Float32Array.from(rows.flat()), [3, 4]) }, { y: null })).y!.data as Float32Array;
    rows.forEach((r, i) => {
      const f = r.map((v) => Math.fround(v));
      const m = Math.max(...f);
      const want = m + Math.log(f.reduce((s, v) => s + Math.exp(v - m), 0));
      assert.ok(Math.abs(y[i]! - want) <= 2 ** -20 * Math.max(1, Math.abs(want)), `row ${i}: ${y[i]} vs ${want}`);
    });
  } finally {
    await session.release();
  }
});
