import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { svd, symmetricEigen, truncateSvd } from '../../src/core/util/svd.js';
import { Rng } from '../../src/core/util/index.js';
import { GraphBuilder, attr } from '../../src/core/onnx/index.js';
import { RecipeError, TeacherError, TrainError } from '../../src/core/errors/index.js';
import type { Manifest } from '../../src/cache/index.js';
import { validateRecipe, type LoadedRecipe } from '../../src/recipe/index.js';
import { initialStudentWeights, studentSpecFor } from '../../src/train/index.js';
import { buildStudent, lowRankSpec, teacherDenseLayers, teacherSvdWeights, type MlpSpec } from '../../src/train/students/index.js';
import { exportStudentToOnnx } from '../../src/evaluate/export/index.js';
import { assertClose, use } from '../nn/helpers.js';

function gaussian(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

/** A·B of row-major (m x k)(k x n) in float64. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t]! * b[t * n + j]!;
    out[i * n + j] = s;
  }
  return out;
}

/** max |AᵀA - I| over the columns of a row-major rows x cols matrix whose column norm is nonzero. */
function orthonormalityError(a: Float64Array, rows: number, cols: number, keep: (c: number) => boolean): number {
  let err = 0;
  for (let p = 0; p < cols; p++) for (let q = 0; q < cols; q++) {
    if (!keep(p) || !keep(q)) continue;
    let s = 0;
    for (let r = 0; r < rows; r++) s += a[r * cols + p]! * a[r * cols + q]!;
    err = Math.max(err, Math.abs(s - (p === q ? 1 : 0)));
  }
  return err;
}

test('svd at full rank reproduces the matrix in float64, with orthonormal U and V and descending σ', () => {
  const rng = new Rng(1);
  const lowRank = matmul(gaussian(rng, 8 * 2), gaussian(rng, 2 * 5), 8, 2, 5); // rank 2 of 5
  for (const [m, n, a] of [[9, 6, gaussian(rng, 54)], [6, 9, gaussian(rng, 54)], [8, 5, lowRank], [1, 4, gaussian(rng, 4)], [30, 30, gaussian(rng, 900)]] as const) {
    const s = svd(a, m, n);
    assert.equal(s.k, Math.min(m, n));
    const usv = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let x = 0;
      for (let r = 0; r < s.k; r++) x += s.U[i * s.k + r]! * s.S[r]! * s.V[j * s.k + r]!;
      usv[i * n + j] = x;
    }
    const scale = Math.max(...Array.from(a, Math.abs));
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(usv[i]! - a[i]!) <= 1e-12 * scale, `${m}x${n}: [${i}] ${usv[i]} vs ${a[i]}`);
    for (let r = 1; r < s.k; r++) assert.ok(s.S[r]! <= s.S[r - 1]! && s.S[r]! >= 0);
    // Σσ² = ‖A‖²_F: the singular values are the right ones, not just some factorization
    const frob = a.reduce((t, v) => t + v * v, 0);
    assert.ok(Math.abs(s.S.reduce((t, v) => t + v * v, 0) - frob) <= 1e-10 * frob);
    const nonzero = (c: number): boolean => s.S[c]! > 1e-8 * s.S[0]!;
    assert.ok(orthonormalityError(s.U, m, s.k, nonzero) < 1e-10, `${m}x${n}: UᵀU = I`);
    assert.ok(orthonormalityError(s.V, n, s.k, nonzero) < 1e-10, `${m}x${n}: VᵀV = I`);
  }
  const deficient = svd(lowRank, 8, 5);
  assert.ok(deficient.S[2]! < 1e-6 * deficient.S[0]!, 'a rank-2 matrix has 2 nonzero singular values');
});

test('symmetricEigen: A v = λ v for every pair', () => {
  const rng = new Rng(2);
  const n = 13;
  const b = gaussian(rng, n * n);
  const a = Float64Array.from({ length: n * n }, (_, k) => b[k]! + b[(k % n) * n + Math.floor(k / n)]!);
  const { values, vectors } = symmetricEigen(a, n);
  for (let i = 0; i < n; i++) {
    const v = vectors.subarray(i * n, i * n + n);
    const av = matmul(a, v, n, n, 1);
    for (let j = 0; j < n; j++) assert.ok(Math.abs(av[j]! - values[i]! * v[j]!) < 1e-10, `pair ${i}`);
  }
});

test('truncateSvd: the rank-r error is the discarded singular values (Eckart–Young)', () => {
  const rng = new Rng(3);
  const [m, n] = [12, 9];
  const a = gaussian(rng, m * n);
  const s = svd(a, m, n);
  for (const r of [1, 4, 9]) {
    const t = truncateSvd(s, r);
    let err = 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let x = 0;
      for (let q = 0; q < r; q++) x += t.U[i * r + q]! * t.S[q]! * t.V[j * r + q]!;
      err += (x - a[i * n + j]!) ** 2;
    }
    const discarded = s.S.slice(r).reduce((acc, v) => acc + v * v, 0);
    assert.ok(Math.abs(err - discarded) <= 1e-10 * (1 + discarded), `rank ${r}: ${err} vs ${discarded}`);
  }
  assert.throws(() => truncateSvd(s, 10), /rank must be an integer in 1\.\.9/);
  // svd(.., rank) forms only the leading triplets, the same ones (also for a wide matrix)
  for (const [rows, cols, x] of [[m, n, a], [n, m, Float64Array.from({ length: m * n }, (_, i) => a[(i % m) * n + Math.floor(i / m)]!)]] as const) {
    const direct = svd(x, rows, cols, 4);
    const full = truncateSvd(svd(x, rows, cols), 4);
    assert.equal(direct.k, 4);
    for (const key of ['U', 'S', 'V'] as const) assert.ok(direct[key].every((v, i) => Math.abs(v - full[key][i]!) < 1e-12), `${rows}x${cols} ${key}`);
  }
  assert.throws(() => svd(a, m, n, 10), /svd rank must be an integer in 1\.\.9 for a 12x9 matrix/);
});

/**
 * A relu teacher 10 -> 8 -> 6 -> 3 as ONNX: MatMul+Add, then Gemm (transB, alpha), then MatMul+Add.
 * W0 and W1 have exact rank `rank`, so the rank-`rank` student reproduces it.
 */
function teacher(rng: Rng, rank: number): { bytes: Uint8Array; kernels: Float64Array[] } {
  const lowRank = (i: number, o: number): Float64Array => matmul(gaussian(rng, i * rank), gaussian(rng, rank * o), i, rank, o).map((v) => v / Math.sqrt(i * rank));
  const [w0, w1, w2] = [lowRank(10, 8), lowRank(8, 6), gaussian(rng, 18).map((v) => v / 3)];
  const [b0, b1, b2] = [gaussian(rng, 8), gaussian(rng, 6), gaussian(rng, 3)].map((b) => Float32Array.from(b, (v) => v * 0.1));
  const alpha = 0.5;
  const w1t = new Float32Array(48);
  for (let i = 0; i < 8; i++) for (let o = 0; o < 6; o++) w1t[o * 8 + i] = w1[i * 6 + o]! / alpha;
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('image', 'float32', ['N', 10]);
  let h = g.op('Relu', [g.op('Add', [g.op('MatMul', [x, g.initializer('w0', Float32Array.from(w0), [10, 8])]), g.initializer('b0', b0!, [8])])]);
  h = g.op('Relu', [g.op('Gemm', [h, g.initializer('w1', w1t, [6, 8]), g.initializer('b1', b1!, [6])], { transB: 1, alpha: attr.float(alpha) })]);
  g.output('logits', 'float32', ['N', 3], g.op('Add', [g.op('MatMul', [h, g.initializer('w2', Float32Array.from(w2), [6, 3])]), g.initializer('b2', b2!, [3])]));
  return { bytes: g.toBytes(), kernels: [w0, w1, w2] };
}

const base: MlpSpec = { arch: 'mlp', inputs: 10, hidden: [8, 6], activation: 'relu', dropout: 0, classes: 3 };

test('teacher_svd: a rank-4 student of a rank-4 teacher gives the teacher\'s logits, in tfjs and exported to ONNX', async () => {
  await use('cpu');
  const rng = new Rng(4);
  const t = teacher(rng, 4);
  const layers = teacherDenseLayers(t.bytes, 'teacher');
  assert.deepEqual(layers.map((l) => [l.name, l.inputs, l.outputs]), [['w0', 10, 8], ['w1', 8, 6], ['w2', 6, 3]]);
  const { spec, weights } = teacherSvdWeights(base, 4, layers, 'teacher');
  // 10x8 and 8x6 factor at rank 4; 6x3 (rank limit 3) stays whole
  assert.deepEqual([spec.hidden, spec.linearHidden], [[4, 8, 4, 6], [0, 2]]);
  assert.deepEqual(spec, lowRankSpec(base, 4));
  const rows = 16;
  const xs = Float32Array.from({ length: rows * 10 }, () => rng.normal());
  const session = await ort.InferenceSession.create(t.bytes);
  const want = (await session.run({ image: new ort.Tensor('float32', xs, [rows, 10]) })).logits!.data as Float32Array;
  await session.release();
  const student = buildStudent(spec);
  student.setWeights(weights);
  const got = tf.tidy(() => Float32Array.from(student.forward(student.params, tf.tensor2d(xs, [rows, 10]), { training: false }).dataSync()));
  student.dispose();
  assertClose(got, want, 1e-4, 'tfjs student vs teacher');
  const exported = await ort.InferenceSession.create(exportStudentToOnnx(spec, weights));
  const onnx = (await exported.run({ image: new ort.Tensor('float32', xs, [rows, 10]) })).logits!.data as Float32Array;
  await exported.release();
  assertClose(onnx, want, 1e-4, 'exported student vs teacher');
});

test('teacher_svd: each factor pair is the best rank-r approximation of a full-rank teacher layer', () => {
  const rng = new Rng(5);
  const t = teacher(rng, 8); // rank 8 > 4: the truncation loses something
  const { weights } = teacherSvdWeights(base, 4, teacherDenseLayers(t.bytes, 'teacher'), 'teacher');
  for (const [pair, w, i, o] of [[0, t.kernels[0]!, 10, 8], [2, t.kernels[1]!, 8, 6]] as const) {
    const ab = matmul(weights[`dense_${pair}/kernel`]!.data, weights[`dense_${pair + 1}/kernel`]!.data, i, 4, o);
    const err = ab.reduce((acc, v, k) => acc + (v - w[k]!) ** 2, 0);
    const discarded = svd(Float32Array.from(w), i, o).S.slice(4).reduce((acc, v) => acc + v * v, 0);
    assert.ok(discarded > 1e-3 && Math.abs(err - discarded) <= 1e-5 * (1 + discarded), `layer ${pair}: ${err} vs ${discarded}`);
    assert.ok(weights[`dense_${pair}/bias`]!.data.every((v) => v === 0), 'the bottleneck has no bias');
  }
});

test('bad input: a rank no layer allows, and a teacher whose layers do not match the student', () => {
  assert.throws(() => lowRankSpec(base, 8), (e: Error) => e instanceof TrainError && /student\.rank 8 factorizes none of the layers 10x8, 8x6, 6x3.*choose a rank from 1 to 7/.test(e.message));
  const layers = teacherDenseLayers(teacher(new Rng(6), 4).bytes, 'teacher');
  assert.throws(() => teacherSvdWeights({ ...base, hidden: [16, 6] }, 4, layers, 'teacher.onnx'),
    (e: Error) => e instanceof TeacherError && /teacher 'teacher\.onnx' has dense layers 10x8, 8x6, 6x3, the student 10x16, 16x6, 6x3; set student\.hidden to \[8, 6\]/.test(e.message));
  assert.throws(() => teacherSvdWeights({ ...base, inputs: 12 }, 4, layers, 'teacher.onnx'), (e: Error) => e instanceof TeacherError && /plain stack of dense layers with the same inputs and classes/.test(e.message));
});

/** The bits of a cache manifest studentSpecFor reads: a 10-value input column and 3 classes. */
const manifest = {
  dataset: { inputColumns: ['image'] },
  schema: [{ name: 'image', type: 'FixedSizeList[10]<Float32>' }],
  targets: { vocab: 3 },
} as unknown as Manifest;

test('recipe: student.rank sizes the low-rank student, student.init teacher_svd reads the teacher file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-svd-'));
  const t = teacher(new Rng(7), 4);
  writeFileSync(join(dir, 'teacher.onnx'), t.bytes);
  const loaded = (student: Record<string, unknown>): LoadedRecipe => ({
    recipe: validateRecipe({ teacher: { path: 'teacher.onnx' }, dataset: { name: 'mnist' }, student: { arch: 'mlp', ...student } }), baseDir: dir,
  });
  const svdRecipe = loaded({ hidden: [8, 6], rank: 4, init: 'teacher_svd' });
  const { spec } = studentSpecFor(svdRecipe.recipe.student, manifest, dir);
  assert.deepEqual(spec, lowRankSpec({ ...base, inputDropout: 0 }, 4));
  const weights = initialStudentWeights(svdRecipe, spec)!;
  assert.deepEqual(weights, teacherSvdWeights(base, 4, teacherDenseLayers(t.bytes, 'teacher'), 'teacher').weights);
  // rank alone: the same student from a random init
  const random = loaded({ hidden: [8, 6], rank: 4 });
  assert.deepEqual(studentSpecFor(random.recipe.student, manifest, dir).spec, spec);
  assert.equal(initialStudentWeights(random, spec), undefined);
  // bad input: one error each, naming the field and the fix
  assert.throws(() => studentSpecFor(loaded({ hidden: [8, 6], init: 'teacher_svd' }).recipe.student, manifest, dir), (e: Error) => e instanceof RecipeError && /student\.init teacher_svd needs student\.rank/.test(e.message));
  assert.throws(() => studentSpecFor({ ...loaded({ rank: 4 }).recipe.student!, arch: 'cnn' }, manifest, dir), (e: Error) => e instanceof RecipeError && /apply to mlp students, this one is cnn/.test(e.message));
  assert.throws(() => studentSpecFor(loaded({ hidden: [8, 6], rank: 9 }).recipe.student, manifest, dir), (e: Error) => e instanceof TrainError && /student\.rank 9 factorizes none/.test(e.message));
  const wide = loaded({ hidden: [16, 6], rank: 4, init: 'teacher_svd' });
  assert.throws(() => initialStudentWeights(wide, studentSpecFor(wide.recipe.student, manifest, dir).spec), (e: Error) => e instanceof TeacherError && /set student\.hidden to \[8, 6\]/.test(e.message));
  const missing = { ...svdRecipe, recipe: { ...svdRecipe.recipe, teacher: { ...svdRecipe.recipe.teacher, path: 'gone.onnx' } } };
  assert.throws(() => initialStudentWeights(missing, spec), (e: Error) => e instanceof TeacherError && /gone\.onnx' cannot be read for student\.init teacher_svd/.test(e.message));
});
