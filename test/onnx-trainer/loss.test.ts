import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { kdLossSum, type TopkTail } from '../../src/train/losses/index.js';
import { rowsOf, teacherFeeds } from '../../src/train/onnxruntime/loss-feeds.js';
import type { LossGraphSpec } from '../../src/train/onnxruntime/loss-graph.js';
import { f32, gaussian, kdLossRef, makeTargets, matrix, numericGrad, type Div, type Form, type RefTarget } from '../losses/reference.js';
import { close, closeMatrix, disposeTargets, toTf } from '../losses/helpers.js';
import { batchOf, fakeManifest, lossSession, scalar, toRuntime } from './helpers.js';

await tf.setBackend('cpu');

const DIVS: Div[] = ['forward_kl', 'reverse_kl', 'symmetric', 'jsd'];


/** A padding row of garbage: NaN logits and targets, out-of-range ids, label -100. */
function padding(t: RefTarget, V: number): RefTarget {
  return t.kind === 'full' ? { kind: 'full', logits: Array(V).fill(NaN) }
    : t.kind === 'topk' ? { ...t, ids: t.ids.map(() => 999), logits: t.ids.map(() => NaN), lse: NaN }
      : { kind: 'sampled', ids: t.ids.map(() => -7), counts: t.ids.map(() => NaN) };
}

test('the ONNX KD loss and its gradient match the float64 reference, and the loss kdLossSum (tfjs), for every target form, divergence, T and alpha, with a padding row', async () => {
  const rnd = gaussian(11);
  const M = 5;
  const V = 12;
  const k = 4;
  let cases = 0;
  for (const form of ['full', 'ghost', 'renormalize', 'sampled'] as Form[]) {
    const teacher = f32(matrix(M, V, rnd, 3));
    const student = [...f32(matrix(M, V, rnd, 2)), Array(V).fill(NaN)];
    const base = makeTargets(teacher, form, k, rnd);
    const targets = [...base, padding(base[0]!, V)];
    const labels = [...Array.from({ length: M }, (_, i) => (i * 5) % V), -100];
    const kind = form === 'ghost' || form === 'renormalize' ? 'topk' : form;
    const tail: TopkTail = form === 'renormalize' ? 'renormalize' : 'ghost';
    const manifest = fakeManifest({ kind, vocab: V, k, samples: 7 });
    const batch = batchOf(targets, labels);
    const rows = rowsOf(batch, manifest);
    assert.equal(rows.count, M);
    const logits = { type: 'float32', data: Float32Array.from(student.flat()), dims: [M + 1, V] };
    for (const divergence of form === 'sampled' ? (['forward_kl'] as Div[]) : DIVS) {
      for (const temperature of [1, 2.5]) {
        for (const alpha of [0, 0.5, 1]) {
          const spec: LossGraphSpec = { kind, vocab: V, teacherDtype: 'float32', temperature, divergence, beta: 0.3, tail, alpha, prefix: '' };
          const what = `${form}/${divergence}/T=${temperature}/alpha=${alpha}`;
          const session = await lossSession(spec);
          const out = await session.run(toRuntime({ logits, ...rows.feeds, ...teacherFeeds(batch, manifest, rows, spec) }), { sum: null, distill_sum: null, hard_sum: null, 'grad.logits': null });
          await session.release();
          const f = (x: number[][]) => kdLossRef(x, targets.slice(0, M), Array(M).fill(1), { T: temperature, div: divergence, beta: 0.3, alpha }, labels) * M;
          close(scalar(out.sum), f(student.slice(0, M)), 2e-5, 2e-5, `${what} vs float64`);
          const grad = out['grad.logits']!.data as Float32Array;
          closeMatrix(grad.subarray(0, M * V), numericGrad(f, student.slice(0, M)), 1e-4, 1e-5, `${what} gradient vs float64 finite differences`);
          assert.ok(grad.subarray(M * V).every((v) => v === 0), `${what}: the padding row gets a zero gradient`);
          const t = toTf(targets);
          const s = tf.tidy(() => {
            const r = kdLossSum(tf.tensor2d(student), t, tf.tensor1d([...Array(M).fill(1), 0]), { temperature, divergence, beta: 0.3, alpha, tail, labels: tf.tensor1d(labels.map((l) => Math.max(l, 0)), 'int32') });
            return [r.sum, r.distillSum, r.hardSum].map((x) => x.dataSync()[0]!);
          });
          disposeTargets(t);
          close(scalar(out.sum), s[0]!, 2e-5, 2e-5, `${what} sum vs tfjs`);
          close(scalar(out.distill_sum), s[1]!, 2e-5, 2e-5, `${what} distill sum vs tfjs`);
          close(scalar(out.hard_sum), s[2]!, 2e-5, 2e-5, `${what} hard sum vs tfjs`);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 3 * 4 * 6 + 6);
});
