import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataType, decodeModel, encodeModel, GraphBuilder, renameValue } from '../../src/core/onnx/index.js';
import { appendSoftTargetHead, blockWidth, softTargetOutputNames, UNIFORMS_INPUT } from '../../src/precompute/head/soft-targets.js';
import { TeacherError } from '../../src/core/errors/index.js';
import { Rng } from '../../src/core/util/rng.js';
import { mlpClassifier, sequenceModel, softmaxClassifier } from '../fixtures/teachers.js';
import { drawWithinTolerance, inverseCdf, logSumExp, softmax, topK } from './reference.js';
import { floatTensor, int64Tensor, ort, runOnce } from './run.js';

const V = 97;
const [B, T] = [2, 16];
const seq = sequenceModel({ vocab: V, dModel: 16, seed: 21, maxSeq: 32 });
const rng = new Rng(5);
const ids = Array.from({ length: B * T }, () => rng.int(V));
const seqFeeds = (): Record<string, ort.Tensor> => ({
  input_ids: int64Tensor(ids, [B, T]), attention_mask: int64Tensor(ids.map(() => 1), [B, T]),
});

/** The plain model's logits, one Float32Array row per position. */
async function plainRows(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, output = 'logits'): Promise<Float32Array[]> {
  const t = (await runOnce(bytes, feeds)).outputs[output]!;
  const v = t.dims.at(-1)!;
  const data = t.data as Float32Array;
  return Array.from({ length: data.length / v }, (_, i) => data.subarray(i * v, (i + 1) * v));
}

/** Asserts a top-k head's outputs equal JS top-k and float64 logsumexp over reference rows. */
function checkTopK(out: Record<string, ort.Tensor>, refRows: ArrayLike<number>[], k: number): void {
  const vals = out.topk_logits!.data as Float32Array;
  const idx = out.topk_ids!.data as Int32Array;
  const lse = out.logsumexp!.data as Float32Array;
  assert.equal(out.topk_ids!.type, 'int32');
  refRows.forEach((row, r) => {
    const want = topK(row, k);
    const got = [...idx.subarray(r * k, (r + 1) * k)];
    got.forEach((id, j) => {
      // ties aside: a different id is only acceptable when its value equals the expected one
      if (id !== want[j]) assert.equal(row[id], row[want[j]!], `row ${r} rank ${j}: id ${id} vs ${want[j]}`);
      assert.equal(vals[r * k + j], row[id]);
    });
    assert.ok(Math.abs(lse[r]! - logSumExp(row)) < 1e-4, `row ${r}: logsumexp ${lse[r]} vs ${logSumExp(row)}`);
  });
}

test('topk head on a sequence model: ids and values equal JS top-k of the plain logits, logsumexp within 1e-4', async () => {
  const refRows = await plainRows(seq.bytes, seqFeeds());
  const head = appendSoftTargetHead(seq.bytes, { kind: 'topk', k: 5 });
  const { outputs, outputNames } = await runOnce(head, seqFeeds());
  assert.deepStrictEqual([...outputNames], softTargetOutputNames({ kind: 'topk' }));
  assert.deepStrictEqual(outputs.topk_logits!.dims, [B, T, 5]);
  assert.deepStrictEqual(outputs.logsumexp!.dims, [B, T]);
  checkTopK(outputs, refRows, 5);
  const dims = decodeModel(head).graph!.output!.map((o) => o.type!.tensorType!.shape!.dim!.map((d) => d.dimParam ?? Number(d.dimValue)));
  assert.deepStrictEqual(dims, [['batch', 'sequence', 5], ['batch', 'sequence', 5], ['batch', 'sequence']]);
});

test('logsumexp stays finite and exact for large-magnitude logits (opset 13 and 18 teachers)', async () => {
  for (const opset of [13, 18]) {
    const big = sequenceModel({ vocab: V, dModel: 16, seed: 3, maxSeq: 32, opset, embeddingStd: 20 });
    const refRows = await plainRows(big.bytes, seqFeeds());
    assert.ok(Math.max(...refRows.map((r) => Math.max(...r))) > 100, 'fixture should produce logits beyond exp overflow');
    const { outputs } = await runOnce(appendSoftTargetHead(big.bytes, { kind: 'topk', k: 3 }), seqFeeds());
    checkTopK(outputs, refRows, 3);
  }
});

test('topk head on a classifier; the probs (Softmax) model through Log gives the same top-k', async () => {
  const opts = { inputs: 30, hidden: [16], classes: 10, seed: 8 };
  const x = floatTensor(Array.from({ length: 4 * 30 }, (_, i) => Math.cos(i * 0.7)), [4, 30]);
  const logitRows = await plainRows(mlpClassifier(opts).bytes, { image: x });
  const fromLogits = (await runOnce(appendSoftTargetHead(mlpClassifier(opts).bytes, { kind: 'topk', k: 3 }), { image: x })).outputs;
  checkTopK(fromLogits, logitRows, 3);

  const probsHead = appendSoftTargetHead(softmaxClassifier(opts).bytes, { kind: 'topk', k: 3, outputKind: 'probs' });
  const fromProbs = (await runOnce(probsHead, { image: x })).outputs;
  assert.deepStrictEqual(fromProbs.topk_ids!.data, fromLogits.topk_ids!.data);
  const vals = fromProbs.topk_logits!.data as Float32Array;
  logitRows.forEach((row, r) => {
    const lse = logSumExp(row);
    for (let j = 0; j < 3; j++) assert.ok(Math.abs(vals[r * 3 + j]! - (row[topK(row, 3)[j]!]! - lse)) < 1e-5, 'log-probs');
    assert.ok(Math.abs((fromProbs.logsumexp!.data as Float32Array)[r]!) < 1e-5, 'log-probs normalise to logsumexp 0');
  });
});

test('sampled head: ids equal the float64 inverse CDF of the plain logits for the same uniforms (opsets 11, 17, 18)', async () => {
  const n = 8;
  const cases = [
    { teacher: seq, temperature: 1 },
    { teacher: seq, temperature: 0.7 },
    { teacher: sequenceModel({ vocab: V, dModel: 16, seed: 22, maxSeq: 32, opset: 11 }), temperature: 1.3 },
    { teacher: sequenceModel({ vocab: V, dModel: 16, seed: 23, maxSeq: 32, opset: 18 }), temperature: 1 },
  ];
  for (const { teacher, temperature } of cases) {
    const refRows = await plainRows(teacher.bytes, seqFeeds());
    const head = appendSoftTargetHead(teacher.bytes, { kind: 'sampled', samples: n, temperature });
    const u = new Float32Array(B * T * n);
    for (let row = 0; row < B * T; row++) {
      const r = Rng.derive(99, row); // seeded per row, as precompute does
      for (let j = 0; j < n; j++) u[row * n + j] = r.next();
    }
    const { outputs, inputNames, outputNames } = await runOnce(head, { ...seqFeeds(), [UNIFORMS_INPUT]: floatTensor(u, [B, T, n]) });
    assert.deepStrictEqual([...inputNames], ['input_ids', 'attention_mask', UNIFORMS_INPUT]);
    assert.deepStrictEqual([...outputNames], ['sample_ids', 'logsumexp']);
    assert.deepStrictEqual(outputs.sample_ids!.dims, [B, T, n]);
    assert.equal(outputs.sample_ids!.type, 'int32');
    const got = outputs.sample_ids!.data as Int32Array;
    let mismatches = 0;
    refRows.forEach((row, r) => {
      const p = softmax(row, temperature);
      for (let j = 0; j < n; j++) {
        const want = inverseCdf(p, u[r * n + j]!);
        if (got[r * n + j] !== want) {
          mismatches++;
          assert.ok(drawWithinTolerance(p, got[r * n + j]!, u[r * n + j]!, 1e-6), 'a differing draw must sit on a CDF boundary');
        }
      }
      assert.ok(Math.abs((outputs.logsumexp!.data as Float32Array)[r]! - logSumExp(row)) < 1e-4);
    });
    assert.ok(mismatches < 0.005 * got.length, `${mismatches} of ${got.length} draws differ`);
    // distinct draws per position show the uniforms are really consumed one by one
    assert.ok(new Set(got).size > 10);
  }
});

test('u at or beyond the CDF total is clamped to V-1', async () => {
  const head = appendSoftTargetHead(seq.bytes, { kind: 'sampled', samples: 2 });
  const u = new Float32Array(B * T * 2).map((_, i) => (i % 2 ? 1.5 : 0));
  const got = (await runOnce(head, { ...seqFeeds(), uniforms: floatTensor(u, [B, T, 2]) })).outputs.sample_ids!.data as Int32Array;
  for (let i = 0; i < got.length; i++) assert.equal(got[i], i % 2 ? V - 1 : 0);
});

test('full head passes logits through, optionally with logsumexp; other outputs are dropped unless kept', async () => {
  const refRows = await plainRows(seq.bytes, seqFeeds());
  const full = await runOnce(appendSoftTargetHead(seq.bytes, { kind: 'full', logsumexp: true }), seqFeeds());
  assert.deepStrictEqual([...full.outputNames], ['logits', 'logsumexp']);
  assert.deepStrictEqual(full.outputs.logits!.data, (await runOnce(seq.bytes, seqFeeds())).outputs.logits!.data);
  refRows.forEach((row, r) => assert.ok(Math.abs((full.outputs.logsumexp!.data as Float32Array)[r]! - logSumExp(row)) < 1e-4));

  // a teacher with a second output: probs first, then an extra 'hidden' output
  const teacher = decodeModel(softmaxClassifier({ inputs: 6, hidden: [4], classes: 3, seed: 1 }).bytes);
  const relu = teacher.graph!.node!.find((nd) => nd.opType === 'Relu')!;
  teacher.graph!.output!.push({ name: relu.output![0]!, type: { tensorType: { elemType: 1 } } });
  const bytes = encodeModel(teacher);
  const x = { image: floatTensor([1, 2, 3, 4, 5, 6], [1, 6]) };
  const dropped = await runOnce(appendSoftTargetHead(bytes, { kind: 'full', outputKind: 'probs' }), x);
  assert.deepStrictEqual([...dropped.outputNames], ['logits']);
  const kept = await runOnce(appendSoftTargetHead(bytes, { kind: 'full', outputKind: 'probs', keepOtherOutputs: true }), x);
  assert.deepStrictEqual([...kept.outputNames], [relu.output![0]!, 'logits']);
  const probs = (await runOnce(bytes, x)).outputs.probs!.data as Float32Array;
  const logp = kept.outputs.logits!.data as Float32Array;
  probs.forEach((p, i) => assert.ok(Math.abs(Math.log(p) - logp[i]!) < 1e-6));
});

/** float16 bits -> number. */
function halfToFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const mag = exp === 0 ? frac * 2 ** -24 : exp === 31 ? (frac ? NaN : Infinity) : (1 + frac / 1024) * 2 ** (exp - 15);
  return h & 0x8000 ? -mag : mag;
}

test('a float16 teacher whose output is named logits: full and topk heads read it as float32', async () => {
  const model = decodeModel(seq.bytes);
  renameValue(model.graph!, 'logits', 'logits32');
  const g = GraphBuilder.wrap(model);
  g.node('Cast', ['logits32'], ['logits'], { to: DataType.FLOAT16 });
  model.graph!.output![0]!.name = 'logits';
  model.graph!.output![0]!.type!.tensorType!.elemType = DataType.FLOAT16;
  const fp16 = encodeModel(model);

  const halfOut = (await runOnce(fp16, seqFeeds())).outputs.logits!;
  assert.equal(halfOut.type, 'float16');
  const values = Float32Array.from(halfOut.data as Uint16Array, halfToFloat);
  const full = (await runOnce(appendSoftTargetHead(fp16, { kind: 'full' }), seqFeeds())).outputs.logits!;
  assert.equal(full.type, 'float32');
  assert.deepStrictEqual(full.data, values);
  const refRows = Array.from({ length: B * T }, (_, r) => values.subarray(r * V, (r + 1) * V));
  checkTopK((await runOnce(appendSoftTargetHead(fp16, { kind: 'topk', k: 4 }), seqFeeds())).outputs, refRows, 4);
});

test('bad options and mismatched teachers raise one-line TeacherErrors', () => {
  const { bytes } = mlpClassifier({ inputs: 4, hidden: [], classes: 3, seed: 1 });
  assert.throws(() => appendSoftTargetHead(bytes, { kind: 'topk', k: 4 }), (e: Error) => e instanceof TeacherError && /k=4 exceeds the teacher's 3 classes/.test(e.message));
  assert.throws(() => appendSoftTargetHead(bytes, { kind: 'topk', k: 2, output: 'nope' }), /teacher output 'nope' not found; expected one of \[logits\]/);
  assert.throws(() => appendSoftTargetHead(bytes, { kind: 'sampled', samples: 0 }), TeacherError);
  assert.throws(() => appendSoftTargetHead(bytes, { kind: 'sampled', samples: 2, temperature: 0 }), TeacherError);
});

test('the two-level logsumexp splits V at its largest divisor up to sqrt(V), and not small or prime V', () => {
  // 50257 = 29 x 1733 (sqrt 224), 1000 = 25 x 40 (sqrt 31.6), 256 = 16 x 16, 2 x 521 has no divisor in 8..32; 65521 is prime
  assert.equal(blockWidth(50257), 29);
  assert.equal(blockWidth(1000), 25);
  assert.equal(blockWidth(256), 16);
  assert.equal(blockWidth(65521), undefined);
  assert.equal(blockWidth(200), undefined);
  assert.equal(blockWidth(1042), undefined);
});
