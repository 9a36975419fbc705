/**
 * Where the time of one MLP training step goes. The step is replayed phase by phase with the
 * same ops trainStep runs (src/nn dense per layer, kdLossSum, the global gradient norm, AdamW with
 * the mean and clipping folded into its scale); wasm and cpu kernels are synchronous, so the wall
 * time between two points is the time of the ops in between (wall, not CPU time: threaded wasm
 * spends two threads' CPU per matMul; medians over rounds keep other load out). Backward time per layer comes from identity probes
 * between the layers whose gradient function records when backprop reaches them. A tf.profile()
 * of one real trainStep lists the heaviest kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { LoaderBatch } from '../../../src/train/loader/index.js';
import { kdLossSum } from '../../../src/train/losses/index.js';
import { dense } from '../../../src/train/nn/index.js';
import { AdamW, GradientAccumulator, clipFactor, globalNorm } from '../../../src/train/optim/index.js';
import { buildStudent, type MlpSpec } from '../../../src/train/students/index.js';
import { disposeBatch, toTensors } from '../../../src/train/batch.js';
import { trainStep } from '../../../src/train/index.js';
import { inputOf, type BenchCache } from './caches.js';
import { spread, type Spread } from './stats.js';
import { BENCH_LOSS } from './train-step.js';

/** Median time of one phase of the step. */
export interface Phase {
  /** Phase name, e.g. "backward dense_1 (1200x1200)". */
  name: string;
  /** CPU milliseconds per step. */
  ms: Spread;
}

/** One kernel (name + input shapes) summed over a profiled step. */
export interface KernelTime {
  kernel: string;
  shapes: string;
  calls: number;
  ms: number;
}

/** The profile of one MLP step. */
export interface StepProfile {
  phases: Phase[];
  /** Sum of the phase medians. */
  phasesTotalMs: number;
  /** trainStep() itself on the same batch (wall ms), for comparison. */
  trainStepMs: Spread;
  /** Heaviest kernels of one profiled trainStep (registered kernels only, so scopes are not double counted). */
  kernels: KernelTime[];
  /** Share of the profiled kernel time spent in matMuls. */
  matMulShare: number;
}

const nowMs = (): number => performance.now();

/** An identity whose gradient records the moment backprop reaches it. */
function probe(mark: () => void): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => { mark(); return dy; } };
  }) as never) as unknown as (x: tf.Tensor) => tf.Tensor;
}

/** Profiles `reps` steps of the MLP spec (dropout must be 0: the replay has no dropout) on the current backend. */
export async function profileMlpStep(spec: MlpSpec, cache: BenchCache, batch: LoaderBatch, reps: number): Promise<StepProfile> {
  if (spec.dropout > 0 || (spec.inputDropout ?? 0) > 0) throw new RangeError(`expected an MLP spec without dropout for the profile, got dropout ${spec.dropout}`);
  const student = buildStudent(spec, { seed: 1 });
  const optimizer = new AdamW(student.params, { lr: 1e-3 });
  const input = inputOf(cache);
  const widths = [spec.inputs, ...spec.hidden, spec.classes];
  const layers = widths.length - 1;
  const samples = new Map<string, number[]>();
  const record = (name: string, ms: number) => samples.set(name, [...(samples.get(name) ?? []), ms]);
  const layerName = (i: number) => `dense_${i} (${widths[i]}x${widths[i + 1]})`;
  try {
    for (let rep = -2; rep < reps; rep++) {
      const marks: [string, number][] = [];
      const mark = (name: string) => marks.push([name, nowMs()]);
      const t0 = nowMs();
      const b = toTensors(batch, cache.manifest, input);
      mark('batch to tensors');
      const acc = new GradientAccumulator();
      let parts: tf.Scalar[] = [];
      const { value, grads } = tf.variableGrads(() => {
        let h = tf.reshape(tf.cast(b.inputs, 'float32'), [b.rows, spec.inputs]) as tf.Tensor2D;
        for (let i = 0; i < layers; i++) {
          const last = i === layers - 1;
          const p = (n: string) => student.params[`dense_${i}/${n}`] as tf.Variable;
          h = dense(h, p('kernel') as tf.Tensor2D, p('bias') as tf.Tensor1D, { activation: last ? 'linear' : 'relu', inputGrad: i > 0 });
          mark(`forward ${layerName(i)}`);
          // backprop reaches this probe when everything after layer i is done
          h = probe(() => mark(last ? 'backward loss' : `backward ${layerName(i + 1)}`))(h) as tf.Tensor2D;
        }
        const s = kdLossSum(h, b.teacher, b.mask, { ...BENCH_LOSS, labels: b.labels });
        parts = [tf.keep(s.hardSum), tf.keep(s.distillSum), tf.keep(s.count)];
        mark('loss forward');
        return s.sum;
      }, Object.values(student.params));
      mark(`backward ${layerName(0)}`);
      acc.add(grads);
      const count = parts.map((p) => p.dataSync()[0]!)[2]!;
      value.dataSync();
      tf.dispose([value, ...parts]);
      const per = Math.max(count, 1);
      const sums = acc.take();
      const norm = globalNorm(sums) / per;
      mark('global gradient norm');
      const byName: Record<string, tf.Tensor> = {};
      for (const [name, v] of Object.entries(student.params)) byName[name] = sums[v.name] ?? sums[name]!;
      optimizer.step(byName, 1e-3, clipFactor(norm, 1) / per);
      tf.dispose(Object.values(sums));
      mark('optimizer (AdamW, mean and clip folded in)');
      disposeBatch(b);
      acc.dispose();
      mark('dispose');
      if (rep < 0) continue;
      let prev = t0;
      for (const [name, at] of marks) { record(name, at - prev); prev = at; }
    }
    const phases = [...samples].map(([name, ms]) => ({ name, ms: spread(ms) }));
    const phasesTotalMs = phases.reduce((s, p) => s + p.ms.median, 0);
    const stepMs: number[] = [];
    for (let rep = -1; rep < reps; rep++) {
      const t = nowMs();
      const b = toTensors(batch, cache.manifest, input);
      trainStep(student, optimizer, [b], BENCH_LOSS, 1e-3, 1, 0);
      disposeBatch(b);
      if (rep >= 0) stepMs.push(nowMs() - t);
    }
    const kernels = await kernelProfile(() => {
      const b = toTensors(batch, cache.manifest, input);
      trainStep(student, optimizer, [b], BENCH_LOSS, 1e-3, 1, 0);
      disposeBatch(b);
    });
    const total = kernels.reduce((s, k) => s + k.ms, 0);
    const matMul = kernels.filter((k) => /MatMul/.test(k.kernel)).reduce((s, k) => s + k.ms, 0);
    return { phases, phasesTotalMs, trainStepMs: spread(stepMs), kernels: kernels.slice(0, 14), matMulShare: matMul / total };
  } finally {
    optimizer.dispose();
    student.dispose();
  }
}

/** Kernel time of one call of fn grouped by kernel and input shapes, heaviest first. */
export async function kernelProfile(fn: () => void): Promise<KernelTime[]> {
  const info = await tf.profile(fn);
  const backend = tf.getBackend();
  const groups = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    // customGrad and op scopes appear as pseudo-kernels around the real ones
    if (tf.getKernel(k.name, backend) === undefined) continue;
    const shapes = k.inputShapes.map((s) => (s ? `[${s.join(',')}]` : '-')).join(' ');
    const key = `${k.name} ${shapes}`;
    const g = groups.get(key) ?? { kernel: k.name, shapes, calls: 0, ms: 0 };
    g.calls++;
    g.ms += Number(k.kernelTimeMs);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.ms - a.ms);
}
