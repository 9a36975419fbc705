/**
 * Read throughput of the cache: rows/s of CacheLoader producing training batches (read, decode,
 * shuffle, assemble) for every target kind, Parquet next to Arrow IPC in the same run.
 *  - byte-level sequences (V=256, T=128): full f32/f16, topk k=8/32/64 f16, sampled n=32, written
 *    with CacheWriter from seeded synthetic teacher logits (see lib/caches.ts);
 *  - MNIST (V=10): full f32 and topk k=8 f16 caches written by precompute() from the fixture teacher.
 * Shards were just written, so they come from the page cache: this is decode speed, not disk speed.
 * Run: npx tsx scripts/bench/storage.ts [--quick] [--out bench/storage.json]
 */
import path from 'node:path';
import { rmSync } from 'node:fs';
import type { ShardFormat } from '../../src/cache/index.js';
import { mnistRecipe, mnistTeacher, precomputeCache, SyntheticLogits, writeSeqCache, type BenchCache } from './lib/caches.js';
import { TARGET_CASES } from './lib/targets.js';
import { isMain, runSection, scratchDir } from './lib/cli.js';
import { loaderEpochTimes, type LoaderSettings } from './lib/loader-rate.js';
import { fmt, rates, spread, type Spread } from './lib/stats.js';
import { printTable } from './lib/table.js';

/** One cache read by the loader. */
export interface ReadCase {
  dataset: string;
  targets: string;
  format: ShardFormat;
  rows: number;
  /** Shard bytes per row. */
  bytesPerRow: number;
  /** Shard bytes per sample (MNIST) or token (sequences). */
  bytesPerUnit: number;
  /** Loader rows per second. */
  rowsPerSecond: Spread;
  /** Loader samples or tokens per second. */
  unitsPerSecond: Spread;
  /** Shard megabytes per second. */
  megabytesPerSecond: number;
}

const FORMATS: ShardFormat[] = ['parquet', 'arrow'];
const SEQ_TARGETS = TARGET_CASES;
const MNIST_TARGETS = TARGET_CASES.filter(([label]) => label === 'full f32' || label === 'topk k=8 f16');

async function measure(dataset: string, targets: string, format: ShardFormat, cache: BenchCache, perRow: number, s: LoaderSettings, reps: number): Promise<ReadCase> {
  const ms = await loaderEpochTimes(cache, s, { warmup: 1, reps });
  const rows = cache.manifest.dataset.rows;
  const bytes = cache.manifest.shards.reduce((n, e) => n + e.bytes, 0);
  const rowsPerSecond = spread(rates(rows, ms));
  return {
    dataset, targets, format, rows, bytesPerRow: bytes / rows, bytesPerUnit: bytes / rows / perRow, rowsPerSecond,
    unitsPerSecond: spread(rates(rows * perRow, ms)), megabytesPerSecond: (bytes / 1e6) * (rowsPerSecond.median / rows),
  };
}

/** Runs the read benchmark in a scratch directory. */
export async function runStorageBench(quick: boolean): Promise<{ settings: Record<string, unknown>; cases: ReadCase[]; parquetOverArrow: Record<string, number> }> {
  const root = scratchDir('storage');
  const reps = quick ? 2 : 5;
  const seq = { rows: quick ? 64 : 384, seqLen: 128, vocab: 256 };
  const shardRows = 32;
  const seqLoader: LoaderSettings = { batchSize: 16, shuffleBuffer: 128 };
  const mnistRows = quick ? 1000 : 8000;
  const mnistLoader: LoaderSettings = { batchSize: 256, shuffleBuffer: 8192 };
  const cases: ReadCase[] = [];
  try {
    const source = new SyntheticLogits(seq);
    for (const [label, t] of SEQ_TARGETS) {
      for (const format of FORMATS) {
        const dir = path.join(root, `seq-${t.kind}-${t.k ?? t.samples ?? ''}-${t.dtype ?? ''}-${format}`);
        const cache = await writeSeqCache(dir, source, t, { shardRows, format });
        cases.push(await measure(`bytes V=256 T=128 (${seq.rows} rows, synthetic)`, label, format, cache, seq.seqLen, seqLoader, reps));
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const teacher = mnistTeacher(root);
    for (const [label, t] of quick ? MNIST_TARGETS.slice(1) : MNIST_TARGETS) {
      for (const format of FORMATS) {
        const cache = await precomputeCache(mnistRecipe({ root, teacher, limit: mnistRows, targets: t, format }));
        cases.push(await measure(`mnist V=10 (${mnistRows} rows)`, label, format, cache, 1, mnistLoader, reps));
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const parquetOverArrow: Record<string, number> = {};
  for (const c of cases.filter((x) => x.format === 'parquet')) {
    const a = cases.find((x) => x.format === 'arrow' && x.dataset === c.dataset && x.targets === c.targets)!;
    parquetOverArrow[`${c.dataset.split(' ')[0]} ${c.targets}`] = c.rowsPerSecond.median / a.rowsPerSecond.median;
  }
  return { settings: { reps, seq, shardRows, seqLoader, mnistRows, mnistLoader }, cases, parquetOverArrow };
}

/** Prints the read table. */
export function printStorage(r: Awaited<ReturnType<typeof runStorageBench>>): void {
  printTable('cache READ throughput: CacheLoader batches (median [min-max] of repeated epochs; page-cached shards)',
    ['dataset', 'targets', 'format', 'B/unit', 'rows/s', 'tokens|samples/s', 'MB/s', 'parquet/arrow'],
    r.cases.map((c) => [c.dataset, c.targets, c.format, c.bytesPerUnit.toFixed(1), fmt(c.rowsPerSecond, 0), fmt(c.unitsPerSecond, 0), c.megabytesPerSecond.toFixed(0),
      c.format === 'parquet' ? (r.parquetOverArrow[`${c.dataset.split(' ')[0]} ${c.targets}`] ?? 0).toFixed(2) : '']));
}

if (isMain(import.meta.url)) await runSection('storage', runStorageBench, printStorage);
