import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exportRun, exportStudentToOnnx, quantizeModel, type Int8Format } from '../../src/evaluate/export/index.js';
import { saveStudent } from '../../src/train/index.js';
import type { CnnSpec, GptSpec, MlpSpec, StudentSpec } from '../../src/train/students/index.js';
import { use } from '../nn/helpers.js';
import { KennisError } from '../../src/core/errors/index.js';
import { DataType, GraphBuilder, attr, decodeModel, tensorToArray, type GraphProto } from '../../src/core/onnx/index.js';
import { Rng, float16Bits, float16Value } from '../../src/core/util/index.js';
import { allRows, run } from '../eval/reference.js';
import { countParameters } from '../../src/evaluate/eval/index.js';
import { ort, randomWeights } from './helpers.js';
import { compiledCli } from '../fixtures/compiled.js';

const TEACHER = 'data/teachers/mnist-mlp-1200.onnx';

/** One onnxruntime run at graph optimization level `basic`, which runs the graph's own ops (level `all` fuses DequantizeLinear + MatMul into a kernel that also quantizes the activations). */
async function runUnfused(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
  try {
    return (await s.run(feeds))[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

function randn(rng: Rng, n: number, std = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * std);
}

/** Initializer values of a decoded graph by name. */
function initializers(graph: GraphProto): Map<string, ArrayLike<number>> {
  return new Map((graph.initializer ?? []).map((t) => [t.name!, tensorToArray(t) as unknown as ArrayLike<number>]));
}

/** The int8 weight, its per-output-column scales and the float64 dequantized matrix [K, N] stored in a quantized model. */
function storedInt8(graph: GraphProto, weight: string, K: number, N: number): { wq: Int8Array; deq: Float64Array } {
  const init = initializers(graph);
  const name = (suffix: string): string => [...init.keys()].find((n) => n.endsWith(`${weight}_${suffix}`))!;
  const wq = init.get(name('int8')) as Int8Array;
  const scale = init.get(name('scale'))!;
  assert.equal(wq.length, K * N);
  assert.equal(scale.length, N, 'one scale per output column');
  assert.ok(Array.from(init.get(name('zero_point')) ?? []).every((z) => z === 0), 'symmetric: zero points are 0');
  return { wq, deq: Float64Array.from(wq, (q, i) => q * scale[i % N]!) };
}

const rows = 9;
const K = 24;
const N = 7;

test('int8 MatMul: onnxruntime equals a float64 x·dequantize(quantize(W)) + b', async () => {
  const rng = new Rng(11);
  const W = randn(rng, K * N, 0.3);
  const bias = randn(rng, N, 0.1);
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', ['N', K]);
  g.output('y', 'float32', ['N', N], g.op('Add', [g.op('MatMul', [x, g.initializer('W', W, [K, N])]), g.initializer('b', bias, [N])]));
  const xs = randn(rng, rows * K);
  for (const format of ['dynamic', 'dequantize'] as Int8Format[]) {
    const q = quantizeModel(g.toBytes(), 'int8', { int8Format: format });
    assert.deepEqual(q.weights, [{ name: 'W', shape: [K, N], op: 'MatMul' }]);
    const graph = decodeModel(q.bytes).graph!;
    assert.ok(!(graph.initializer ?? []).some((t) => t.name === 'W'), 'the float weight is gone');
    const { wq, deq } = storedInt8(graph, 'W', K, N);
    // the codes are a rounding of W, not something else
    for (let i = 0; i < W.length; i++) assert.ok(Math.abs(deq[i]! - W[i]!) <= 0.5 * Math.abs(deq[i]! / (wq[i]! || 1)) + 1e-7 || wq[i] === 0);
    const feeds = () => ({ x: new ort.Tensor('float32', xs, [rows, K]) });
    // dynamic rounds x to 8 bits per tensor (so does onnxruntime's fused DequantizeLinear + MatMul):
    // |x - x̂| <= scale_x / 2 with scale_x = range(x ∪ 0) / 255; unfused DequantizeLinear is exact
    const xScale = (Math.max(0, ...xs) - Math.min(0, ...xs)) / 255;
    const runs: [string, Float32Array, boolean][] = [['optimized', await run(q.bytes, feeds()), false], ['unfused', await runUnfused(q.bytes, feeds()), format === 'dequantize']];
    for (const [level, got, exact] of runs) {
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < N; j++) {
          let ref = bias[j]!;
          let bound = 0;
          for (let k = 0; k < K; k++) {
            ref += xs[r * K + k]! * deq[k * N + j]!;
            bound += Math.abs(deq[k * N + j]!);
          }
          const tol = exact ? 1e-5 * Math.max(1, Math.abs(ref)) : (bound * xScale) / 2 + 1e-4;
          assert.ok(Math.abs(got[r * N + j]! - ref) <= tol, `${format} ${level} y[${r}][${j}] = ${got[r * N + j]}, reference ${ref} (tolerance ${tol})`);
        }
      }
    }
  }
});

test('int8 Gemm (transB, alpha, beta·C): onnxruntime equals the float64 reference of the dequantized weight', async () => {
  const rng = new Rng(12);
  const Bt = randn(rng, N * K, 0.3); // [N, K], transB = 1
  const C = randn(rng, N, 0.5);
  const [alpha, beta] = [0.75, 2.5];
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', ['N', K]);
  g.output('y', 'float32', ['N', N], g.op('Gemm', [x, g.initializer('B', Bt, [N, K]), g.initializer('C', C, [N])], { transB: 1, alpha: attr.float(alpha), beta: attr.float(beta) }));
  const q = quantizeModel(g.toBytes(), 'int8', { int8Format: 'dequantize' });
  assert.deepEqual(q.weights, [{ name: 'B', shape: [N, K], op: 'Gemm' }]);
  const graph = decodeModel(q.bytes).graph!;
  // the stored scales carry alpha; dequantized they must approximate alpha·Bᵀ
  const { deq } = storedInt8(graph, 'B', K, N);
  for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) assert.ok(Math.abs(deq[k * N + j]! - alpha * Bt[j * K + k]!) <= (alpha * 0.3 * 5) / 127);
  const xs = randn(rng, rows * K);
  const got = await runUnfused(q.bytes, { x: new ort.Tensor('float32', xs, [rows, K]) });
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < N; j++) {
      let ref = beta * C[j]!;
      for (let k = 0; k < K; k++) ref += xs[r * K + k]! * deq[k * N + j]!;
      assert.ok(Math.abs(got[r * N + j]! - ref) <= 1e-5 * Math.max(1, Math.abs(ref)), `y[${r}][${j}] = ${got[r * N + j]}, reference ${ref}`);
    }
  }
});

test('int8 Conv: equals the same Conv with the dequantized kernel in float32', async () => {
  const rng = new Rng(13);
  const [O, I, k] = [5, 3, 3];
  const kernel = randn(rng, O * I * k * k, 0.4);
  const build = (w: Float32Array): Uint8Array => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', ['N', I, 6, 6]);
    g.output('y', 'float32', undefined, g.op('Conv', [x, g.initializer('K', w, [O, I, k, k])], { pads: [1, 1, 1, 1] }));
    return g.toBytes();
  };
  const q = quantizeModel(build(kernel), 'int8');
  assert.deepEqual(q.weights, [{ name: 'K', shape: [O, I, k, k], op: 'Conv' }]);
  const init = initializers(decodeModel(q.bytes).graph!);
  const wq = [...init].find(([n]) => n.endsWith('K_int8'))![1];
  const scale = [...init].find(([n]) => n.endsWith('K_scale'))![1];
  assert.equal(scale.length, O, 'one scale per output channel');
  const per = I * k * k;
  const deq = Float32Array.from({ length: wq.length }, (_, i) => wq[i]! * scale[Math.floor(i / per)]!);
  const xs = randn(rng, 2 * I * 36);
  const feeds = () => ({ x: new ort.Tensor('float32', xs, [2, I, 6, 6]) });
  const [got, want] = [await runUnfused(q.bytes, feeds()), await run(build(deq), feeds())];
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `y[${i}] ${got[i]} vs ${want[i]}`);
});

test('int8 Gather: embedding rows come from the int8 table with one scale per row', async () => {
  const rng = new Rng(15);
  const [V, D] = [11, 6];
  const table = randn(rng, V * D, 0.5);
  const g = new GraphBuilder({ opset: 17 });
  const ids = g.input('ids', 'int64', ['N']);
  g.output('y', 'float32', ['N', D], g.op('Gather', [g.initializer('emb', table, [V, D]), ids]));
  const q = quantizeModel(g.toBytes(), 'int8');
  assert.deepEqual(q.weights, [{ name: 'emb', shape: [V, D], op: 'Gather' }]);
  const init = initializers(decodeModel(q.bytes).graph!);
  const wq = [...init].find(([n]) => n.endsWith('emb_int8'))![1];
  const scale = [...init].find(([n]) => n.endsWith('emb_scale'))![1];
  assert.equal(scale.length, V, 'one scale per row');
  const picks = [3, 0, 10, 3, 7];
  const got = await run(q.bytes, { ids: new ort.Tensor('int64', BigInt64Array.from(picks, BigInt), [picks.length]) });
  picks.forEach((id, r) => {
    for (let d = 0; d < D; d++) {
      const want = wq[id * D + d]! * scale[id]!;
      assert.ok(Math.abs(got[r * D + d]! - want) <= 1e-6 * Math.max(1, Math.abs(want)), `row ${id}[${d}] ${got[r * D + d]} vs ${want}`);
      assert.ok(Math.abs(want - table[id * D + d]!) <= scale[id]! / 2 + 1e-7, 'within half a step of the float weight');
    }
  });
});

test('float16: weights stored as float16, outputs equal the model with float16-rounded weights', async () => {
  const rng = new Rng(14);
  const W = randn(rng, K * N, 0.3);
  const bias = randn(rng, N, 0.1);
  const build = (w: Float32Array): Uint8Array => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', ['N', K]);
    g.output('y', 'float32', ['N', N], g.op('Add', [g.op('MatMul', [x, g.initializer('W', w, [K, N])]), g.initializer('b', bias, [N])]));
    return g.toBytes();
  };
  const q = quantizeModel(build(W), 'float16');
  assert.deepEqual(q.weights.map((w) => w.name), ['W'], 'the 7-value bias stays float32');
  const graph = decodeModel(q.bytes).graph!;
  const half = graph.initializer!.find((t) => t.name!.endsWith('W_float16'))!;
  assert.equal(half.dataType, DataType.FLOAT16);
  assert.deepEqual([...(tensorToArray(half) as Uint16Array)], Array.from(W, float16Bits));
  // float16 -> float32 is exact, so the reference is the float32 model with those weights
  const rounded = Float32Array.from(W, (v) => float16Value(float16Bits(v)));
  const xs = randn(rng, rows * K);
  const feeds = () => ({ x: new ort.Tensor('float32', xs, [rows, K]) });
  const [got, want] = [await run(q.bytes, feeds()), await run(build(rounded), feeds())];
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-6 * Math.max(1, Math.abs(want[i]!)));
});

test('any exported student quantizes: cnn and gpt (tied and untied head) run in int8 and float16 near their fp32 logits', async () => {
  const rng = new Rng(16);
  const cnn: CnnSpec = { arch: 'cnn', inputShape: [8, 8, 1], conv: [{ filters: 4, kernel: 3, pool: 2 }], dense: [16], classes: 5 };
  const gpt: GptSpec = { arch: 'gpt', vocab: 17, dModel: 16, layers: 1, heads: 2, seqLen: 8 };
  const cases: [string, StudentSpec, Record<string, () => ort.Tensor>, string[]][] = [
    ['cnn', cnn, { image: () => new ort.Tensor('float32', Float32Array.from({ length: 3 * 64 }, () => rng.next()), [3, 64]) }, ['Conv', 'MatMul', 'MatMul']],
    ['gpt', gpt, gptFeeds(rng, gpt), ['Gather', 'Gather', 'MatMul', 'MatMul', 'MatMul', 'MatMul', 'MatMul']],
    ['gpt tied', { ...gpt, tiedHead: true }, gptFeeds(rng, gpt), ['Gather', 'Gather', 'MatMul', 'MatMul', 'MatMul', 'MatMul']],
  ];
  for (const [label, spec, feeds, ops] of cases) {
    const fp32 = exportStudentToOnnx(spec, randomWeights(spec, 7));
    const feed = (): Record<string, ort.Tensor> => Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, f()]));
    const frozen = feed();
    const want = await run(fp32, frozen);
    const scale = Math.max(...Array.from(want, Math.abs));
    for (const [mode, tol] of [['int8', 0.1], ['float16', 0.01]] as const) {
      const q = quantizeModel(fp32, mode);
      if (mode === 'int8') assert.deepEqual(q.weights.map((w) => w.op), ops, `${label}: quantized ops`);
      const got = await run(q.bytes, frozen);
      const diff = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]!)));
      assert.ok(diff <= tol * scale, `${label} ${mode}: max logit diff ${diff} vs logit scale ${scale}`);
    }
  }
});

function gptFeeds(rng: Rng, spec: GptSpec): Record<string, () => ort.Tensor> {
  const ids = BigInt64Array.from({ length: 2 * spec.seqLen }, () => BigInt(rng.int(spec.vocab)));
  return {
    input_ids: () => new ort.Tensor('int64', ids, [2, spec.seqLen]),
    attention_mask: () => new ort.Tensor('int64', new BigInt64Array(2 * spec.seqLen).fill(1n), [2, spec.seqLen]),
  };
}

test('int8 teacher: 4x smaller, top-1 agrees with the fp32 teacher on >= 99% of the MNIST test split', async () => {
  const fp32 = new Uint8Array(readFileSync(TEACHER));
  const q = quantizeModel(fp32, 'int8');
  assert.deepEqual(q.weights.map((w) => w.name), ['dense_0/kernel', 'dense_1/kernel', 'dense_2/kernel']);
  assert.ok(fp32.length / q.bytes.length > 3.9, `int8 teacher is ${q.bytes.length} bytes, fp32 ${fp32.length}`);
  // scales and zero points are annotated as quantization parameters, so eval counts the same weights
  assert.equal(countParameters(decodeModel(q.bytes).graph!), countParameters(decodeModel(fp32).graph!));
  const { rows: n, columns } = await allRows({ name: 'mnist', split: 'test' });
  const image = Float32Array.from(columns.image!);
  const feeds = () => ({ image: new ort.Tensor('float32', image, [n, image.length / n]) });
  const [a, b] = [await run(fp32, feeds()), await run(q.bytes, feeds())];
  const argmax = (v: Float32Array, r: number): number => {
    let best = 0;
    for (let c = 1; c < 10; c++) if (v[r * 10 + c]! > v[r * 10 + best]!) best = c;
    return best;
  };
  let agree = 0;
  for (let r = 0; r < n; r++) if (argmax(a, r) === argmax(b, r)) agree++;
  assert.ok(agree / n >= 0.99, `int8 agrees on ${agree}/${n} rows`);
});

test('bad input: a model with no quantizable weights is one KennisError naming the fix', () => {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', ['N', 4]);
  const w = g.input('w', 'float32', [4, 3]);
  g.output('y', 'float32', ['N', 3], g.op('Relu', [g.op('MatMul', [x, w])]));
  assert.throws(() => quantizeModel(g.toBytes(), 'int8'), (e: Error) => e instanceof KennisError && /no quantizable weights.*--quantize float16/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => quantizeModel(g.toBytes(), 'float16'), (e: Error) => e instanceof KennisError && /no float32 initializer/.test(e.message));
});

test('exportRun --quantize int8: writes fp32 and int8 students, compared on the test split', async () => {
  await use('cpu');
  const dir = mkdtempSync(join(tmpdir(), 'kennis-quantize-'));
  const spec: MlpSpec = { arch: 'mlp', inputs: 784, hidden: [64], activation: 'relu', dropout: 0, classes: 10 };
  saveStudent(join(dir, 'student'), spec, 'image', randomWeights(spec, 5));
  const dataset = { name: 'mnist', split: 'test', limit: 200 } as const;
  const s = await exportRun(dir, undefined, { quantize: 'int8', dataset });
  const q = s.quantized!;
  assert.equal(s.file, join(dir, 'student.onnx'));
  assert.equal(q.file, join(dir, 'student-int8.onnx'));
  assert.equal(q.bytes, statSync(q.file).size);
  assert.equal(q.sizeRatio, s.bytes / q.bytes);
  assert.ok(q.sizeRatio > 3.5, `int8 is ${q.sizeRatio}x smaller`);
  assert.equal(q.weights, 2);
  assert.deepEqual([q.dataset, q.split, q.rows], ['mnist', 'test', 200]);
  // the summary's figures, recomputed from direct runs of the two files
  const { rows: n, columns } = await allRows(dataset);
  const image = Float32Array.from(columns.image!);
  const feeds = () => ({ image: new ort.Tensor('float32', image, [n, 784]) });
  const [a, b] = [await run(new Uint8Array(readFileSync(s.file)), feeds()), await run(new Uint8Array(readFileSync(q.file)), feeds())];
  let maxDiff = 0;
  let agree = 0;
  for (let r = 0; r < n; r++) {
    const row = (v: Float32Array) => Array.from(v.subarray(r * 10, r * 10 + 10));
    const [ra, rb] = [row(a), row(b)];
    if (ra.indexOf(Math.max(...ra)) === rb.indexOf(Math.max(...rb))) agree++;
    for (let c = 0; c < 10; c++) maxDiff = Math.max(maxDiff, Math.abs(ra[c]! - rb[c]!));
  }
  assert.equal(q.agreement, agree / n);
  assert.ok(Math.abs(q.maxAbsLogitDiff - maxDiff) <= 1e-6 * Math.max(1, maxDiff), `${q.maxAbsLogitDiff} vs ${maxDiff}`);
  assert.ok(q.maxAbsLogitDiff > 0, 'int8 changes the logits');
});

test('exportRun --quantize without the run recipe or a dataset: one error naming the fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-quantize-'));
  const spec: MlpSpec = { arch: 'mlp', inputs: 4, hidden: [], activation: 'relu', dropout: 0, classes: 3 };
  saveStudent(join(dir, 'student'), spec, 'image', randomWeights(spec, 1));
  await assert.rejects(exportRun(dir, undefined, { quantize: 'int8' }), (e: Error) => e instanceof KennisError && /has no recipe\.yaml.*kennis train/.test(e.message));
  // the CLI prints it as one error line, and refuses a mode it does not know
  for (const [mode, message] of [['int8', /^error: run .* has no recipe\.yaml/], ['int4', /argument 'int4' is invalid.*int8, float16/]] as const) {
    const r = await promisify(execFile)(process.execPath, [compiledCli(), 'export', dir, '--quantize', mode]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    assert.ok(r && r.code !== 0, `--quantize ${mode} fails`);
    assert.match(r.stderr.trim(), message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
