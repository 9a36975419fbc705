import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KdLossOptions } from '../../src/train/losses/index.js';
import type { LoaderBatch } from '../../src/train/loader/index.js';
import { OnnxTrainer } from '../../src/train/onnxruntime/index.js';
import { lowRankSpec, type MlpSpec, type StudentSpec, type WeightMap } from '../../src/train/students/index.js';
import { TfjsTrainer } from '../../src/train/tfjs-trainer.js';
import type { OptimizerSettings, TrainerSetup } from '../../src/train/trainer.js';
import { gaussian, logSumExp, matrix, topIds, type RefTarget } from '../losses/reference.js';
import { batchOf, fakeManifest } from './helpers.js';

type Kind = 'full' | 'topk' | 'sampled';
const MLP: StudentSpec = { arch: 'mlp', inputs: 20, hidden: [16, 12], activation: 'relu', dropout: 0, classes: 10 };
const ADAMW: OptimizerSettings = { kind: 'adamw', lr: 1e-2, weightDecay: 0.01, momentum: 0, clipNorm: 1 };

/** A batch of `rows` random inputs with teacher targets of `kind` from random teacher logits, one padding row (label -1). */
function randomBatch(seed: number, rows: number, V: number, kind: Kind, features: number): LoaderBatch {
  return targetBatch(seed, rows, V, kind, Float32Array.from(matrix(rows, features, gaussian(seed + 1000)).flat()), rows);
}

/** `size` rows of input `x` with targets for `positions` positions (the last one padding). */
function targetBatch(seed: number, positions: number, V: number, kind: Kind, x: Float32Array | Int32Array, size: number): LoaderBatch {
  const rows = positions;
  const rnd = gaussian(seed);
  const teacher = matrix(rows, V, rnd, 3).map((r) => r.map(Math.fround));
  const targets: RefTarget[] = teacher.map((row): RefTarget => {
    if (kind === 'full') return { kind, logits: row };
    const ids = topIds(row, 4);
    if (kind === 'topk') return { kind, ids, logits: ids.map((i) => row[i]!), lse: Math.fround(logSumExp(row)), tail: 'ghost' };
    return { kind, ids: [...ids, ids[0]!], counts: [3, 2, 1, 1, 2] };
  });
  const labels = Array.from({ length: rows }, (_, i) => (i === rows - 1 ? -1 : (i * 3) % V));
  return { ...batchOf(targets, labels, { x }), size };
}

function setupFor(spec: StudentSpec, kind: Kind, loss: KdLossOptions, optimizer: OptimizerSettings = ADAMW): TrainerSetup {
  const features = spec.arch === 'mlp' ? spec.inputs : spec.arch === 'cnn' ? spec.inputShape.reduce((a, b) => a * b, 1) : spec.seqLen;
  const vocab = spec.arch === 'gpt' ? spec.vocab : spec.classes;
  return {
    spec, input: { column: 'x', valuesPerRow: features },
    manifest: fakeManifest({ kind, vocab, k: 4, samples: 5, ...(spec.arch === 'gpt' ? { seqLen: spec.seqLen } : {}) }),
    loss, optimizer, seed: 3, threads: 1,
  };
}

function maxRelDiff(a: WeightMap, b: WeightMap): { name: string; diff: number } {
  let worst = { name: '', diff: 0 };
  for (const [name, w] of Object.entries(b)) {
    const got = a[name]!.data;
    const scale = Math.max(...w.data.map(Math.abs), 1e-3);
    for (let i = 0; i < w.data.length; i++) {
      const d = Math.abs(got[i]! - w.data[i]!) / scale;
      if (!(d <= worst.diff)) worst = { name, diff: d };
    }
  }
  return worst;
}

const closeTo = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

for (const kind of ['full', 'topk', 'sampled'] as Kind[]) {
  test(`one mlp step on ${kind} targets (KD alpha 0.5, T 2, clipping, AdamW) gives the tfjs trainStep's loss and updated weights`, async () => {
    const setup = setupFor(MLP, kind, { temperature: 2, alpha: 0.5, divergence: 'forward_kl' });
    const ort = await OnnxTrainer.create(setup);
    const tfjs = await TfjsTrainer.create(setup, 'cpu');
    assert.deepEqual(ort.getWeights(), tfjs.getWeights(), 'same initial weights from the seed');
    for (let s = 0; s < 3; s++) {
      const batch = randomBatch(10 + s, 9, 10, kind, 20);
      const a = await ort.step([batch], 1e-2, s);
      const b = await tfjs.step([batch], 1e-2, s);
      assert.equal(a.positions, 8);
      assert.equal(b.positions, 8);
      closeTo(a.loss, b.loss, 1e-5, `step ${s} loss`);
      closeTo(a.ce, b.ce, 1e-5, `step ${s} ce`);
      closeTo(a.kd, b.kd, 1e-5, `step ${s} kd`);
      closeTo(a.gradNorm, b.gradNorm, 1e-4, `step ${s} grad norm`);
      const worst = maxRelDiff(ort.getWeights(), tfjs.getWeights());
      assert.ok(worst.diff < 1e-4, `step ${s}: ${worst.name} differs by ${worst.diff} of its scale`);
    }
    ort.dispose();
    tfjs.dispose();
  });
}

/** Rows [from, to) of a batch (every column holds `per` values per row, `per` from its length). */
function sliceRows(b: LoaderBatch, from: number, to: number): LoaderBatch {
  const columns: LoaderBatch['columns'] = {};
  for (const [name, col] of Object.entries(b.columns)) {
    const per = col.length / b.size;
    columns[name] = col.slice(from * per, to * per) as typeof col;
  }
  return { size: to - from, columns };
}

test('dropout (input and hidden, gelu), SGD with momentum, jsd on renormalized topk and two micro-batches match the tfjs trainer', async () => {
  const spec: StudentSpec = { ...MLP, activation: 'gelu', dropout: 0.25, inputDropout: 0.1 } as StudentSpec;
  const setup = setupFor(spec, 'topk', { temperature: 1.5, alpha: 0.8, divergence: 'jsd', tail: 'renormalize' },
    { kind: 'sgd', lr: 5e-2, weightDecay: 1e-3, momentum: 0.9, clipNorm: 0 });
  const ort = await OnnxTrainer.create(setup);
  const tfjs = await TfjsTrainer.create(setup, 'cpu');
  for (let s = 0; s < 3; s++) {
    const batch = randomBatch(20 + s, 12, 10, 'topk', 20);
    const micro = [sliceRows(batch, 0, 7), sliceRows(batch, 7, 12)];
    const a = await ort.step(micro, 5e-2, s);
    const b = await tfjs.step(micro, 5e-2, s);
    closeTo(a.loss, b.loss, 1e-5, `step ${s} loss`);
    closeTo(a.gradNorm, b.gradNorm, 1e-4, `step ${s} grad norm`);
    const worst = maxRelDiff(ort.getWeights(), tfjs.getWeights());
    assert.ok(worst.diff < 1e-4, `step ${s}: ${worst.name} differs by ${worst.diff} of its scale`);
  }
  const state = ort.optimizerState();
  assert.deepEqual(Object.keys(state.slots), Object.keys(tfjs.optimizerState().slots));
  ort.dispose();
  tfjs.dispose();
});

test('gradient accumulation over uneven micro-batches equals one large batch (loss, norm, weights)', async () => {
  const setup = setupFor(MLP, 'full', { temperature: 2, alpha: 0.5 });
  const split = await OnnxTrainer.create(setup);
  const whole = await OnnxTrainer.create(setup);
  for (let s = 0; s < 2; s++) {
    const batch = randomBatch(30 + s, 13, 10, 'full', 20);
    const a = await split.step([sliceRows(batch, 0, 2), sliceRows(batch, 2, 9), sliceRows(batch, 9, 13)], 1e-2, s);
    const b = await whole.step([batch], 1e-2, s);
    assert.equal(a.positions, b.positions);
    closeTo(a.loss, b.loss, 1e-6, 'loss');
    closeTo(a.gradNorm, b.gradNorm, 1e-5, 'grad norm');
    const worst = maxRelDiff(split.getWeights(), whole.getWeights());
    assert.ok(worst.diff < 1e-5, `${worst.name} differs by ${worst.diff}`);
  }
  split.dispose();
  whole.dispose();
});

test('evaluation gives the tfjs evaluate() metrics on the same weights', async () => {
  for (const kind of ['full', 'topk', 'sampled'] as Kind[]) {
    const setup = setupFor(MLP, kind, { temperature: 2, alpha: 0.5 });
    const ort = await OnnxTrainer.create(setup);
    const tfjs = await TfjsTrainer.create(setup, 'cpu');
    await ort.step([randomBatch(40, 16, 10, kind, 20)], 3e-2, 0);
    tfjs.setWeights(ort.getWeights());
    const batches = [randomBatch(41, 9, 10, kind, 20), randomBatch(42, 5, 10, kind, 20)];
    const loader = { async *epoch() { yield* batches; } } as unknown as Parameters<OnnxTrainer['evaluate']>[0];
    const a = await ort.evaluate(loader, setup.manifest);
    const b = await tfjs.evaluate(loader, setup.manifest);
    assert.equal(a.positions, b.positions);
    assert.equal(a.errors, b.errors);
    for (const k of ['loss', 'ce', 'accuracy', 'agreement', 'kl_to_teacher'] as const) closeTo(a[k], b[k], 1e-5, `${kind} ${k}`);
    ort.dispose();
    tfjs.dispose();
  }
});

/** Steps both trainers on the same batches and compares loss, norm and weights after each. */
async function compareSteps(setup: TrainerSetup, batches: (s: number) => LoaderBatch, steps: number, tol: number, weightTol = tol * 10): Promise<void> {
  const ort = await OnnxTrainer.create(setup);
  const tfjs = await TfjsTrainer.create(setup, 'cpu');
  assert.deepEqual(ort.getWeights(), tfjs.getWeights(), 'same initial weights from the seed');
  for (let s = 0; s < steps; s++) {
    const batch = batches(s);
    const a = await ort.step([batch], 1e-2, s);
    const b = await tfjs.step([batch], 1e-2, s);
    assert.equal(a.positions, b.positions);
    closeTo(a.loss, b.loss, tol, `step ${s} loss`);
    closeTo(a.gradNorm, b.gradNorm, tol * 10, `step ${s} grad norm`);
    const worst = maxRelDiff(ort.getWeights(), tfjs.getWeights());
    assert.ok(worst.diff < weightTol, `step ${s}: ${worst.name} differs by ${worst.diff} of its scale`);
  }
  ort.dispose();
  tfjs.dispose();
}

test('gpt steps (dropout, topk targets, padding positions) match the tfjs trainer', async () => {
  const spec: StudentSpec = { arch: 'gpt', vocab: 11, dModel: 8, layers: 2, heads: 2, seqLen: 5, dropout: 0.1 };
  const B = 3;
  await compareSteps(setupFor(spec, 'topk', { temperature: 2, alpha: 0.5 }),
    // the k part of the qkv bias has a zero gradient (softmax ignores a per-query constant), so AdamW
    // turns rounding noise into steps of up to lr there: weights get a looser bound than the loss
    (s) => targetBatch(50 + s, B * 5, 11, 'topk', Int32Array.from({ length: B * 5 }, (_, i) => (i * 7 + s) % 11), B), 3, 1e-5, 2e-3);
});

test('cnn steps (conv, pooling, dropout, full targets) match the tfjs trainer', async () => {
  const spec: StudentSpec = { arch: 'cnn', inputShape: [6, 6, 2], conv: [{ filters: 3, kernel: 3, pool: 2 }, { filters: 4, kernel: 3 }], dense: [7], dropout: 0.2, classes: 10 };
  await compareSteps(setupFor(spec, 'full', { temperature: 2, alpha: 0.5 }), (s) => randomBatch(60 + s, 6, 10, 'full', 72), 3, 1e-5);
});

test('a run resumed from getWeights/optimizerState (plain data, as checkpoints store them) ends with byte-identical weights', async () => {
  const setup = setupFor({ ...MLP, dropout: 0.2 } as StudentSpec, 'topk', { temperature: 2, alpha: 0.5 });
  const batches = Array.from({ length: 6 }, (_, s) => randomBatch(70 + s, 9, 10, 'topk', 20));
  const straight = await OnnxTrainer.create(setup);
  for (const [s, b] of batches.entries()) await straight.step([b], 1e-2, s);
  const first = await OnnxTrainer.create(setup);
  for (const [s, b] of batches.slice(0, 3).entries()) await first.step([b], 1e-2, s);
  const weights = first.getWeights();
  const state = first.optimizerState();
  first.dispose();
  const resumed = await OnnxTrainer.create({ ...setup, seed: setup.seed });
  resumed.setWeights(weights);
  resumed.loadOptimizerState(state);
  for (const [s, b] of batches.entries()) if (s >= 3) await resumed.step([b], 1e-2, s);
  assert.deepEqual(resumed.getWeights(), straight.getWeights());
  assert.deepEqual(resumed.optimizerState(), straight.optimizerState());
  straight.dispose();
  resumed.dispose();
});

test('an execution provider onnxruntime-node does not have is one TrainError naming it', async () => {
  await assert.rejects(OnnxTrainer.create(setupFor(MLP, 'full', {}), { providers: ['nonsense'] }),
    (e: unknown) => e instanceof Error && e.name === 'TrainError' && /\[nonsense\]/.test(e.message) && /\[cpu\]/.test(e.message) && !e.message.includes('\n'));
});

test('a gpt token id outside the vocabulary is the same one-line TrainError as on tfjs', async () => {
  const spec: StudentSpec = { arch: 'gpt', vocab: 11, dModel: 8, layers: 1, heads: 2, seqLen: 5 };
  const ort = await OnnxTrainer.create(setupFor(spec, 'topk', {}));
  const ids = Int32Array.from({ length: 10 }, (_, i) => (i === 7 ? 11 : i));
  await assert.rejects(ort.step([targetBatch(1, 10, 11, 'topk', ids, 2)], 1e-2, 0), (e: unknown) => e instanceof Error && /token id 11 at position 7, outside vocab 11/.test(e.message));
  ort.dispose();
});

test('a low-rank mlp (linear bottlenecks, dropout) matches the tfjs trainer', async () => {
  const spec = lowRankSpec({ ...MLP, dropout: 0.1 } as MlpSpec, 6);
  await compareSteps(setupFor(spec, 'full', { temperature: 2, alpha: 0.5 }), (s) => randomBatch(80 + s, 9, 10, 'full', 20), 3, 1e-5);
});
