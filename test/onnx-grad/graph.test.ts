import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendGradients, encodeModel, GraphBuilder, gpt, type GptWeights, type Weight } from '../../src/core/onnx/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import { Teacher } from '../../src/core/runtime/index.js';
import { Rng } from '../../src/core/util/index.js';
import { checkGradients, projectedLoss, projFeed, randn } from './harness.js';

const rng = new Rng(23);

test('a value read by several nodes sums its gradient contributions', async () => {
  await checkGradients({
    build: (g) => {
      const x = g.input('x', 'float32', [3, 4]);
      const w = g.input('w', 'float32', [4, 4]);
      // x feeds Mul twice, Tanh and a MatMul; w feeds two MatMuls
      const h = g.op('MatMul', [g.op('Tanh', [g.op('MatMul', [x, w])]), w]);
      return projectedLoss(g, g.op('Add', [g.op('Mul', [x, x]), g.op('Add', [h, g.op('Tanh', [x])])]), [3, 4]);
    },
    feeds: { x: randn(rng, [3, 4]), w: randn(rng, [4, 4], 0.5), ...projFeed(rng, [3, 4]) },
    wrt: ['x', 'w'],
  });
});

test('broadcasting reductions with a dynamic batch dim: one model, several batch sizes, with and without declared shapes', async () => {
  // declared: the reduced axes are constants; undeclared (unknown rank): computed from Shape() in the graph
  for (const declared of [true, false]) for (const batch of [1, 3, 5]) {
    const { model } = await checkGradients({
      build: (g) => {
        const x = g.input('x', 'float32', declared ? ['batch', 4] : undefined);
        const scale = g.input('scale', 'float32', declared ? ['batch', 1] : undefined);
        const bias = g.input('bias', 'float32', declared ? [4] : undefined);
        const gain = g.input('gain', 'float32', declared ? [1, 4] : undefined);
        const h = g.op('Mul', [g.op('Add', [g.op('Tanh', [x]), bias]), scale]);
        // intermediate of unknown static shape broadcast against the batch input
        const y = g.op('Div', [g.op('Mul', [h, gain]), g.op('Add', [g.op('ReduceSum', [h, g.int64s([1])], { keepdims: 1 }), g.scalar(10)])]);
        return g.op('ReduceMean', [g.op('Mul', [y, y])], { keepdims: 0 });
      },
      feeds: { x: randn(rng, [batch, 4]), scale: randn(rng, [batch, 1]), bias: randn(rng, [4]), gain: randn(rng, [1, 4]) },
      wrt: ['x', 'scale', 'bias', 'gain'],
    });
    assert.equal(model.graph!.node!.some((n) => n.opType === 'NonZero'), !declared, 'in-graph axes exactly when shapes are not declared');
  }
});

test('symbolic dims: different symbols may broadcast (n = 1 against m = 3), equal ones may not', async () => {
  for (const [n, m] of [[1, 3], [3, 1], [3, 3]] as const) {
    await checkGradients({
      build: (g) => {
        const a = g.input('a', 'float32', ['n', 4]), b = g.input('b', 'float32', ['m', 4]), c = g.input('c', 'float32', ['n', 1]);
        const ab = g.op('Mul', [g.op('Tanh', [a]), b]);
        return g.op('ReduceSum', [g.op('Mul', [g.op('Add', [ab, c]), ab])], { keepdims: 0 });
      },
      feeds: { a: randn(rng, [n, 4]), b: randn(rng, [m, 4]), c: randn(rng, [n, 1]) },
      wrt: ['a', 'b', 'c'],
    });
  }
  // a Constant node holding axes as value_ints
  await checkGradients({
    build: (g) => {
      const axes = g.op('Constant', [], { value_ints: [1] });
      return projectedLoss(g, g.op('Unsqueeze', [g.op('ReduceSum', [g.op('Tanh', [g.input('x', 'float32', ['n', 3])]), axes], { keepdims: 0 }), axes]), [2, 1]);
    },
    feeds: { x: randn(rng, [2, 3]), ...projFeed(rng, [2, 1]) },
    wrt: ['x'],
  });
});

test('a deep graph (10000 nodes on the path) is differentiated without recursion limits', () => {
  const g = new GraphBuilder({ opset: 17 });
  let h = g.input('x', 'float32', ['batch', 3]);
  const b = g.input('b', 'float32', [3]);
  for (let i = 0; i < 5000; i++) h = g.op('Add', [g.op('Tanh', [h], {}, { name: `tanh${i}` }), b], {}, { name: `add${i}` });
  g.output('loss', 'float32', [], g.op('ReduceSum', [h], { keepdims: 0 }));
  const forward = g.graph.node!.length;
  const { gradients } = appendGradients(g.graph, { loss: 'loss', wrt: ['x', 'b'] });
  assert.deepEqual(gradients, { x: 'grad.x', b: 'grad.b' });
  assert.ok(g.graph.node!.length > 2 * forward);
});

test('masks and comparisons carry no gradient; a wrt value off the path gets zeros', async () => {
  const { grads } = await checkGradients({
    build: (g) => {
      const x = g.input('x', 'float32', [3, 4]);
      g.input('unused', 'float32', [2]);
      const mask = g.op('Cast', [g.op('Greater', [x, g.scalar(0.2)])], { to: 1 });
      return projectedLoss(g, g.op('Mul', [g.op('Sigmoid', [x]), mask]), [3, 4]);
    },
    feeds: { x: randn(rng, [3, 4]), unused: randn(rng, [2]), ...projFeed(rng, [3, 4]) },
    wrt: ['x', 'unused'],
  });
  assert.deepEqual(Array.from(grads.unused!.data as Float32Array), [0, 0]);
});

test('seedInput scales the gradients; prefix names the outputs; gradient outputs are declared with the wrt type and shape', async () => {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', ['batch', 3]);
  const w = g.initializer('w', Float32Array.from({ length: 6 }, () => rng.normal()), [3, 2]);
  g.input('seed', 'float32', []);
  g.output('loss', 'float32', [], g.op('ReduceSum', [g.op('Tanh', [g.op('MatMul', [x, w])])], { keepdims: 0 }));
  const plain = structuredClone(g.toModel());
  const seeded = structuredClone(g.toModel());
  const a = appendGradients(plain.graph!, { loss: 'loss', wrt: ['w', 'x'] });
  const b = appendGradients(seeded.graph!, { loss: 'loss', wrt: ['w', 'x'], prefix: 'd/', seedInput: 'seed' });
  assert.deepEqual(a.gradients, { w: 'grad.w', x: 'grad.x' });
  assert.deepEqual(b.gradients, { w: 'd/w', x: 'd/x' });
  const declared = seeded.graph!.output!.find((o) => o.name === 'd/w')!;
  assert.deepEqual(declared.type?.tensorType?.shape?.dim?.map((d) => Number(d.dimValue)), [3, 2]);
  assert.equal(declared.type?.tensorType?.elemType, 1);
  assert.equal(seeded.graph!.output!.find((o) => o.name === 'd/x')!.type?.tensorType?.shape?.dim?.[0]?.dimParam, 'batch');

  const feeds = { x: { type: 'float32', data: Float32Array.from({ length: 6 }, () => rng.normal()), dims: [2, 3] }, seed: { type: 'float32', data: Float32Array.of(-2.5), dims: [] } };
  const run = async (bytes: Uint8Array, names: string[]): Promise<Float32Array[]> => {
    const s = await Teacher.create(bytes, 'grad');
    const out = await s.run(feeds, names);
    await s.release();
    return names.map((n) => out[n]!.data as Float32Array);
  };
  const [gw, gx] = await run(encodeModel(plain), ['grad.w', 'grad.x']);
  const [sw, sx] = await run(encodeModel(seeded), ['d/w', 'd/x']);
  gw!.forEach((v, i) => assert.ok(Math.abs(sw![i]! - -2.5 * v) <= 1e-6 * Math.abs(v) + 1e-7));
  gx!.forEach((v, i) => assert.ok(Math.abs(sx![i]! - -2.5 * v) <= 1e-6 * Math.abs(v) + 1e-7));
});

test('an op without a rule on the path is a TrainError naming the op and the node; ops off the path are fine', () => {
  const build = (): GraphBuilder => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [3, 4]);
    g.node('Foo', [g.op('Tanh', [x])], ['foo_out'], {}, { name: 'bar' });
    g.graph.node!.at(-1)!.name = 'bar';
    g.output('loss', 'float32', [], g.op('ReduceSum', [g.op('Add', ['foo_out', x])], { keepdims: 0 }));
    // metrics beside the loss: no gradient needed, no rule needed
    g.output('pred', 'int64', [3], g.op('ArgMax', [g.op('TopK', [x, g.int64s([2])], { axis: 1 })], { axis: 1, keepdims: 0 }));
    return g;
  };
  assert.throws(() => appendGradients(build().graph, { loss: 'loss', wrt: ['x'] }), (e: unknown) => {
    assert.ok(e instanceof TrainError);
    assert.match(e.message, /^op 'Foo' \(node 'bar'\) has no gradient rule in kennis; /);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  const g = build();
  const pred = g.graph.node!.find((n) => n.opType === 'Foo')!;
  pred.opType = 'Atan';
  assert.throws(() => appendGradients(g.graph, { loss: 'loss', wrt: ['x'] }), /op 'Atan' \(node 'bar'\) has no gradient rule/);
});

test('bad options are one-line TrainErrors naming the value', () => {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', [2]);
  g.input('ids', 'int64', [2]);
  g.output('loss', 'float32', [], g.op('ReduceSum', [x], { keepdims: 0 }));
  const fresh = (): typeof g.graph => structuredClone(g.graph);
  assert.throws(() => appendGradients(fresh(), { loss: 'nope', wrt: ['x'] }), (e: unknown) => e instanceof TrainError && /loss 'nope' is not a value/.test(e.message));
  assert.throws(() => appendGradients(fresh(), { loss: 'loss', wrt: ['y'] }), /wrt 'y' is not a graph input or initializer/);
  assert.throws(() => appendGradients(fresh(), { loss: 'loss', wrt: ['ids'] }), /wrt 'ids' has a non-float element type/);
  assert.throws(() => appendGradients(fresh(), { loss: 'loss', wrt: ['x'], prefix: '' }), /gradient output 'x' is already a value/);
  assert.throws(() => appendGradients(fresh(), { loss: 'loss', wrt: ['x'], opset: 11 }), /opset 13 or later/);
});

test('a tiny GPT (embeddings, causal attention with a padding mask, LayerNorm, gelu_tanh MLP, tied head)', async () => {
  const [V, d, T, B, hidden] = [11, 8, 5, 2, 16];
  const w = (dims: number[], scale = 0.3): Weight => ({ data: Float32Array.from({ length: dims.reduce((a, b) => a * b) }, () => scale * rng.normal()), dims });
  const ln = (): { gamma: Weight; beta: Weight } => ({ gamma: { data: Float32Array.from({ length: d }, () => 1 + 0.2 * rng.normal()), dims: [d] }, beta: w([d], 0.1) });
  const dense = (i: number, o: number): { W: Weight; b: Weight } => ({ W: w([i, o]), b: w([o], 0.1) });
  const weights: GptWeights = {
    wte: w([V, d], 0.5), wpe: w([T, d], 0.5), lnF: ln(),
    blocks: [{ ln1: ln(), ln2: ln(), attn: { q: dense(d, d), k: dense(d, d), v: dense(d, d), o: dense(d, d) }, mlp: { fc: dense(d, hidden), proj: dense(hidden, d) } }],
  };
  const ids = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(V)));
  const mask = BigInt64Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0].map(BigInt));
  // (the key bias is left out: softmax over keys ignores a shift shared by all keys, so its gradient is exactly 0)
  const wrt = ['gpt.wte', 'gpt.wpe.table', 'gpt.h0.ln1.gamma', 'gpt.h0.ln1.beta', 'gpt.h0.attn.q.W', 'gpt.h0.attn.q.b', 'gpt.h0.attn.k.W', 'gpt.h0.attn.v.W', 'gpt.h0.attn.o.W', 'gpt.h0.mlp.fc.W', 'gpt.h0.mlp.proj.b', 'gpt.ln_f.gamma'];
  await checkGradients({
    build: (g) => {
      const logits = gpt(g, g.input('ids', 'int64', ['batch', 'seq']), weights, { heads: 2 }, g.input('attention_mask', 'int64', ['batch', 'seq']));
      return projectedLoss(g, g.op('LogSoftmax', [logits], { axis: -1 }), [B, T, V]);
    },
    feeds: { ids: { data: ids, dims: [B, T] }, attention_mask: { data: mask, dims: [B, T] }, ...projFeed(rng, [B, T, V]) },
    wrt,
    samples: 12,
  });
});

test('one value that is the whole gradient of one input and a part of another\'s: both gradients are right', async () => {
  // z = a + b passes dz to both; b is also read by a second term, so b's gradient sums dz with it
  const build = (g: GraphBuilder): string => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => g.input(n, 'float32', [2, 3]));
    const z = g.op('Add', [a!, b!]);
    return g.op('Add', [g.op('ReduceSum', [g.op('Mul', [z, c!])], { keepdims: 0 }), g.op('ReduceSum', [g.op('Mul', [b!, b!])], { keepdims: 0 })]);
  };
  const rng = new Rng(12);
  await checkGradients({ build, feeds: { a: randn(rng, [2, 3]), b: randn(rng, [2, 3]), c: randn(rng, [2, 3]) }, wrt: ['a', 'b'] });
});
