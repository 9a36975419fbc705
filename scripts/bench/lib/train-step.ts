/**
 * Time of one training step as the trainer runs it: toTensors() of a loader batch read from a
 * topk cache, trainStep() with the KD loss (alpha 0.5, T 2, ghost tail) and AdamW, and disposal.
 */
import { selectBackend, type BackendName } from '../../../src/train/backend/index.js';
import { CacheLoader, type LoaderBatch } from '../../../src/train/loader/index.js';
import type { KdLossOptions } from '../../../src/train/losses/index.js';
import { AdamW } from '../../../src/train/optim/index.js';
import { buildStudent, type Student, type StudentSpec } from '../../../src/train/students/index.js';
import { trainStep } from '../../../src/train/index.js';
import { OnnxTrainer } from '../../../src/train/onnxruntime/index.js';
import { disposeBatch, toTensors, trainingColumns } from '../../../src/train/batch.js';
import { inputOf, type BenchCache } from './caches.js';
import { timeRuns, type RunOptions } from './stats.js';

/** The recipe defaults: alpha 0.5, T 2, forward KL, ghost tail. */
export const BENCH_LOSS: KdLossOptions = { alpha: 0.5, temperature: 2, divergence: 'forward_kl', tail: 'ghost' };

/** The first batch of `size` rows the loader produces from the cache. */
export async function firstBatch(cache: BenchCache, size: number): Promise<LoaderBatch> {
  const loader = new CacheLoader(cache.dir, cache.manifest, { columns: trainingColumns(cache.manifest, inputOf(cache)), batchSize: size, shuffleBuffer: 1, seed: 0 });
  for await (const b of loader.epoch(0)) return b;
  throw new RangeError(`expected a non-empty cache at ${cache.dir}, got no batch`);
}

/** A student with its optimizer and one loader batch, ready to step. */
export interface StepRig {
  /** The student. */
  student: Student;
  /** Runs one full step (tensors in, trainStep, dispose) and returns the loss. */
  step(index: number): number;
  /** Frees the student and the optimizer. */
  dispose(): void;
}

/** Builds the student on the current backend and a stepper over `batch`. */
export function stepRig(spec: StudentSpec, cache: BenchCache, batch: LoaderBatch): StepRig {
  const student = buildStudent(spec, { seed: 1 });
  const optimizer = new AdamW(student.params, { lr: 1e-3 });
  const input = inputOf(cache);
  return {
    student,
    step: (index) => {
      const b = toTensors(batch, cache.manifest, input);
      try {
        return trainStep(student, optimizer, [b], BENCH_LOSS, 1e-3, 1, Math.max(index, 0)).loss;
      } finally {
        disposeBatch(b);
      }
    },
    dispose: () => { optimizer.dispose(); student.dispose(); },
  };
}

/** The onnxruntime trainer's side of the benchmark: the same loss, AdamW (lr 1e-3, clip 1) and batch. */
export interface OrtStepRig {
  /** Runs one optimizer step over the batch; resolves with the loss. */
  step(index: number): Promise<number>;
  dispose(): void;
}

/** An OnnxTrainer over `batch` with `threads` intra-op threads (0: all cores). */
export async function ortStepRig(spec: StudentSpec, cache: BenchCache, batch: LoaderBatch, threads: number): Promise<OrtStepRig> {
  const trainer = await OnnxTrainer.create({
    spec, input: inputOf(cache), manifest: cache.manifest, loss: BENCH_LOSS,
    optimizer: { kind: 'adamw', lr: 1e-3, weightDecay: 0.01, momentum: 0, clipNorm: 1 }, seed: 1, threads,
  });
  return {
    step: async (index) => (await trainer.step([batch], 1e-3, Math.max(index, 0))).loss,
    dispose: () => trainer.dispose(),
  };
}

/** Wall time (ms) of each timed training step of the spec on `backend`, batch read from the cache. */
export async function stepTimes(backend: BackendName, spec: StudentSpec, cache: BenchCache, batchSize: number, o: RunOptions): Promise<number[]> {
  await selectBackend(backend);
  const rig = stepRig(spec, cache, await firstBatch(cache, batchSize));
  try {
    return await timeRuns((i) => rig.step(i), o);
  } finally {
    rig.dispose();
  }
}
