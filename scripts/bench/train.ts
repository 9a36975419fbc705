/**
 * Training throughput: one trainer step (toTensors of a loader batch from a topk cache,
 * trainStep with the KD loss and AdamW) of the MLP and GPT students on every available backend,
 * and the onnxruntime trainer (OnnxTrainer.step on the same batch: forward, loss, backward,
 * clipping and AdamW as onnxruntime graphs) on all cores and on one thread,
 * next to onnxruntime inference on the same layer shapes timed in alternation in the same process;
 * a per-phase profile of one MLP step on wasm; and the loader's rate over the trainer's.
 * GFLOP/s: training counts 3x the forward FLOPs of flopsPerSample(), inference 1x.
 * Run: npm run bench:train [-- --quick] [--out bench/train.json]
 */
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { rmSync } from 'node:fs';
import { selectBackend, type BackendName } from '../../src/train/backend/index.js';
import { flopsPerSample, type CnnSpec, type GptSpec, type MlpSpec, type StudentSpec } from '../../src/train/students/index.js';
import { Teacher } from '../../src/core/runtime/index.js';
import { mnistRecipe, mnistTeacher, precomputeCache, SyntheticLogits, writeSeqCache, type BenchCache } from './lib/caches.js';
import { isMain, runSection, scratchDir } from './lib/cli.js';
import { loaderEpoch } from './lib/loader-rate.js';
import { gptOnnx, mlpOnnx, studentOnnx, type OnnxCase } from './lib/onnx-ref.js';
import { kernelProfile, profileMlpStep, type KernelTime, type StepProfile } from './lib/profile.js';
import { fmt, interleavedRuns, rates, spread, type Spread } from './lib/stats.js';
import { printTable } from './lib/table.js';
import { firstBatch, ortStepRig, stepRig } from './lib/train-step.js';

/** One student shape at one batch size. */
interface Case {
  label: string;
  spec: StudentSpec;
  batch: number;
  cache: 'mnist' | 'seq';
  onnx: () => OnnxCase;
}

/** A training backend of the benchmark: tfjs's, or the onnxruntime trainer with its intra-op threads. */
type TrainBackend = BackendName | 'onnxruntime';

/** Measured figures of one case on one backend. */
export interface StepResult {
  backend: TrainBackend;
  /** Threads the backend computed on (wasm: XNNPACK's pool). */
  threads: number | 'native';
  case: string;
  batch: number;
  /** Tokens per row (1 for classification). */
  tokensPerRow: number;
  stepMs: Spread;
  rowsPerSecond: Spread;
  tokensPerSecond: Spread;
  /** 3 x forward FLOPs / step time. */
  trainGflops: Spread;
  /** onnxruntime forward on the same shapes, all cores. */
  onnxGflops: Spread;
  /** onnxruntime forward, one intra-op thread (tfjs wasm runs on one thread in Node). */
  onnxGflops1Thread: Spread;
  /** Per-round ratio trainGflops / onnxGflops1Thread. */
  trainOverOnnx1Thread: Spread;
  /** Training FLOPs per second of process CPU time during the step (V8's GC threads included): less sensitive to other load than wall time. */
  trainGflopsPerCpuSecond: Spread;
  /** onnxruntime 1-thread FLOPs per CPU second. */
  onnxGflopsPerCpuSecond1Thread: Spread;
  /** wasm only: CacheLoader rows/s over the same cache and batch size, one epoch per round. */
  loaderRowsPerSecond?: Spread;
  /** wasm only: per-round loader rows/s over trainer rows/s (target >= 20). */
  loaderOverTrainer?: Spread;
}

const mlp = (hidden: number): MlpSpec => ({ arch: 'mlp', inputs: 784, hidden: [hidden, hidden], activation: 'relu', dropout: 0, classes: 10 });
const GPT: GptSpec = { arch: 'gpt', vocab: 256, dModel: 128, layers: 2, heads: 4, seqLen: 128 };
const CNN: CnnSpec = { arch: 'cnn', inputShape: [28, 28, 1], conv: [{ filters: 16, kernel: 3, pool: 2 }, { filters: 32, kernel: 3, pool: 2 }], dense: [128], classes: 10 };
const CASES: Case[] = [
  // batch 512 shows how the fixed per-step costs (weight packing, AdamW) amortize
  ...[1200, 800].flatMap((h) => (h === 1200 ? [128, 256, 512] : [128, 256]).map((batch): Case => ({
    label: `mlp 784-${h}-${h}-10`, spec: mlp(h), batch, cache: 'mnist', onnx: () => mlpOnnx([h, h], batch),
  }))),
  // recipes/mnist.yaml's student: dropout masks are drawn in JS, which the rows above leave out
  { label: 'mlp 784-800-800-10 dropout 0.1', spec: { ...mlp(800), dropout: 0.1 }, batch: 128, cache: 'mnist', onnx: () => mlpOnnx([800, 800], 128) },
  { label: 'gpt V256 D128 L2 H4 T128', spec: GPT, batch: 16, cache: 'seq', onnx: () => gptOnnx({ ...GPT, batch: 16 }) },
  { label: 'cnn 28x28 c16p2-c32p2 d128', spec: CNN, batch: 128, cache: 'mnist', onnx: () => studentOnnx(CNN, 128) },
];

/** Which backends to run and how many timed rounds: the pure-JS cpu backend is ~50x slower than wasm. */
function plan(backend: BackendName, quick: boolean): { cases: Case[]; warmup: number; reps: number } {
  if (backend === 'cpu') return { cases: quick ? [] : CASES.filter((c) => c.label === 'mlp 784-800-800-10' && c.batch === 128), warmup: 0, reps: 2 };
  if (quick) return { cases: CASES.filter((c) => c.spec.arch === 'gpt' || (c.batch === 256 && c.label === 'mlp 784-1200-1200-10')), warmup: 1, reps: 2 };
  return { cases: CASES, warmup: 2, reps: 5 };
}

async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  for (const b of ['wasm', 'cpu', 'tfjs-node'] as const) {
    try {
      await selectBackend(b);
      out.push(b);
    } catch {
      // not installed (tfjs-node) or not activatable: reported as absent
    }
  }
  return out;
}

async function measureCase(backend: TrainBackend, c: Case, cache: BenchCache, warmup: number, reps: number, ortThreads = 0): Promise<StepResult> {
  const batch = await firstBatch(cache, c.batch);
  let threads: number | 'native';
  let rig: { step(i: number): unknown; dispose(): void };
  if (backend === 'onnxruntime') {
    threads = ortThreads > 0 ? ortThreads : availableParallelism();
    rig = await ortStepRig(c.spec, cache, batch, ortThreads);
  } else {
    threads = (await selectBackend(backend)).threads;
    rig = stepRig(c.spec, cache, batch);
  }
  const onnx = c.onnx();
  const all = await Teacher.create(onnx.bytes, c.label, { threads: 0 });
  const one = await Teacher.create(onnx.bytes, c.label, { threads: 1 });
  // onnxruntime runs are short: average a few per round so timer noise stays small
  const inner = 4;
  // the loader runs on the trainer's thread, so its rate is measured in the same rounds (wasm only: the cpu trainer is far slower)
  const epoch = backend === 'wasm' ? loaderEpoch(cache, { batchSize: c.batch, shuffleBuffer: c.cache === 'mnist' ? 8192 : 128 }) : undefined;
  try {
    // the all-cores session last: its pool threads may spin on after a run, and the pause lets them settle
    const t = await interleavedRuns({
      step: (i: number) => rig.step(i),
      loader: (i: number) => epoch?.(i),
      onnx1: async () => { for (let j = 0; j < inner; j++) await one.run(onnx.feeds); },
      onnx: async () => { for (let j = 0; j < inner; j++) await all.run(onnx.feeds); },
    }, { warmup, reps, pauseMs: 50 });
    const fwd = flopsPerSample(c.spec) * c.batch;
    const gflops = (flops: number, ms: number[]) => ms.map((m) => flops / (m * 1e6));
    const train = gflops(3 * fwd, t.step.wall);
    const ort1 = gflops(fwd * inner, t.onnx1.wall);
    const tokensPerRow = c.spec.arch === 'gpt' ? c.spec.seqLen : 1;
    return {
      backend, threads, case: c.label, batch: c.batch, tokensPerRow, stepMs: spread(t.step.wall), rowsPerSecond: spread(rates(c.batch, t.step.wall)),
      tokensPerSecond: spread(rates(c.batch * tokensPerRow, t.step.wall)), trainGflops: spread(train),
      onnxGflops: spread(gflops(fwd * inner, t.onnx.wall)), onnxGflops1Thread: spread(ort1), trainOverOnnx1Thread: spread(train.map((g, i) => g / ort1[i]!)),
      trainGflopsPerCpuSecond: spread(gflops(3 * fwd, t.step.cpu)), onnxGflopsPerCpuSecond1Thread: spread(gflops(fwd * inner, t.onnx1.cpu)),
      ...(epoch ? loaderFigures(cache.manifest.dataset.rows, t.loader.wall, rates(c.batch, t.step.wall)) : {}),
    };
  } finally {
    rig.dispose();
    await all.release();
    await one.release();
  }
}

/** The heaviest kernels of one wasm GPT step (after one warm-up step) and the step's total kernel time. */
async function gptKernels(cache: BenchCache): Promise<{ top: KernelTime[]; totalMs: number }> {
  const gpt = CASES.find((c) => c.spec.arch === 'gpt')!;
  const rig = stepRig(gpt.spec, cache, await firstBatch(cache, gpt.batch));
  try {
    rig.step(0);
    const all = await kernelProfile(() => rig.step(1));
    return { top: all.slice(0, 14), totalMs: all.reduce((n, k) => n + k.ms, 0) };
  } finally {
    rig.dispose();
  }
}

function loaderFigures(rows: number, epochMs: number[], trainerRows: number[]): Pick<StepResult, 'loaderRowsPerSecond' | 'loaderOverTrainer'> {
  const loader = rates(rows, epochMs);
  return { loaderRowsPerSecond: spread(loader), loaderOverTrainer: spread(loader.map((l, i) => l / trainerRows[i]!)) };
}

/** Runs the training benchmark. */
export async function runTrainBench(quick: boolean): Promise<{ backends: BackendName[]; steps: StepResult[]; profile: StepProfile; gptKernels: KernelTime[]; gptKernelMs: number; settings: Record<string, unknown> }> {
  const root = scratchDir('train');
  try {
    const teacher = mnistTeacher(root);
    const mnistRows = quick ? 2000 : 8000;
    const caches: Record<Case['cache'], BenchCache> = {
      mnist: await precomputeCache(mnistRecipe({ root, teacher, limit: mnistRows, targets: { kind: 'topk', k: 8, dtype: 'float16' } })),
      seq: await writeSeqCache(path.join(root, 'seq'), new SyntheticLogits({ rows: quick ? 64 : 256, seqLen: 128, vocab: 256 }), { kind: 'topk', k: 32, dtype: 'float16' }, { shardRows: 32, format: 'parquet' }),
    };
    const backends = await availableBackends();
    const steps: StepResult[] = [];
    for (const backend of backends) {
      const p = plan(backend, quick);
      for (const c of p.cases) {
        steps.push(await measureCase(backend, c, caches[c.cache], p.warmup, p.reps));
        // the onnxruntime trainer right after wasm on the same case: all cores, and one thread like wasm in Node
        // (its first two runs plan memory and grow arenas, up to 5x slower than the rest: three warm-ups at least)
        if (backend === 'wasm') for (const t of [0, 1]) steps.push(await measureCase('onnxruntime', c, caches[c.cache], Math.max(p.warmup, 3), p.reps, t));
      }
    }
    await selectBackend('wasm');
    const big = CASES.find((c) => c.label === 'mlp 784-1200-1200-10' && c.batch === 256)!;
    const profile = await profileMlpStep(big.spec as MlpSpec, caches.mnist, await firstBatch(caches.mnist, big.batch), quick ? 2 : 5);
    const gpt = await gptKernels(caches.seq);
    return { backends, steps, profile, gptKernels: gpt.top, gptKernelMs: gpt.totalMs, settings: { mnistRows, mnistTargets: 'topk k=8 f16 parquet', seqTargets: 'topk k=32 f16 parquet (synthetic)', loss: 'KD alpha 0.5 T 2 forward_kl ghost + AdamW + clip 1' } };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Prints the training tables. */
export function printTrain(r: Awaited<ReturnType<typeof runTrainBench>>): void {
  printTable('training step (tfjs: toTensors + trainStep; onnxruntime: OnnxTrainer.step; KD topk + AdamW) vs onnxruntime inference on the same shapes, median [min-max]',
    ['backend', 'student', 'batch', 'ms/step', 'rows/s', 'tokens/s', 'train GFLOP/s', 'ort GFLOP/s (all cores)', 'ort GFLOP/s (1 thread)', 'train/ort-1t', 'per CPU-s: train', 'ort-1t'],
    r.steps.map((s) => [s.threads === 1 || s.threads === 'native' ? s.backend : `${s.backend} x${s.threads}`, s.case, s.batch, fmt(s.stepMs, 0), fmt(s.rowsPerSecond, 0), s.tokensPerRow > 1 ? fmt(s.tokensPerSecond, 0) : '-',
      fmt(s.trainGflops, 2), fmt(s.onnxGflops, 1), fmt(s.onnxGflops1Thread, 1), fmt(s.trainOverOnnx1Thread, 3),
      s.trainGflopsPerCpuSecond.median.toFixed(2), s.onnxGflopsPerCpuSecond1Thread.median.toFixed(1)]));
  const p = r.profile;
  printTable(`where one wasm step of mlp 784-1200-1200-10 batch 256 goes, in wall ms (phases sum ${p.phasesTotalMs.toFixed(0)}; trainStep itself ${fmt(p.trainStepMs, 0)})`,
    ['phase', 'ms', 'share'], p.phases.map((x) => [x.name, fmt(x.ms, 1), `${((100 * x.ms.median) / p.phasesTotalMs).toFixed(1)}%`]));
  printTable(`heaviest kernels of one profiled trainStep (matMuls: ${(100 * p.matMulShare).toFixed(0)}% of kernel time)`,
    ['kernel', 'input shapes', 'calls', 'ms'], p.kernels.map((k) => [k.kernel, k.shapes, k.calls, k.ms.toFixed(1)]));
  const top = r.gptKernels.reduce((n, k) => n + k.ms, 0);
  printTable(`heaviest kernels of one wasm trainStep of ${CASES.find((c) => c.spec.arch === 'gpt')!.label} batch 16 (these ${top.toFixed(0)} of ${r.gptKernelMs.toFixed(0)} kernel ms)`,
    ['kernel', 'input shapes', 'calls', 'ms'], r.gptKernels.map((k) => [k.kernel, k.shapes, k.calls, k.ms.toFixed(1)]));
  printTable('loader vs trainer (wasm, same rounds): CacheLoader rows/s over trainer rows/s, target >= 20',
    ['student', 'batch', 'loader rows/s', 'trainer rows/s', 'ratio per round'],
    r.steps.filter((s) => s.loaderOverTrainer).map((s) => [s.case, s.batch, fmt(s.loaderRowsPerSecond, 0), fmt(s.rowsPerSecond, 0), fmt(s.loaderOverTrainer, 1)]));
}

if (isMain(import.meta.url)) await runSection('train', runTrainBench, printTrain);
