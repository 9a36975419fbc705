/**
 * The shard writer alone, fed teacher outputs computed beforehand (no teacher running): writer
 * rows/s per target kind and shard format, with 1 and 2 encoder threads, against the CPU teacher's
 * own rows/s on this machine (a GPU teacher runs one to two orders of magnitude faster, and then
 * the writer sets the pace). Also the Parquet settings table: bytes and single-thread encode time
 * of the same shards under each codec / dictionary / byte-stream-split / statistics choice, which
 * is how PARQUET_SETTINGS was picked; and one shard's encode and decode time, packed (cache.layout
 * packed) against lists, interleaved.
 * Run: npm run bench:writer [-- --quick]; writes bench/writer.json.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Table } from 'apache-arrow';
import { decodeShard, encodeShard, PARQUET_SETTINGS, unpackColumns, type PackedColumns, type ParquetSettings, type ShardFormat } from '../../src/cache/index.js';
import { draftOf, planPrecompute, shardPayload, shardsAhead, shardTable, ShardWriterThread, storedCodes, type BatchOutput } from '../../src/precompute/index.js';
import { validateRecipe, type LoadedRecipe } from '../../src/recipe/index.js';
import { BENCH_SEQ_LEN, writeBenchTeachers } from './lib/bench-teachers.js';
import { isMain, runSection, scratchDir } from './lib/cli.js';
import { interleavedRuns, rates, spread, timeRuns, type Spread } from './lib/stats.js';
import { printTable } from './lib/table.js';
import { batchOutput, sessionRunLoop } from './lib/teacher-loop.js';

type Raw = Record<string, Record<string, unknown>>;

interface WriterRow {
  case: string; targets: string; format: string;
  /** cache.layout: packed (one binary value per row per list column) or lists (FixedSizeLists, as before). */
  layout: string;
  threads: number; rows: number;
  writerRowsPerSecond: Spread; teacherRowsPerSecond: Spread;
  /** writer rows/s over the CPU teacher's (medians). */
  writerOverTeacher: number;
  /** Rows/s from the open cache to the last shard recorded: without opening (lock, resume check) and finishing it, the rate a long run sustains. */
  writerSteadyRowsPerSecond: Spread;
  /** Steady writer rows/s over the CPU teacher's (medians). */
  steadyWriterOverTeacher: number;
  /** Rows per CPU-second (all threads of the process): the work each does per row, which a busy shared machine skews less than wall time. */
  writerRowsPerCpuSecond: Spread; teacherRowsPerCpuSecond: Spread;
  /** writer rows per CPU-second over the teacher's (medians). */
  cpuWriterOverTeacher: number;
  bytesPerRow: number;
}

interface SettingsRow { case: string; settings: string; bytesPerRow: number; encodeMsPer1000Rows: Spread; chosen: boolean }

/** One shard encoded and decoded (read back as lists) on this thread, packed and as lists alternately. */
interface LayoutRow { case: string; format: string; layout: string; bytesPerRow: number; encodeMsPer1000Rows: Spread; decodeMsPer1000Rows: Spread }

export interface WriterBench { writer: WriterRow[]; parquetSettings: SettingsRow[]; layouts: LayoutRow[] }

const SETTINGS: [string, ParquetSettings][] = [
  ['zstd', { compression: 'zstd', dictionary: false, byteStreamSplit: false, statistics: 'page' }],
  ['zstd, no statistics', { compression: 'zstd', dictionary: false, byteStreamSplit: false, statistics: 'none' }],
  ['zstd, byte-stream-split', { compression: 'zstd', dictionary: false, byteStreamSplit: true, statistics: 'page' }],
  ['zstd, byte-stream-split, no statistics', { compression: 'zstd', dictionary: false, byteStreamSplit: true, statistics: 'none' }],
  ['zstd, dictionary', { compression: 'zstd', dictionary: true, byteStreamSplit: false, statistics: 'page' }],
  ['lz4_raw', { compression: 'lz4_raw', dictionary: false, byteStreamSplit: false, statistics: 'page' }],
  ['lz4_raw, byte-stream-split, no statistics', { compression: 'lz4_raw', dictionary: false, byteStreamSplit: true, statistics: 'none' }],
  ['snappy', { compression: 'snappy', dictionary: false, byteStreamSplit: false, statistics: 'page' }],
  ['uncompressed', { compression: 'none', dictionary: false, byteStreamSplit: false, statistics: 'none' }],
];

/** Shard formats and cache layouts measured: packed (one binary value per row per list column) and lists (FixedSizeLists, as before). */
const LAYOUTS = [['parquet', 'packed'], ['parquet', 'lists'], ['arrow', 'packed'], ['arrow', 'lists']] as const;

export async function runWriterBench(quick: boolean): Promise<WriterBench> {
  const root = scratchDir('writer');
  const { mnistTeacher, seqTeacher } = writeBenchTeachers(root);
  const seqLen = BENCH_SEQ_LEN;
  let dirs = 0;
  const loaded = (raw: Raw): LoadedRecipe => ({ recipe: validateRecipe({ ...raw, cache: { ...raw.cache, dir: path.join(root, `cache-${dirs++}`) } }), baseDir: root });
  // the teachers and batches of bench:precompute
  const mnist: Raw = { teacher: { path: mnistTeacher, batch_size: 500 }, dataset: { name: 'mnist', split: 'train', limit: quick ? 2000 : 8000 }, cache: { shard_rows: 1000 } };
  const seq: Raw = { teacher: { path: seqTeacher, batch_size: 16 }, dataset: { name: 'moby-dick', split: 'train', seq_len: seqLen, limit: quick ? 128 : 512 }, cache: { shard_rows: 128 } };
  const cases: [string, Raw, string, Record<string, unknown>][] = [
    ['mnist mlp 784-1200-1200-10', mnist, 'full f32', { kind: 'full', dtype: 'float32' }],
    ['mnist mlp 784-1200-1200-10', mnist, 'topk k=5 f16', { kind: 'topk', k: 5, dtype: 'float16' }],
    ['moby-dick gpt d128 L2 T128', seq, 'topk k=32 f16', { kind: 'topk', k: 32, dtype: 'float16' }],
    ['moby-dick gpt d128 L2 T128', seq, 'sampled n=32', { kind: 'sampled', samples: 32 }],
    ['moby-dick gpt d128 L2 T128', seq, 'full f16', { kind: 'full', dtype: 'float16' }],
  ];
  const reps = quick ? 2 : 4;
  const writer: WriterRow[] = [];
  const parquetSettings: SettingsRow[] = [];
  const layouts: LayoutRow[] = [];
  for (const [label, base, targets, section] of cases) {
    const raw: Raw = { ...base, targets: section };
    // the teacher's own rate, and its outputs kept for the writer
    const kept = await sessionRunLoop(loaded(raw), true);
    const rows = kept.rows;
    const teacherTimes = (await interleavedRuns({ teacher: () => sessionRunLoop(loaded(raw)) }, { warmup: 0, reps })).teacher;
    const teacher = spread(rates(rows, teacherTimes.wall));
    const teacherCpu = spread(rates(rows, teacherTimes.cpu));
    const shardRows = base.cache!.shard_rows as number;
    const shards = groupShards(kept.outputs.map(batchOutput), shardRows);
    for (const [format, layout] of LAYOUTS) {
      const l = loaded({ ...raw, cache: { ...raw.cache, format, layout } });
      const plan = await planPrecompute(l);
      for (const threads of [1, 2]) {
        let bytes = 0;
        const steadyMs: number[] = [];
        // deleted after the rounds, as in bench:precompute (not the writer's work, and it slowed the next open)
        const written: string[] = [];
        const times = (await interleavedRuns({
          writer: async () => {
            const dir = path.join(root, `writer-${dirs++}`);
            const w = await writeAll(dir, l, plan, shards, threads);
            written.push(dir);
            bytes = w.bytes;
            steadyMs.push(w.steadyMs);
          },
        }, { warmup: 1, reps })).writer;
        for (const dir of written) rmSync(dir, { recursive: true, force: true });
        const w = spread(rates(rows, times.wall));
        // the warm-up run is not among the timed ones
        const steady = spread(rates(rows, steadyMs.slice(-times.wall.length)));
        const wCpu = spread(rates(rows, times.cpu));
        writer.push({
          case: label, targets, format, layout, threads, rows, writerRowsPerSecond: w, teacherRowsPerSecond: teacher, writerOverTeacher: w.median / teacher.median,
          writerSteadyRowsPerSecond: steady, steadyWriterOverTeacher: steady.median / teacher.median,
          writerRowsPerCpuSecond: wCpu, teacherRowsPerCpuSecond: teacherCpu, cpuWriterOverTeacher: wCpu.median / teacherCpu.median, bytesPerRow: bytes / rows,
        });
      }
      if (layout !== 'packed' || (targets !== 'full f32' && targets !== 'topk k=32 f16')) continue;
      // one shard's table, encoded alone on this thread: packed against lists, and under each Parquet setting
      const table = shardTable(shardPayload(shards[0]!, plan.storedColumns), plan.spec);
      layouts.push(...layoutRows(`${label}, ${targets}`, format, table, plan.packedColumns, quick ? 10 : 40));
      if (format === 'parquet') {
        for (const [name, settings] of SETTINGS) {
          let size = 0;
          const t = await timeRuns(() => { size = encodeShard(table, 'parquet', plan.packedColumns, settings).length; }, { warmup: 1, reps: quick ? 3 : 7 });
          parquetSettings.push({
            case: `${label}, ${targets}`, settings: name, bytesPerRow: size / table.numRows,
            encodeMsPer1000Rows: spread(t.map((x) => (x * 1000) / table.numRows)), chosen: sameSettings(settings, PARQUET_SETTINGS),
          });
        }
      }
    }
  }
  rmSync(root, { recursive: true, force: true });
  return { writer, parquetSettings, layouts };
}

/** Encode and decode times of one shard packed and as lists, alternating so a busy machine slows both alike. */
function layoutRows(label: string, format: ShardFormat, table: Table, packed: PackedColumns, reps: number): LayoutRow[] {
  const cases = { packed, lists: {} };
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, { encode: [] as number[], decode: [] as number[], bytes: 0 }]));
  for (let i = -1; i < reps; i++) {
    for (const [layout, p] of Object.entries(cases)) {
      const t0 = performance.now();
      const bytes = encodeShard(table, format, p);
      const t1 = performance.now();
      unpackColumns(decodeShard(bytes, format), p);
      const t2 = performance.now();
      if (i < 0) continue;
      times[layout]!.encode.push(((t1 - t0) * 1000) / table.numRows);
      times[layout]!.decode.push(((t2 - t1) * 1000) / table.numRows);
      times[layout]!.bytes = bytes.length;
    }
  }
  return Object.entries(times).map(([layout, t]) => ({ case: label, format, layout, bytesPerRow: t.bytes / table.numRows, encodeMsPer1000Rows: spread(t.encode), decodeMsPer1000Rows: spread(t.decode) }));
}

function sameSettings(a: ParquetSettings, b: ParquetSettings): boolean {
  return a.compression === b.compression && a.dictionary === b.dictionary && a.byteStreamSplit === b.byteStreamSplit && a.statistics === b.statistics;
}

/** The kept batches grouped into shards of `shardRows` rows (the batch size divides it). */
function groupShards(batches: BatchOutput[], shardRows: number): BatchOutput[][] {
  const out: BatchOutput[][] = [];
  let rows = 0;
  for (const b of batches) {
    if (rows % shardRows === 0) out.push([]);
    out[out.length - 1]!.push(b);
    rows += b.columns['row']!.length;
  }
  return out;
}

/**
 * Writes every shard through the writer threads as precompute does (payload joined on this
 * thread with the codes the dataset holds, as many shards in flight as precompute allows);
 * returns the cache's bytes. The payload buffers move to the threads, so each run joins fresh copies.
 */
async function writeAll(dir: string, l: LoadedRecipe, plan: Awaited<ReturnType<typeof planPrecompute>>, shards: BatchOutput[][], threads: number): Promise<{ bytes: number; steadyMs: number }> {
  const writer = await ShardWriterThread.open(dir, draftOf(l, plan), () => undefined, { threads });
  try {
    const opened = performance.now();
    const writes: Promise<unknown>[] = [];
    const ahead = shardsAhead(plan.shardBytes, threads);
    let start = 0;
    for (const [index, parts] of shards.entries()) {
      const end = start + parts.reduce((n, p) => n + p.columns['row']!.length, 0);
      writes.push(writer.writeShard(index, parts, storedCodes(plan.dataset, writer.storedColumns, start, end)));
      start = end;
      if (writes.length >= ahead) await writes.shift();
    }
    await Promise.all(writes);
    const steadyMs = performance.now() - opened;
    await writer.finish();
    return { bytes: writer.shards().reduce((n, s) => n + s.bytes, 0), steadyMs };
  } finally {
    await writer.close();
  }
}

export function printWriter(r: WriterBench): void {
  const f0 = (s: Spread) => s.median.toFixed(0);
  printTable('the shard writer alone (teacher outputs computed beforehand) vs the CPU teacher, rows/s (medians)',
    ['case', 'targets', 'format', 'layout', 'encoder threads', 'writer rows/s', 'steady', 'teacher rows/s', 'writer / teacher', 'steady / teacher', 'rows per CPU-s: writer', 'teacher', 'cpu writer / teacher', 'bytes/row'],
    r.writer.map((w) => [w.case, w.targets, w.format, w.layout, w.threads, f0(w.writerRowsPerSecond), f0(w.writerSteadyRowsPerSecond), f0(w.teacherRowsPerSecond), w.writerOverTeacher.toFixed(1), w.steadyWriterOverTeacher.toFixed(1),
      f0(w.writerRowsPerCpuSecond), f0(w.teacherRowsPerCpuSecond), w.cpuWriterOverTeacher.toFixed(1), w.bytesPerRow.toFixed(0)]));
  printTable('one shard encoded and decoded on one thread, packed list columns vs lists, interleaved: ms per 1000 rows, min / median',
    ['shard', 'format', 'layout', 'encode', 'decode', 'bytes/row'],
    r.layouts.map((x) => [x.case, x.format, x.layout, `${x.encodeMsPer1000Rows.min.toFixed(1)} / ${x.encodeMsPer1000Rows.median.toFixed(1)}`,
      `${x.decodeMsPer1000Rows.min.toFixed(1)} / ${x.decodeMsPer1000Rows.median.toFixed(1)}`, x.bytesPerRow.toFixed(0)]));
  printTable('Parquet settings: bytes and single-thread encode time of one shard (* = the setting shards are written with)',
    ['shard', 'settings', 'bytes/row', 'encode ms / 1000 rows'],
    r.parquetSettings.map((s) => [s.case, `${s.chosen ? '* ' : ''}${s.settings}`, s.bytesPerRow.toFixed(1), s.encodeMsPer1000Rows.median.toFixed(1)]));
}

if (isMain(import.meta.url)) await runSection('writer', runWriterBench, printWriter);
