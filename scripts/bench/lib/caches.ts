/**
 * Caches for the benchmarks: MNIST caches written by the real precompute() from a fixture
 * teacher, and synthetic byte-level sequence caches written with CacheWriter directly (running
 * a T=128 teacher over every target kind would take minutes; the reader does not care where the
 * values came from, only about their kinds, dtypes and sizes).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Table } from 'apache-arrow';
import { CacheWriter, readManifest, type Manifest, type ShardFormat } from '../../../src/cache/index.js';
import { precompute, type PrecomputeSummary } from '../../../src/precompute/index.js';
import { validateRecipe, type LoadedRecipe } from '../../../src/recipe/index.js';
import { idDtypeFor, targetColumns, type TargetSpec } from '../../../src/cache/targets/index.js';
import { fixedSizeListVector, primitiveVector, Rng } from '../../../src/core/util/index.js';
import { sizeOfType, type StudentInput } from '../../../src/train/student-spec.js';
import { mlpClassifier } from '../../../test/fixtures/teachers.js';

/** A finished cache and its manifest. */
export interface BenchCache {
  /** Cache directory. */
  dir: string;
  /** Its manifest. */
  manifest: Manifest;
}

/** Target settings as a recipe's `targets` section spells them. */
export type TargetsSection = { kind: 'full' | 'topk' | 'sampled'; dtype?: 'float32' | 'float16'; k?: number; samples?: number };

/** Writes the 784-1200-1200-10 fixture teacher (the same one bench/precompute.ts uses) under root; returns its path. */
export function mnistTeacher(root: string, hidden: number[] = [1200, 1200]): string {
  mkdirSync(root, { recursive: true });
  const file = path.join(root, `mnist-mlp-${hidden.join('-')}.onnx`);
  writeFileSync(file, mlpClassifier({ seed: 1, hidden }).bytes);
  return file;
}

/** Options of an MNIST bench recipe. */
export interface MnistRecipeOptions {
  /** Work directory: caches and runs go below it. */
  root: string;
  /** Teacher model file. */
  teacher: string;
  /** Rows of the train split (at most 8000). */
  limit: number;
  /** Soft targets. */
  targets: TargetsSection;
  /** Shard format. */
  format?: ShardFormat;
  /** Rows per shard (default 2000). */
  shardRows?: number;
  /** Student section (for train()). */
  student?: Record<string, unknown>;
  /** Train section (for train()). */
  train?: Record<string, unknown>;
}

/** A validated recipe: MNIST train split, the fixture teacher, caches under root/cache. */
export function mnistRecipe(o: MnistRecipeOptions): LoadedRecipe {
  return {
    baseDir: o.root,
    recipe: validateRecipe({
      teacher: { path: o.teacher, batch_size: 500 },
      dataset: { name: 'mnist', split: 'train', limit: o.limit },
      targets: o.targets,
      cache: { root: path.join(o.root, 'cache'), shard_rows: o.shardRows ?? 2000, format: o.format ?? 'parquet' },
      ...(o.student ? { student: o.student } : {}),
      ...(o.train ? { train: o.train } : {}),
      output: { dir: path.join(o.root, 'run') },
    }),
  };
}

/** Runs precompute() for the recipe (a hit when the cache exists) and returns the cache. */
export async function precomputeCache(loaded: LoadedRecipe): Promise<BenchCache & { summary: PrecomputeSummary }> {
  const summary = await precompute(loaded);
  return { dir: summary.cacheDir, manifest: await readManifest(summary.cacheDir), summary };
}

/** Shape of a synthetic byte-level sequence dataset. */
export interface SeqShape {
  /** Rows (windows). */
  rows: number;
  /** Tokens per row. */
  seqLen: number;
  /** Vocabulary size. */
  vocab: number;
}

/** Shard layout of a cache. */
export interface ShardLayout {
  /** Rows per shard. */
  shardRows: number;
  /** Shard format. */
  format: ShardFormat;
}

/** Seeded synthetic teacher logits for every position (normal, std 2.5) with byte-like inputs and next-token labels. */
export class SyntheticLogits {
  /** Logits [rows, seqLen, vocab]. */
  readonly logits: Float32Array;
  /** Input ids [rows, seqLen] and next-token labels. */
  readonly inputIds: Int32Array;
  readonly labels: Int32Array;

  constructor(readonly o: SeqShape, seed = 7) {
    const rng = new Rng(seed);
    const { rows, seqLen: T, vocab: V } = o;
    const n = rows * T;
    this.logits = new Float32Array(n * V);
    for (let i = 0; i < this.logits.length; i++) this.logits[i] = rng.normal() * 2.5;
    const bytes = Int32Array.from({ length: rows * T + 1 }, () => 32 + rng.int(95));
    this.inputIds = new Int32Array(n);
    this.labels = new Int32Array(n);
    for (let r = 0; r < rows; r++) {
      this.inputIds.set(bytes.subarray(r * T, (r + 1) * T), r * T);
      this.labels.set(bytes.subarray(r * T + 1, (r + 1) * T + 1), r * T);
    }
  }

  private sorted?: { k: number; ids: Int32Array; values: Float32Array; lse: Float32Array };

  /** The 64 (at least k) largest logits of every position, descending, and the exact logsumexp; computed once. */
  private top(k: number): { k: number; ids: Int32Array; values: Float32Array; lse: Float32Array } {
    if (this.sorted && this.sorted.k >= k) return this.sorted;
    const { rows, seqLen: T, vocab: V } = this.o;
    const K = Math.min(V, Math.max(k, 64));
    const n = rows * T;
    const ids = new Int32Array(n * K);
    const values = new Float32Array(n * K);
    const lse = new Float32Array(n);
    const scratch = new Float32Array(V);
    const picked: number[] = [];
    for (let p = 0; p < n; p++) {
      const row = this.logits.subarray(p * V, (p + 1) * V);
      scratch.set(row);
      scratch.sort();
      const threshold = scratch[V - K]!;
      picked.length = 0;
      for (let v = 0; v < V && picked.length < K; v++) if (row[v]! > threshold) picked.push(v);
      for (let v = 0; v < V && picked.length < K; v++) if (row[v]! === threshold) picked.push(v);
      picked.sort((a, b) => row[b]! - row[a]! || a - b);
      const max = row[picked[0]!]!;
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(row[v]! - max);
      lse[p] = max + Math.log(s);
      for (let j = 0; j < K; j++) { ids[p * K + j] = picked[j]!; values[p * K + j] = row[picked[j]!]!; }
    }
    this.sorted = { k: K, ids, values, lse };
    return this.sorted;
  }

  /** What the soft-target head would return for rows [start, end) and the given spec. */
  headOutputs(spec: TargetSpec, start: number, end: number): Record<string, { type: string; data: Float32Array | Int32Array; dims: number[] }> {
    const { seqLen: T, vocab: V } = this.o;
    const positions = (end - start) * T;
    const dims = [end - start, T];
    const z = this.logits.subarray(start * T * V, end * T * V);
    if (spec.kind === 'full') return { logits: { type: 'float32', data: z, dims: [...dims, V] } };
    if (spec.kind === 'topk') {
      const k = spec.k!;
      const top = this.top(k);
      const K = top.k;
      const ids = new Int32Array(positions * k);
      const vals = new Float32Array(positions * k);
      const p0 = start * T;
      for (let p = 0; p < positions; p++) {
        ids.set(top.ids.subarray((p0 + p) * K, (p0 + p) * K + k), p * k);
        vals.set(top.values.subarray((p0 + p) * K, (p0 + p) * K + k), p * k);
      }
      const lse = top.lse.slice(p0, p0 + positions);
      return { topk_ids: { type: 'int32', data: ids, dims: [...dims, k] }, topk_logits: { type: 'float32', data: vals, dims: [...dims, k] }, logsumexp: { type: 'float32', data: lse, dims } };
    }
    const n = spec.samples!;
    const rng = new Rng(11 + start);
    const draws = new Int32Array(positions * n);
    const cdf = new Float64Array(V);
    for (let p = 0; p < positions; p++) {
      const row = z.subarray(p * V, (p + 1) * V);
      let acc = 0;
      for (let v = 0; v < V; v++) { acc += Math.exp(row[v]!); cdf[v] = acc; }
      for (let j = 0; j < n; j++) {
        const u = rng.next() * acc;
        let lo = 0, hi = V - 1;
        while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid]! < u) lo = mid + 1; else hi = mid; }
        draws[p * n + j] = lo;
      }
    }
    // the head also returns the logsumexp, which precompute checks for non-finite values
    const lse = this.top(1).lse.slice(start * T, end * T);
    return { sample_ids: { type: 'int32', data: draws, dims: [...dims, n] }, logsumexp: { type: 'float32', data: lse, dims } };
  }
}

/** The target spec of a targets section for a sequence cache. */
export function seqSpec(t: TargetsSection, o: SeqShape): TargetSpec {
  return {
    kind: t.kind, vocab: o.vocab, seqLen: o.seqLen, positionConvention: 'next-token',
    valueDtype: t.dtype ?? 'float32', idDtype: idDtypeFor(o.vocab),
    ...(t.kind === 'topk' ? { k: t.k ?? 8 } : {}),
    ...(t.kind === 'sampled' ? { samples: t.samples ?? 32, sampleTemperature: 1, seed: 0 } : {}),
  };
}

/** Writes a byte-level sequence cache (input_ids, labels, row + targets) with CacheWriter. */
export async function writeSeqCache(dir: string, source: SyntheticLogits, targets: TargetsSection, layout: ShardLayout): Promise<BenchCache> {
  const o = { ...source.o, ...layout };
  const spec = seqSpec(targets, o);
  const writer = await CacheWriter.open(dir, {
    key: 'b'.repeat(64),
    teacher: { file: 'synthetic.onnx', sha256: '0'.repeat(64), inputs: [], outputs: [], outputKind: 'logits' },
    dataset: { name: 'synthetic-bytes', fingerprint: `synthetic-${o.rows}x${o.seqLen}`, split: 'train', rows: o.rows, labelColumn: 'labels', inputColumns: ['input_ids'] },
    targets: spec, shardFormat: o.format, shardRows: o.shardRows, tool: { name: 'kennis', version: 'bench' },
  });
  try {
    for (let s = 0; s * o.shardRows < o.rows; s++) {
      const start = s * o.shardRows;
      const end = Math.min(start + o.shardRows, o.rows);
      const rows = Int32Array.from({ length: end - start }, (_, i) => start + i);
      const T = o.seqLen;
      await writer.writeShard(s, new Table({
        input_ids: fixedSizeListVector(source.inputIds.slice(start * T, end * T), [T], 'int32'),
        labels: fixedSizeListVector(source.labels.slice(start * T, end * T), [T], 'int32'),
        row: primitiveVector(rows, 'int32'),
        ...targetColumns(spec, source.headOutputs(spec, start, end), rows),
      }));
    }
    return { dir, manifest: await writer.finish() };
  } finally {
    await writer.close();
  }
}

/** The cache column a student reads and its values per row. */
export function inputOf(cache: BenchCache): StudentInput {
  const column = cache.manifest.dataset.inputColumns[0]!;
  const type = cache.manifest.schema.find((f) => f.name === column)!.type;
  return { column, valuesPerRow: sizeOfType(type) };
}
