import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { kdLoss, type KdLossOptions } from '../../src/train/losses/index.js';
import { gaussian, kdLossRef, logSumExp, matrix, numericGrad, topIds, type RefTarget } from './reference.js';
import { close, closeMatrix, disposeTargets, toTf } from './helpers.js';

await tf.setBackend('wasm');
await tf.ready();

const f32 = (m: number[][]) => m.map((r) => r.map((v) => Math.fround(v)));

function topk(teacher: number[][], k: number, tail: 'ghost' | 'renormalize'): RefTarget[] {
  return teacher.map((row) => {
    const ids = topIds(row, k);
    return { kind: 'topk', ids, logits: ids.map((i) => row[i]!), lse: Math.fround(logSumExp(row)), tail };
  });
}

test('on the wasm backend (no UnsortedSegmentSum) every target form trains and matches the float64 reference', () => {
  assert.equal(tf.getBackend(), 'wasm');
  const rnd = gaussian(77);
  const V = 12;
  const student = f32(matrix(4, V, rnd, 2));
  const teacher = f32(matrix(4, V, rnd, 3));
  const labels = [1, 5, 7, 11];
  const mask = [1, 1, 0, 1];
  const sampled: RefTarget[] = teacher.map((row) => ({ kind: 'sampled', ids: topIds(row, 6), counts: [9, 5, 3, 2, 1, 0] }));
  const cases: { targets: RefTarget[]; opts: KdLossOptions }[] = [
    { targets: teacher.map((logits) => ({ kind: 'full', logits })), opts: { divergence: 'reverse_kl', temperature: 2, alpha: 0.5 } },
    { targets: topk(teacher, 4, 'ghost'), opts: { divergence: 'jsd', temperature: 2, alpha: 0.5 } },
    { targets: topk(teacher, 4, 'renormalize'), opts: { divergence: 'symmetric', temperature: 4, alpha: 0.5, tail: 'renormalize' } },
    { targets: sampled, opts: { divergence: 'forward_kl', temperature: 1, alpha: 0.5 } },
  ];
  for (const { targets, opts } of cases) {
    const t = toTf(targets);
    const x = tf.tensor2d(student);
    const m = tf.tensor1d(mask);
    const l = tf.tensor1d(labels, 'int32');
    const { value, grad } = tf.valueAndGrad((s: tf.Tensor) => kdLoss(s, t, m, { ...opts, labels: l }))(x);
    const ro = { T: opts.temperature!, div: opts.divergence!, alpha: opts.alpha! };
    const f = (xs: number[][]) => kdLossRef(xs, targets, mask, ro, labels);
    const what = `${targets[0]!.kind}/${opts.divergence}`;
    close(value.dataSync()[0]!, f(student), 2e-5, 1e-6, `${what} loss`);
    closeMatrix(grad.dataSync(), numericGrad(f, student), 2e-5, 1e-6, `${what} grad`);
    tf.dispose([value, grad, x, m, l]);
    disposeTargets(t);
  }
});

test('topk ghost at V = 50257 runs on wasm and matches the reference in value and sampled gradient entries', () => {
  const V = 50257;
  const M = 8;
  const k = 20;
  const rnd = gaussian(1234);
  const student = f32(matrix(M, V, rnd, 2));
  const teacher = f32(matrix(M, V, rnd, 3));
  const targets = topk(teacher, k, 'ghost');
  const mask = Array(M).fill(1);
  const ro = { T: 2, div: 'forward_kl' as const, alpha: 1 };
  const t = toTf(targets);
  const x = tf.tensor2d(student);
  const m = tf.tensor1d(mask);
  const before = tf.memory().numTensors;
  const { value, grad } = tf.valueAndGrad((s: tf.Tensor) => kdLoss(s, t, m, { temperature: 2 }))(x);
  const f = (xs: number[][]) => kdLossRef(xs, targets, mask, ro);
  close(value.dataSync()[0]!, f(student), 2e-5, 1e-6, 'V=50257 loss');
  const g = grad.dataSync();
  // a top-k id and a tail id of a few rows, against central differences of the reference
  const h = 1e-3;
  for (const row of [0, 3, 7]) {
    for (const col of [targets[row]!.kind === 'topk' ? (targets[row] as { ids: number[] }).ids[0]! : 0, 17]) {
      const xp = student.map((r) => r.slice());
      const xm = student.map((r) => r.slice());
      xp[row]![col]! += h;
      xm[row]![col]! -= h;
      const ref = (f(xp) - f(xm)) / (2 * h);
      close(g[row * V + col]!, ref, 1e-3, 1e-8, `grad[${row},${col}]`);
    }
  }
  // a softmax-family gradient sums to zero along each row
  for (let r = 0; r < M; r++) {
    let s = 0;
    for (let v = 0; v < V; v++) s += g[r * V + v]!;
    close(s, 0, 0, 1e-6, `row ${r} gradient sum`);
  }
  tf.dispose([value, grad]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, m]);
  disposeTargets(t);
});
