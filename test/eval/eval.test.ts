import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateModels, type ModelEval } from '../../src/evaluate/eval/index.js';
import { exportStudentToOnnx } from '../../src/evaluate/export/index.js';
import { GraphBuilder, dense } from '../../src/core/onnx/index.js';
import { TeacherError } from '../../src/core/errors/index.js';
import type { MlpSpec } from '../../src/train/students/index.js';
import { mlpClassifier, randomWeight, sequenceModel } from '../fixtures/teachers.js';
import { Rng } from '../../src/core/util/index.js';
import { allRows, argmax, logSoftmax, metrics, near, ort, run, writeModel } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'kennis-eval-'));
const mnist = { name: 'mnist', split: 'test', limit: 300 } as const;

function assertMetrics(m: ModelEval, ref: ReturnType<typeof metrics>, label: string): void {
  assert.equal(m.errors, ref.errors, `${label} errors`);
  assert.ok(near(m.accuracy, ref.accuracy), `${label} accuracy ${m.accuracy} vs ${ref.accuracy}`);
  assert.ok(near(m.crossEntropy, ref.crossEntropy), `${label} ce ${m.crossEntropy} vs ${ref.crossEntropy}`);
  assert.ok(near(m.agreement, ref.agreement), `${label} agreement ${m.agreement} vs ${ref.agreement}`);
  assert.ok(near(m.klToReference, ref.kl), `${label} KL ${m.klToReference} vs ${ref.kl}`);
}

test('eval classification: accuracy, errors, confusion, agreement and KL equal a direct onnxruntime + float64 computation', async () => {
  const A = mlpClassifier({ seed: 1 });
  const B = mlpClassifier({ seed: 2, hidden: [16], gain: 1 });
  const a = writeModel(dir, 'a.onnx', A.bytes);
  const b = writeModel(dir, 'b.onnx', B.bytes);
  // batch 128 over 300 rows: the last batch is short, sums must still cover every row once
  const report = await evaluateModels([a, b, a], { dataset: { ...mnist, split: 'train' }, split: 'test', batchSize: 128, repeats: 2 });
  assert.deepEqual([report.dataset, report.split, report.rows, report.positions, report.task, report.classes, report.reference], ['mnist', 'test', 300, 300, 'classification', 10, a]);

  const { rows, columns } = await allRows(mnist);
  const feeds = { image: new ort.Tensor('float32', Float32Array.from(columns.image!), [rows, 784]) };
  const la = logSoftmax(await run(A.bytes, feeds), 10);
  const lb = logSoftmax(await run(B.bytes, feeds), 10);
  const labels = columns.label!;
  assertMetrics(report.models[0]!, metrics(la, la, labels), 'A');
  assertMetrics(report.models[1]!, metrics(lb, la, labels), 'B vs A');
  // the same file as a separate session: agreement exactly 1 and KL exactly 0, same accuracy
  const again = report.models[2]!;
  assert.equal(again.agreement, 1);
  assert.equal(again.klToReference, 0);
  assert.equal(again.errors, report.models[0]!.errors);

  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  for (let r = 0; r < rows; r++) confusion[labels[r]!]![argmax(lb[r]!)]!++;
  assert.deepEqual(report.models[1]!.confusion, confusion);
  assert.deepEqual(report.models[1]!.perClassErrors, confusion.map((row, y) => row.reduce((s, x) => s + x, 0) - row[y]!));

  for (const [m, fixture, file] of [[report.models[0]!, A, a], [report.models[1]!, B, b]] as const) {
    assert.equal(m.parameters, fixture.layers.reduce((n, l) => n + l.W.data.length + l.b.data.length, 0));
    assert.equal(m.fileBytes, statSync(file).size);
    assert.equal(m.output, 'logits');
    assert.ok(Number.isFinite(m.latencyMsPerSample) && m.latencyMsPerSample > 0);
  }
  assert.equal(report.latencyBatch, 128);
});

test('eval feeds the first input column to a single float input of any name or shape', async () => {
  const A = mlpClassifier({ seed: 1 });
  const A4d = mlpClassifier({ seed: 1, imageShape: [1, 28, 28] }); // same weights, [N,1,28,28] input
  const spec: MlpSpec = { arch: 'mlp', inputs: 784, hidden: [12], activation: 'relu', dropout: 0, classes: 10 };
  const rng = new Rng(8);
  const weights = {
    'dense_0/kernel': { shape: [784, 12], data: randomWeight(rng, [784, 12], 0.1).data },
    'dense_0/bias': { shape: [12], data: randomWeight(rng, [12], 0.1).data },
    'dense_1/kernel': { shape: [12, 10], data: randomWeight(rng, [12, 10], 0.3).data },
    'dense_1/bias': { shape: [10], data: randomWeight(rng, [10], 0.1).data },
  };
  const S = exportStudentToOnnx(spec, weights, { inputName: 'pixels' });
  const report = await evaluateModels([writeModel(dir, 'a.onnx', A.bytes), writeModel(dir, 'a4d.onnx', A4d.bytes), writeModel(dir, 'student.onnx', S)], { dataset: mnist, repeats: 1 });
  assert.equal(report.models[1]!.agreement, 1);
  assert.ok(report.models[1]!.klToReference < 1e-12);
  assert.equal(report.models[1]!.errors, report.models[0]!.errors);

  const { rows, columns } = await allRows(mnist);
  const la = logSoftmax(await run(A.bytes, { image: new ort.Tensor('float32', Float32Array.from(columns.image!), [rows, 784]) }), 10);
  const ls = logSoftmax(await run(S, { pixels: new ort.Tensor('float32', Float32Array.from(columns.image!), [rows, 784]) }), 10);
  assertMetrics(report.models[2]!, metrics(ls, la, columns.label!), 'student');
  assert.equal(report.models[2]!.parameters, 784 * 12 + 12 + 12 * 10 + 10);
});

test('eval sequences: bits per byte, perplexity, agreement and KL over every token equal a float64 computation', async () => {
  const S1 = sequenceModel({ vocab: 256, dModel: 16, seed: 3 });
  const S2 = sequenceModel({ vocab: 256, dModel: 16, seed: 4, embeddingStd: 0.3 });
  const text = { name: 'moby-dick', split: 'test', seqLen: 32, limit: 12 } as const;
  const report = await evaluateModels([writeModel(dir, 's1.onnx', S1.bytes), writeModel(dir, 's2.onnx', S2.bytes)], { dataset: text, batchSize: 5, repeats: 1 });
  assert.deepEqual([report.rows, report.positions, report.task, report.classes], [12, 12 * 32, 'sequence', 256]);

  const { rows, columns } = await allRows(text);
  const ids = BigInt64Array.from(Array.from(columns.input_ids!), (v) => BigInt(v));
  const feeds = { input_ids: new ort.Tensor('int64', ids, [rows, 32]), attention_mask: new ort.Tensor('int64', new BigInt64Array(rows * 32).fill(1n), [rows, 32]) };
  const l1 = logSoftmax(await run(S1.bytes, feeds), 256);
  const l2 = logSoftmax(await run(S2.bytes, feeds), 256);
  for (const [m, lp] of [[report.models[0]!, l1], [report.models[1]!, l2]] as const) {
    const ref = metrics(lp, l1, columns.labels!);
    assertMetrics(m, ref, m.model);
    assert.ok(near(m.bitsPerByte, ref.crossEntropy / Math.LN2), `bpb ${m.bitsPerByte} vs ${ref.crossEntropy / Math.LN2}`);
    assert.equal(m.bitsPerToken, m.bitsPerByte);
    assert.ok(near(m.perplexity, Math.exp(ref.crossEntropy)));
    assert.equal(m.confusion, undefined);
  }
  assert.ok(report.models[1]!.klToReference > 0.01, 'two different models should disagree');
});

test('eval errors: mismatched classes, a missing file, and an input no column can feed are TeacherErrors', async () => {
  const a = writeModel(dir, 'a.onnx', mlpClassifier({ seed: 1 }).bytes);
  const five = writeModel(dir, 'five.onnx', mlpClassifier({ seed: 1, classes: 5 }).bytes);
  await assert.rejects(evaluateModels([a, five], { dataset: mnist }), (e: unknown) => e instanceof TeacherError && /same task and vocabulary/.test(e.message));
  await assert.rejects(evaluateModels([a, join(dir, 'missing.onnx')], { dataset: mnist }), (e: unknown) => e instanceof TeacherError && /cannot be read/.test(e.message));
  const g = new GraphBuilder();
  const x = g.input('tokens', 'int64', ['N', 4]);
  g.output('logits', 'float32', ['N', 10], dense(g, g.op('Cast', [x], { to: 1 }), randomWeight(new Rng(1), [4, 10], 1)));
  await assert.rejects(evaluateModels([writeModel(dir, 'tokens.onnx', g.toBytes())], { dataset: mnist }), /input 'tokens' \(int64\) has no dataset column/);
  // labels outside the model's classes: a 5-class model alone on 10-class digits
  await assert.rejects(evaluateModels([five], { dataset: mnist }), /outside the model's 5 classes/);
});
