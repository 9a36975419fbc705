import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendGradients, encodeModel, GraphBuilder } from '../../src/core/onnx/index.js';
import { Teacher } from '../../src/core/runtime/index.js';
import { Rng } from '../../src/core/util/index.js';

/**
 * An MLP 784-32-10 with a softmax cross-entropy loss (mean over a dynamic batch), weights as
 * initializers: every gradient element from the ONNX backward pass (float32) matches a
 * hand-written float64 backprop within 1e-3 relative (+1e-5 of the tensor's largest entry).
 */
test('MLP 784-32-10 with softmax cross-entropy: gradients match a hand-written float64 backprop', async () => {
  const rng = new Rng(42);
  const [B, I, H, O] = [16, 784, 32, 10];
  const rand = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => scale * rng.normal());
  const W1 = rand(I * H, 0.05), b1 = rand(H, 0.1), W2 = rand(H * O, 0.3), b2 = rand(O, 0.1);
  const x = Float32Array.from({ length: B * I }, () => rng.next());
  const labels = Array.from({ length: B }, () => rng.int(O));
  const onehot = new Float32Array(B * O);
  labels.forEach((l, r) => { onehot[r * O + l] = 1; });

  const g = new GraphBuilder({ opset: 17 });
  const input = g.input('x', 'float32', ['batch', I]);
  const target = g.input('target', 'float32', ['batch', O]);
  g.initializer('W1', W1, [I, H]);
  g.initializer('b1', b1, [H]);
  g.initializer('W2', W2, [H, O]);
  g.initializer('b2', b2, [O]);
  const h = g.op('Relu', [g.op('Add', [g.op('MatMul', [input, 'W1']), 'b1'])]);
  const logits = g.op('Gemm', [h, 'W2', 'b2']);
  const nll = g.op('Neg', [g.op('ReduceSum', [g.op('Mul', [target, g.op('LogSoftmax', [logits], { axis: 1 })]), g.int64s([1])], { keepdims: 0 })]);
  g.output('loss', 'float32', [], g.op('ReduceMean', [nll], { keepdims: 0 }));
  const model = g.toModel();
  const { gradients } = appendGradients(model.graph!, { loss: 'loss', wrt: ['W1', 'b1', 'W2', 'b2'] });

  const session = await Teacher.create(encodeModel(model), 'mlp');
  const out = await session.run({ x: { type: 'float32', data: x, dims: [B, I] }, target: { type: 'float32', data: onehot, dims: [B, O] } });
  await session.release();

  // float64 backprop: z = x W1 + b1, h = relu(z), l = h W2 + b2, dl = (softmax(l) - onehot) / B
  const z = new Float64Array(B * H), hid = new Float64Array(B * H), dl = new Float64Array(B * O);
  for (let r = 0; r < B; r++) {
    for (let j = 0; j < H; j++) {
      let s = b1[j]!;
      for (let i = 0; i < I; i++) s += x[r * I + i]! * W1[i * H + j]!;
      z[r * H + j] = s;
      hid[r * H + j] = Math.max(0, s);
    }
    const l = Array.from({ length: O }, (_, k) => { let s = b2[k]!; for (let j = 0; j < H; j++) s += hid[r * H + j]! * W2[j * O + k]!; return s; });
    const m = Math.max(...l);
    const e = l.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    for (let k = 0; k < O; k++) dl[r * O + k] = (e[k]! / sum - onehot[r * O + k]!) / B;
  }
  const dW2 = new Float64Array(H * O), db2 = new Float64Array(O), dz = new Float64Array(B * H), dW1 = new Float64Array(I * H), db1 = new Float64Array(H);
  for (let r = 0; r < B; r++) {
    for (let k = 0; k < O; k++) {
      db2[k]! += dl[r * O + k]!;
      for (let j = 0; j < H; j++) dW2[j * O + k]! += hid[r * H + j]! * dl[r * O + k]!;
    }
    for (let j = 0; j < H; j++) {
      let s = 0;
      for (let k = 0; k < O; k++) s += dl[r * O + k]! * W2[j * O + k]!;
      dz[r * H + j] = z[r * H + j]! > 0 ? s : 0;
      db1[j]! += dz[r * H + j]!;
    }
  }
  for (let i = 0; i < I; i++) for (let r = 0; r < B; r++) {
    const xv = x[r * I + i]!;
    if (xv === 0) continue;
    for (let j = 0; j < H; j++) dW1[i * H + j]! += xv * dz[r * H + j]!;
  }

  const expected: Record<string, [Float64Array, number[]]> = { W1: [dW1, [I, H]], b1: [db1, [H]], W2: [dW2, [H, O]], b2: [db2, [O]] };
  for (const [name, [ref, dims]] of Object.entries(expected)) {
    const got = out[gradients[name]!]!;
    assert.deepEqual(got.dims, dims);
    const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(scale > 0);
    ref.forEach((v, i) => {
      const a = got.data[i] as number;
      assert.ok(Math.abs(a - v) <= 1e-3 * Math.abs(v) + 1e-5 * scale, `d loss / d ${name}[${i}]: backward ${a}, float64 backprop ${v}`);
    });
  }
});
