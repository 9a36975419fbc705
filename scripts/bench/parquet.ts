/**
 * parquet-wasm (what the cache uses) vs parquetjs-lite (pure JS) writing and reading the same
 * top-k shard: 50k rows (--quick 10k) of row int32, topk_ids 32 x uint16 (V=50257),
 * topk_logits 32 x float32 and logsumexp float32. Writing starts from the columns in memory and
 * ends with the file on disk; reading starts from the file and ends with every column as one
 * flat typed array (what CacheLoader needs). Both readers' values are checked against the source.
 * parquetjs-lite has no ZSTD, so parquet-wasm is measured with ZSTD (kennis's setting) and SNAPPY.
 * Run: npx tsx scripts/bench/parquet.ts [--quick] [--out bench/parquet.json]
 */
import { createRequire } from 'node:module';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { decodeShard, encodeShard } from '../../src/cache/index.js';
import { fixedSizeListVector, flatValues, primitiveVector, Rng } from '../../src/core/util/index.js';
import { isMain, runSection, scratchDir } from './lib/cli.js';
import { fmt, spread, timeRuns, type Spread } from './lib/stats.js';
import { printTable } from './lib/table.js';

const K = 32;
const VOCAB = 50257;

/** The shard's columns as flat arrays. */
interface Columns { row: Int32Array; ids: Uint16Array; logits: Float32Array; lse: Float32Array }

/** The part of parquetjs-lite's API used here (the package ships no types). */
interface ParquetJs {
  ParquetSchema: new (fields: Record<string, { type: string; repeated?: boolean; compression?: string }>) => unknown;
  ParquetWriter: { openFile(schema: unknown, file: string, opts?: { rowGroupSize?: number }): Promise<{ appendRow(r: object): Promise<void>; close(): Promise<void> }> };
  ParquetReader: { openFile(file: string): Promise<{ getCursor(): { next(): Promise<Record<string, unknown> | null> }; close(): Promise<void> }> };
}
const parquetjs = createRequire(import.meta.url)('parquetjs-lite') as ParquetJs;

function makeColumns(rows: number): Columns {
  const rng = new Rng(3);
  const c: Columns = { row: new Int32Array(rows), ids: new Uint16Array(rows * K), logits: new Float32Array(rows * K), lse: new Float32Array(rows) };
  for (let r = 0; r < rows; r++) {
    c.row[r] = r;
    let z = 12 + rng.normal();
    for (let j = 0; j < K; j++) {
      c.ids[r * K + j] = rng.int(VOCAB);
      c.logits[r * K + j] = z;
      z -= rng.next() * 0.8; // descending like real top-k logits
    }
    c.lse[r] = c.logits[r * K]! + 1 + rng.next();
  }
  return c;
}

function same(a: Columns, b: Columns): boolean {
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>) => x.length === y.length && Array.prototype.every.call(x, (v: number, i: number) => v === y[i]);
  return eq(a.row, b.row) && eq(a.ids, b.ids) && eq(a.logits, b.logits) && eq(a.lse, b.lse);
}

function arrowTable(c: Columns): arrow.Table {
  return new arrow.Table({
    row: primitiveVector(c.row, 'int32'), topk_ids: fixedSizeListVector(c.ids, [K], 'uint16'),
    topk_logits: fixedSizeListVector(c.logits, [K], 'float32'), logsumexp: primitiveVector(c.lse, 'float32'),
  });
}

function fromArrow(t: arrow.Table): Columns {
  const col = (n: string) => flatValues(t.getChild(n)!);
  return { row: col('row') as Int32Array, ids: col('topk_ids') as Uint16Array, logits: col('topk_logits') as Float32Array, lse: col('logsumexp') as Float32Array };
}

/** parquet-wasm with SNAPPY, else as encodeShard (which fixes ZSTD). */
function wasmSnappy(t: arrow.Table): Uint8Array {
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.SNAPPY).setMaxRowGroupSize(t.numRows).build();
  return pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(t, 'stream')), props);
}

async function jsWrite(c: Columns, file: string): Promise<void> {
  const schema = new parquetjs.ParquetSchema({
    row: { type: 'INT32', compression: 'SNAPPY' }, topk_ids: { type: 'UINT_16', repeated: true, compression: 'SNAPPY' },
    topk_logits: { type: 'FLOAT', repeated: true, compression: 'SNAPPY' }, logsumexp: { type: 'FLOAT', compression: 'SNAPPY' },
  });
  const rows = c.row.length;
  const w = await parquetjs.ParquetWriter.openFile(schema, file, { rowGroupSize: rows });
  for (let r = 0; r < rows; r++) {
    await w.appendRow({ row: c.row[r], topk_ids: Array.from(c.ids.subarray(r * K, (r + 1) * K)), topk_logits: Array.from(c.logits.subarray(r * K, (r + 1) * K)), logsumexp: c.lse[r] });
  }
  await w.close();
}

async function jsRead(file: string, rows: number): Promise<Columns> {
  const reader = await parquetjs.ParquetReader.openFile(file);
  const c: Columns = { row: new Int32Array(rows), ids: new Uint16Array(rows * K), logits: new Float32Array(rows * K), lse: new Float32Array(rows) };
  try {
    const cursor = reader.getCursor();
    let r = 0;
    for (let rec = await cursor.next(); rec; rec = await cursor.next(), r++) {
      c.row[r] = rec.row as number;
      c.ids.set(rec.topk_ids as number[], r * K);
      c.logits.set(rec.topk_logits as number[], r * K);
      c.lse[r] = rec.logsumexp as number;
    }
  } finally {
    await reader.close();
  }
  return c;
}

/** One writer/reader on the shard. */
export interface ParquetCase {
  library: string;
  compression: string;
  bytes: number;
  writeMs: Spread;
  readMs: Spread;
  /** Rows per second read into typed arrays. */
  readRowsPerSecond: number;
  /** The read-back columns equal the source. */
  roundTrip: boolean;
}

/** Runs the comparison in a scratch directory. */
export async function runParquetBench(quick: boolean): Promise<{ rows: number; cases: ParquetCase[]; ratios: Record<string, number> }> {
  const root = scratchDir('parquet');
  const rows = quick ? 10_000 : 50_000;
  const reps = quick ? 1 : 3;
  const src = makeColumns(rows);
  const table = arrowTable(src);
  const cases: ParquetCase[] = [];
  try {
    const wasm = async (compression: string, encode: (t: arrow.Table) => Uint8Array) => {
      const file = path.join(root, `wasm-${compression}.parquet`);
      const writeMs = await timeRuns(() => writeFileSync(file, encode(table)), { warmup: 1, reps });
      let back: Columns | undefined;
      const readMs = await timeRuns(() => { back = fromArrow(decodeShard(readFileSync(file), 'parquet')); }, { warmup: 1, reps });
      cases.push({ library: 'parquet-wasm', compression, bytes: statSync(file).size, writeMs: spread(writeMs), readMs: spread(readMs), readRowsPerSecond: 0, roundTrip: same(src, back!) });
    };
    await wasm('ZSTD', (t) => encodeShard(t, 'parquet'));
    await wasm('SNAPPY', wasmSnappy);
    const file = path.join(root, 'js-snappy.parquet');
    // pure JS at ~10k rows/s: fewer repetitions keep the full bench inside its time budget
    const jsReps = quick ? 1 : 2;
    const writeMs = await timeRuns(() => jsWrite(src, file), { warmup: 0, reps: jsReps });
    let back: Columns | undefined;
    const readMs = await timeRuns(async () => { back = await jsRead(file, rows); }, { warmup: 0, reps: jsReps });
    cases.push({ library: 'parquetjs-lite', compression: 'SNAPPY', bytes: statSync(file).size, writeMs: spread(writeMs), readMs: spread(readMs), readRowsPerSecond: 0, roundTrip: same(src, back!) });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  for (const c of cases) c.readRowsPerSecond = (rows * 1000) / c.readMs.median;
  const by = (lib: string, comp: string) => cases.find((c) => c.library === lib && c.compression === comp)!;
  const js = by('parquetjs-lite', 'SNAPPY');
  const snappy = by('parquet-wasm', 'SNAPPY');
  return {
    rows, cases,
    ratios: {
      writeJsOverWasmSnappy: js.writeMs.median / snappy.writeMs.median,
      readJsOverWasmSnappy: js.readMs.median / snappy.readMs.median,
      bytesJsOverWasmSnappy: js.bytes / snappy.bytes,
      bytesWasmZstdOverSnappy: by('parquet-wasm', 'ZSTD').bytes / snappy.bytes,
    },
  };
}

/** Prints the comparison. */
export function printParquet(r: Awaited<ReturnType<typeof runParquetBench>>): void {
  printTable(`parquet-wasm vs parquetjs-lite: one shard of ${r.rows} rows x (row, topk_ids 32 x u16, topk_logits 32 x f32, logsumexp)`,
    ['library', 'compression', 'MB', 'B/row', 'write ms', 'read ms', 'read rows/s', 'round trip'],
    r.cases.map((c) => [c.library, c.compression, (c.bytes / 1e6).toFixed(2), (c.bytes / r.rows).toFixed(1), fmt(c.writeMs, 0), fmt(c.readMs, 0), c.readRowsPerSecond.toFixed(0), c.roundTrip ? 'exact' : 'MISMATCH']));
  console.log(`parquetjs-lite / parquet-wasm (both SNAPPY): write time x${r.ratios.writeJsOverWasmSnappy!.toFixed(1)}, read time x${r.ratios.readJsOverWasmSnappy!.toFixed(1)}, bytes x${r.ratios.bytesJsOverWasmSnappy!.toFixed(2)}`);
}

if (isMain(import.meta.url)) await runSection('parquet', runParquetBench, printParquet);
