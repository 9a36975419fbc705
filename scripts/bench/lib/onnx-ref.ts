/**
 * onnxruntime inference on the students' layer shapes, as the reference rate next to the
 * trainer: the MLP is built from GraphBuilder dense layers and the GPT with src/onnx gpt (the
 * test fixtures), run through kennis's Teacher. The FLOPs per sample are the student's
 * flopsPerSample() for the same shapes, so the two GFLOP/s figures count the same work.
 */
import { Teacher, type PlainTensor } from '../../../src/core/runtime/index.js';
import { Rng } from '../../../src/core/util/index.js';
import { mlpClassifier, sequenceModel } from '../../../test/fixtures/teachers.js';
import { timeRuns, type RunOptions } from './stats.js';
import { exportStudentToOnnx } from '../../../src/evaluate/export/index.js';
import { initialWeights, paramDefs, type CnnSpec, type MlpSpec } from '../../../src/train/students/index.js';

/** A model and one batch of feeds for it. */
export interface OnnxCase {
  /** Model bytes. */
  bytes: Uint8Array;
  /** Feeds of one batch. */
  feeds: Record<string, PlainTensor>;
}

/** The MLP inputs-hidden-classes with ReLU between layers, fed a [batch, inputs] float32 batch. */
export function mlpOnnx(hidden: number[], batch: number, inputs = 784, classes = 10): OnnxCase {
  const rng = new Rng(5);
  const image = Float32Array.from({ length: batch * inputs }, () => rng.next());
  return { bytes: mlpClassifier({ seed: 1, hidden, inputs, classes }).bytes, feeds: { image: { type: 'float32', data: image, dims: [batch, inputs] } } };
}

/** A GPT (pre-norm blocks, tied head: the same FLOPs as an untied [D,V] head) fed [batch, seqLen] ids. */
export function gptOnnx(o: { vocab: number; dModel: number; layers: number; heads: number; seqLen: number; batch: number }): OnnxCase {
  const rng = new Rng(6);
  const n = o.batch * o.seqLen;
  const ids = BigInt64Array.from({ length: n }, () => BigInt(rng.int(o.vocab)));
  const mask = new BigInt64Array(n).fill(1n);
  const bytes = sequenceModel({ vocab: o.vocab, dModel: o.dModel, layers: o.layers, heads: o.heads, maxSeq: o.seqLen, seed: 2 }).bytes;
  const dims = [o.batch, o.seqLen];
  return { bytes, feeds: { input_ids: { type: 'int64', data: ids, dims }, attention_mask: { type: 'int64', data: mask, dims } } };
}

/** Any kennis student as kennis exports it (its initial weights), fed a [batch, features] float32 batch (mlp, cnn). */
export function studentOnnx(spec: MlpSpec | CnnSpec, batch: number): OnnxCase {
  const rng = new Rng(7);
  const features = spec.arch === 'mlp' ? spec.inputs : spec.inputShape.reduce((a, b) => a * b, 1);
  const image = Float32Array.from({ length: batch * features }, () => rng.next());
  return { bytes: exportStudentToOnnx(spec, initialWeights(paramDefs(spec), 1)), feeds: { image: { type: 'float32', data: image, dims: [batch, features] } } };
}

/** Wall time (ms) of each timed session run of the case; `threads` 0 lets onnxruntime use every core. */
export async function onnxRunTimes(c: OnnxCase, threads: number, o: RunOptions): Promise<number[]> {
  const teacher = await Teacher.create(c.bytes, 'bench model', { threads });
  try {
    return await timeRuns(() => teacher.run(c.feeds), o);
  } finally {
    await teacher.release();
  }
}
