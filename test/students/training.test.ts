import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildStudent, type StudentSpec } from '../../src/train/students/index.js';
import { Rng } from '../../src/core/util/index.js';
import { assertClose, normalData, use } from '../nn/helpers.js';
import { crossEntropy, evalLoss, sgd } from './helpers.js';

interface Problem { spec: StudentSpec; x: () => tf.Tensor; labels: () => tf.Tensor; lr: number }

const rng = new Rng(21);
const B = 16;
const feats = normalData(rng, B * 12);
const classOf = (row: number): number => (feats[row * 12]! > 0 ? 1 : 0) + (feats[row * 12 + 1]! > 0 ? 1 : 0);
const labels = Int32Array.from({ length: B }, (_, i) => classOf(i));
const seq = Int32Array.from({ length: 4 * 8 }, (_, i) => (i * 3) % 7); // a learnable periodic sequence
const next = Int32Array.from({ length: 4 * 8 }, (_, i) => ((i + 1) * 3) % 7);

const problems: Problem[] = [
  { spec: { arch: 'mlp', inputs: 12, hidden: [16, 16], activation: 'gelu', dropout: 0.1, inputDropout: 0.1, classes: 3 }, x: () => tf.tensor2d(feats, [B, 12]), labels: () => tf.tensor1d(labels, 'int32'), lr: 0.2 },
  { spec: { arch: 'cnn', inputShape: [2, 3, 2], conv: [{ filters: 4, kernel: 3, pool: 2 }], dense: [8], dropout: 0.1, classes: 3 }, x: () => tf.tensor2d(feats, [B, 12]), labels: () => tf.tensor1d(labels, 'int32'), lr: 0.2 },
  { spec: { arch: 'gpt', vocab: 7, dModel: 16, layers: 1, heads: 2, seqLen: 8, dropout: 0.1 }, x: () => tf.tensor2d(seq, [4, 8], 'int32'), labels: () => tf.tensor2d(next, [4, 8], 'int32'), lr: 0.5 },
];

for (const p of problems) {
  test(`${p.spec.arch}: SGD on wasm lowers the loss, leaks no tensors, and is deterministic per seed`, async () => {
    await use('wasm');
    const [x, y] = [p.x(), p.labels()];
    const a = buildStudent(p.spec, { seed: 1 });
    const before = evalLoss(a, x, y);
    const live = tf.memory().numTensors;
    sgd(a, x, y, 5, p.lr);
    assert.equal(tf.memory().numTensors, live, 'expected no tensors left by 5 training steps');
    const after = evalLoss(a, x, y);
    assert.ok(after < before, `expected loss to drop below ${before}, got ${after}`);

    const b = buildStudent(p.spec, { seed: 1 });
    sgd(b, x, y, 5, p.lr);
    assert.deepEqual(b.getWeights(), a.getWeights(), 'expected identical weights from the same seed');
    const c = buildStudent(p.spec, { seed: 2 });
    sgd(c, x, y, 5, p.lr);
    assert.notDeepEqual(c.getWeights(), a.getWeights(), 'expected other weights from another seed');
    [a, b, c].forEach((s) => s.dispose());
    tf.dispose([x, y]);
  });

  test(`${p.spec.arch}: training-mode loss gradients (with dropout) on wasm equal those on cpu`, async () => {
    const grads: Record<string, Float32Array>[] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await use(backend);
      const st = buildStudent(p.spec, { seed: 3 });
      const [x, y] = [p.x(), p.labels()];
      const g = tf.tidy(() => tf.variableGrads(() => crossEntropy(st.forward(st.params, x, { training: true, step: 7 }), y), Object.values(st.params)).grads);
      const byName: Record<string, Float32Array> = {};
      for (const [name, v] of Object.entries(st.params)) byName[name] = Float32Array.from(g[v.name]!.dataSync());
      grads.push(byName);
      tf.dispose([...Object.values(g), x, y]);
      st.dispose();
    }
    const [cpu, wasm] = grads as [Record<string, Float32Array>, Record<string, Float32Array>];
    for (const name of Object.keys(cpu)) assertClose(wasm[name]!, cpu[name]!, 1e-4, `${p.spec.arch} grad ${name}`);
    assert.ok(Object.values(cpu).some((g) => g.some((v) => v !== 0)), 'expected non-zero gradients');
  });
}
