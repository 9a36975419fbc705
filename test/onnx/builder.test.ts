import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttributeType, GraphBuilder, attr, conv2d, decodeModel, dense, flatten, hwioToOihw, layerNorm, maxPool, type Weight,
} from '../../src/core/onnx/index.js';
import { uniqueIn } from '../../src/core/onnx/graph-utils.js';
import { KennisError } from '../../src/core/errors/index.js';
import { Rng } from '../../src/core/util/rng.js';
import { mlpClassifier, randomWeight, sequenceModel, softmaxClassifier } from '../fixtures/teachers.js';
import { affine, geluErf, geluTanh, gptForward, maxAbsDiff, relu, rows, softmax } from './reference.js';
import { floatTensor, int64Tensor, runOnce } from './run.js';

function randomInput(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

function mlpReference(layers: { W: Weight; b: Weight }[], x: Float32Array, width: number): Float64Array {
  let h = rows(x, width);
  layers.forEach((l, i) => { h = affine(h, l.W, l.b); if (i < layers.length - 1) h = relu(h); });
  return Float64Array.from(h.flatMap((r) => [...r]));
}

test('MLP classifier logits match a float64 reference, for [N,784] and [N,1,28,28] inputs', async () => {
  const x = randomInput(5 * 784, 1);
  for (const imageShape of [undefined, [1, 28, 28]]) {
    const teacher = mlpClassifier({ inputs: 784, hidden: [32], classes: 10, seed: 7, imageShape });
    const dims = imageShape ? [5, ...imageShape] : [5, 784];
    const { outputs } = await runOnce(teacher.bytes, { image: floatTensor(x, dims) });
    assert.deepStrictEqual(outputs.logits!.dims, [5, 10]);
    const ref = mlpReference(teacher.layers, x, 784);
    assert.ok(maxAbsDiff(outputs.logits!.data as Float32Array, ref) < 1e-4, `max diff ${maxAbsDiff(outputs.logits!.data as Float32Array, ref)}`);
  }
});

test('softmax classifier returns the softmax of the reference logits', async () => {
  const teacher = softmaxClassifier({ inputs: 20, hidden: [16, 8], classes: 6, seed: 2 });
  const x = randomInput(3 * 20, 5);
  const { outputs } = await runOnce(teacher.bytes, { image: floatTensor(x, [3, 20]) });
  const ref = rows(mlpReference(teacher.layers, x, 20), 6).flatMap((r) => [...softmax(r)]);
  assert.ok(maxAbsDiff(outputs.probs!.data as Float32Array, ref) < 1e-6);
});

test('CNN helpers (tfjs HWIO kernel, Conv+Relu, MaxPool, Flatten, dense) match a float64 reference', async () => {
  const rng = new Rng(11);
  const [N, C, S, O] = [2, 2, 6, 4];
  const kernel = randomWeight(rng, [3, 3, C, O], 0.5); // tfjs layout
  const bias = randomWeight(rng, [O], 0.1);
  const fc = randomWeight(rng, [O * 3 * 3, 5], 0.3);
  const g = new GraphBuilder();
  const x = g.input('image', 'float32', ['N', C, S, S]);
  const c = conv2d(g, x, hwioToOihw(kernel), bias, { pads: [1, 1, 1, 1] }, 'relu');
  g.output('logits', 'float32', ['N', 5], dense(g, flatten(g, maxPool(g, c, { kernel: [2, 2] })), fc));
  const input = randomInput(N * C * S * S, 3);
  const { outputs } = await runOnce(g.toBytes(), { image: floatTensor(input, [N, C, S, S]) });

  const at = (n: number, ch: number, i: number, j: number): number => (i < 0 || j < 0 || i >= S || j >= S ? 0 : input[((n * C + ch) * S + i) * S + j]!);
  const ref: number[] = [];
  for (let n = 0; n < N; n++) {
    const flat: number[] = [];
    for (let o = 0; o < O; o++) {
      const conv = (i: number, j: number): number => {
        let s = bias.data[o]!;
        for (let ch = 0; ch < C; ch++) for (let di = 0; di < 3; di++) for (let dj = 0; dj < 3; dj++) {
          s += at(n, ch, i + di - 1, j + dj - 1) * kernel.data[((di * 3 + dj) * C + ch) * O + o]!;
        }
        return Math.max(0, s);
      };
      for (let pi = 0; pi < 3; pi++) for (let pj = 0; pj < 3; pj++) {
        flat.push(Math.max(conv(2 * pi, 2 * pj), conv(2 * pi, 2 * pj + 1), conv(2 * pi + 1, 2 * pj), conv(2 * pi + 1, 2 * pj + 1)));
      }
    }
    ref.push(...affine([Float64Array.from(flat)], fc)[0]!);
  }
  assert.ok(maxAbsDiff(outputs.logits!.data as Float32Array, ref) < 1e-4);
});

test('GPT sequence model matches a float64 reference with causal and padding masks', async () => {
  const teacher = sequenceModel({ vocab: 23, dModel: 8, heads: 2, layers: 2, maxSeq: 16, seed: 4 });
  const ids = [[3, 1, 4, 1, 5, 9], [2, 7, 18, 2, 8, 0]];
  const masks = [[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]]; // second row left-padded
  const { outputs } = await runOnce(teacher.bytes, {
    input_ids: int64Tensor(ids.flat(), [2, 6]), attention_mask: int64Tensor(masks.flat(), [2, 6]),
  });
  const logits = outputs.logits!;
  assert.deepStrictEqual(logits.dims, [2, 6, 23]);
  const data = logits.data as Float32Array;
  for (let b = 0; b < 2; b++) {
    const ref = gptForward(teacher.weights, teacher.config, ids[b]!, masks[b]!);
    for (let t = 0; t < 6; t++) {
      if (masks[b]![t] === 0) continue; // padded query rows are undefined, as in Hugging Face models
      const got = data.subarray((b * 6 + t) * 23, (b * 6 + t + 1) * 23);
      assert.ok(maxAbsDiff(got, ref[t]!) < 1e-4, `row ${b},${t}: diff ${maxAbsDiff(got, ref[t]!)}`);
    }
  }
  const decoded = decodeModel(teacher.bytes);
  assert.deepStrictEqual(decoded.graph!.input!.map((i) => i.name), ['input_ids', 'attention_mask']);
  assert.deepStrictEqual(decoded.graph!.output![0]!.type!.tensorType!.shape!.dim, [{ dimParam: 'batch' }, { dimParam: 'sequence' }, { dimValue: 23 }]);
});

test('layerNorm and gelu give the same result at opset 13 (decomposed), 17 and 20 (Gelu op)', async () => {
  const rng = new Rng(9);
  const gamma = randomWeight(rng, [6], 0.3);
  const beta = randomWeight(rng, [6], 0.3);
  const W = randomWeight(rng, [6, 4], 0.7);
  const x = randomInput(3 * 6, 8);
  const lnRef = rows(x, 6).map((r) => {
    const mean = r.reduce((a, v) => a + v, 0) / 6;
    const variance = r.reduce((a, v) => a + (v - mean) ** 2, 0) / 6;
    return r.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * gamma.data[i]! + beta.data[i]!);
  });
  const pre = affine(lnRef, W);
  for (const opset of [13, 17, 20]) {
    for (const act of ['gelu', 'gelu_tanh'] as const) {
      const g = new GraphBuilder({ opset });
      const h = dense(g, layerNorm(g, g.input('x', 'float32', [3, 6]), gamma, beta), W, undefined, act);
      g.output('y', 'float32', [3, 4], h);
      const { outputs } = await runOnce(g.toBytes(), { x: floatTensor(x, [3, 6]) });
      const ref = pre.flatMap((r) => [...r].map(act === 'gelu' ? geluErf : geluTanh));
      assert.ok(maxAbsDiff(outputs.y!.data as Float32Array, ref) < 1e-5, `opset ${opset} ${act}`);
    }
  }
});

test('GraphBuilder names are unique, explicit names are checked, attributes are typed', () => {
  const g = new GraphBuilder();
  assert.equal(g.uniqueName('a'), 'a');
  assert.equal(g.uniqueName('a'), 'a_1');
  g.input('x', 'float32', [2]);
  assert.throws(() => g.input('x', 'float32', [2]), KennisError);
  const [y] = g.node('LeakyRelu', ['x'], 1, { alpha: attr.float(1), n: 3, f: 0.5, list: [1, 2], fl: [0.5, 1] });
  assert.equal(g.op('Relu', ['x']), 'Relu');
  assert.equal(y, 'LeakyRelu');
  const a = g.graph.node![0]!.attribute!;
  assert.deepStrictEqual(a.map((x) => x.type), [AttributeType.FLOAT, AttributeType.INT, AttributeType.FLOAT, AttributeType.INTS, AttributeType.FLOATS]);
  assert.equal(a[0]!.f, 1);
  assert.equal(g.toModel().irVersion, 8);
});

test('uniqueIn hands out the smallest free base_N, also around names taken by others in between', () => {
  const taken = new Set(['x', 'x_2', 'y']);
  const naive = (set: Set<string>, base: string): string => {
    let name = base;
    for (let i = 1; set.has(name); i++) name = `${base}_${i}`;
    return name;
  };
  const mirror = new Set(taken);
  for (const [step, base] of ['x', 'x', 'y', 'x', 'z', 'x', 'z', 'y'].entries()) {
    if (step === 4) { taken.add('x_4'); mirror.add('x_4'); } // claimed directly, as GraphBuilder.input does
    const want = naive(mirror, base);
    mirror.add(want);
    assert.equal(uniqueIn(taken, base), want, `call ${step} for '${base}'`);
  }
  assert.deepEqual([...taken].sort(), [...mirror].sort());
});
