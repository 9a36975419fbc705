/**
 * Precompute throughput against a plain onnxruntime `session.run` loop over the same batches
 * with the same teacher and soft-target head (the ratio is the figure), where precompute's
 * extra time goes (single-thread costs of post-processing, shard encoding, hashing, writes),
 * cache bytes per sample / per token for each target kind in Parquet and Arrow IPC, and the
 * peak RSS of a V = 50,257, T = 512 top-k run.
 * Run: npm run bench:precompute [-- --quick]; writes bench/precompute.json.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Table } from 'apache-arrow';
import { encodeShard, encodeStoredColumn, readShards, type PackedColumns, type StoredColumns } from '../../src/cache/index.js';
import { fixedSizeListVector, flatValues, listShape } from '../../src/core/util/arrow.js';
import { openDataset, type Dataset } from '../../src/data/index.js';
import { planPrecompute, precompute, shardPayload, shardTable, storedCodes } from '../../src/precompute/index.js';
import { validateRecipe, datasetSpecOf, type LoadedRecipe } from '../../src/recipe/index.js';
import { targetColumns } from '../../src/cache/targets/index.js';
import { sha256Bytes, writeFileAtomic } from '../../src/core/util/fs.js';
import { BENCH_SEQ_LEN, writeBenchTeachers } from './lib/bench-teachers.js';
import { measureVocabRss, type VocabRss } from './lib/vocab-rss.js';
import { TARGET_CASES } from './lib/targets.js';
import { batchOutput, sessionRunLoop } from './lib/teacher-loop.js';
import { benchArgs, scratchDir, writeJson } from './lib/cli.js';
import { interleavedRuns, rates, spread, type Spread } from './lib/stats.js';
import { printTable } from './lib/table.js';

const args = benchArgs('precompute');
const { quick } = args;
const root = scratchDir('precompute');

const { mnistTeacher, seqTeacher } = writeBenchTeachers(root);
const seqLen = BENCH_SEQ_LEN;

type Raw = Record<string, Record<string, unknown>>;
let cacheCounter = 0;
/** The recipe with a fresh cache dir. */
function loaded(raw: Raw): LoadedRecipe {
  return { recipe: validateRecipe({ ...raw, cache: { ...raw.cache, dir: path.join(root, `cache-${cacheCounter++}`) } }), baseDir: root };
}

const mnistRaw: Raw = {
  teacher: { path: mnistTeacher, batch_size: 500 },
  dataset: { name: 'mnist', split: 'train', ...(quick ? { limit: 2000 } : {}) },
  targets: { kind: 'full', dtype: 'float32' },
  cache: { shard_rows: 1000 },
};
const seqRaw: Raw = {
  teacher: { path: seqTeacher, batch_size: 16 },
  dataset: { name: 'moby-dick', split: 'train', seq_len: seqLen, limit: quick ? 128 : 1024 },
  targets: { kind: 'topk', k: 32, dtype: 'float16' },
  cache: { shard_rows: 128 },
};

interface Throughput {
  case: string; format: string; rows: number;
  /** Medians of the interleaved rounds (the figures bench/results.json reads). */
  precomputeRowsPerSecond: number; sessionRunRowsPerSecond: number; ratio: number;
  /** The plain loop with precompute's session options (no spinning), and precompute against it: the pipeline's own overhead. */
  sessionRunNoSpinRowsPerSecond: number; ratioVsNoSpin: number;
  /** Precompute with cache.input_dtype=as_fed (inputs as fed to the teacher, as before narrow stored columns), and its ratio to session.run. */
  precomputeAsFedRowsPerSecond: number; ratioAsFed: number;
  /** Precompute with cache.layout=lists (list columns as FixedSizeLists, as before packed columns), and its ratio to session.run. */
  precomputeListsRowsPerSecond: number; ratioLists: number;
  /** Per-round ratios of precompute (packed) over precompute with lists. */
  packedOverListsPerRound: Spread;
  /** Spreads over the rounds: wall rates, per-round ratios, and CPU-time ratios (which a busy machine skews less). */
  precompute: Spread; sessionRun: Spread; ratioPerRound: Spread; cpuRatioPerRound: Spread;
  /** Single-thread costs of precompute's work besides the teacher, in ms per 1000 rows. */
  profileMsPer1000Rows: Record<string, number>;
}

/** Times what precompute does besides running the teacher, each part alone, on the real outputs and shards. */
async function profile(raw: Raw, format: 'parquet' | 'arrow'): Promise<Record<string, number>> {
  const l = loaded({ ...raw, cache: { ...raw.cache, format } });
  const t0 = performance.now();
  const loop = await sessionRunLoop(l, true);
  const teacher = performance.now() - t0;
  const plan = await planPrecompute(l);
  const t1 = performance.now();
  for (const { rows, out } of loop.outputs) targetColumns(plan.spec, out, rows);
  const post = performance.now() - t1;
  // what precompute does before encoding: join the batches with the input codes the dataset holds (or code them), make the target columns
  const t2 = performance.now();
  shardTable(shardPayload(loop.outputs.map(batchOutput), plan.storedColumns, storedCodes(plan.dataset, plan.storedColumns, 0, loop.rows)), plan.spec);
  const table = performance.now() - t2;
  const s = await precompute(l, { onWarning: () => undefined });
  let encode = 0;
  let hash = 0;
  let write = 0;
  const { packedColumns } = plan;
  let encodeLists = 0;
  for await (const { table } of readShards(s.cacheDir)) {
    const l0 = performance.now();
    encodeShard(table, format);
    encodeLists += performance.now() - l0;
    const a = performance.now();
    const bytes = encodeShard(table, format, packedColumns);
    const b = performance.now();
    sha256Bytes(bytes);
    const c = performance.now();
    await writeFileAtomic(path.join(root, `profile.${format}`), bytes);
    write += performance.now() - c;
    encode += b - a;
    hash += c - b;
  }
  rmSync(s.cacheDir, { recursive: true, force: true });
  const per = (ms: number): number => +((ms * 1000) / loop.rows).toFixed(1);
  return { 'teacher (session.run loop)': per(teacher), 'targets (post-processing)': per(post), 'payload and shard table (join, input codes, targets)': per(table), [`encode ${format}`]: per(encode), [`encode ${format}, lists`]: per(encodeLists), sha256: per(hash), 'write + fsync': per(write) };
}

const throughput: Throughput[] = [];
const cases: [string, Raw][] = [['mnist mlp 784-1200-1200-10, full f32', mnistRaw], ['moby-dick gpt d128 L2 T128, topk k=32 f16', seqRaw]];
for (const [label, raw] of cases) {
  for (const format of ['parquet', 'arrow'] as const) {
    const r = { ...raw, cache: { ...raw.cache, format } };
    let rows = 0;
    // caches are deleted after the rounds: deleting is not precompute's work, and a deletion just
    // before the next run's mkdir and lock (which fsync) made them wait on the file system's journal
    const written: string[] = [];
    const precomputeInto = async (recipe: Raw): Promise<void> => { written.push((await precompute(loaded(recipe), { onWarning: () => undefined })).cacheDir); };
    const times = await interleavedRuns({
      sessionRun: async () => { rows = (await sessionRunLoop(loaded(r))).rows; },
      sessionRunNoSpin: async () => { await sessionRunLoop(loaded(r), false, true); },
      precompute: () => precomputeInto(r),
      // inputs stored as the teacher is fed them (float32 pixels, int32 ids): how caches were written before
      precomputeAsFed: () => precomputeInto({ ...r, cache: { ...r.cache, input_dtype: 'as_fed' } }),
      // list columns as FixedSizeLists: how caches were written before packed columns
      precomputeLists: () => precomputeInto({ ...r, cache: { ...r.cache, layout: 'lists' } }),
    }, { warmup: 1, reps: quick ? 2 : 5, pauseMs: quick ? 50 : 200 });
    for (const dir of written) rmSync(dir, { recursive: true, force: true });
    const pre = rates(rows, times.precompute.wall);
    const run = rates(rows, times.sessionRun.wall);
    const p = spread(pre);
    const s = spread(run);
    const ns = spread(rates(rows, times.sessionRunNoSpin.wall));
    const asFed = spread(rates(rows, times.precomputeAsFed.wall));
    const lists = rates(rows, times.precomputeLists.wall);
    throughput.push({
      case: label, format, rows, precomputeRowsPerSecond: p.median, sessionRunRowsPerSecond: s.median, ratio: p.median / s.median,
      sessionRunNoSpinRowsPerSecond: ns.median, ratioVsNoSpin: p.median / ns.median,
      precomputeAsFedRowsPerSecond: asFed.median, ratioAsFed: asFed.median / s.median,
      precomputeListsRowsPerSecond: spread(lists).median, ratioLists: spread(lists).median / s.median, packedOverListsPerRound: spread(pre.map((x, i) => x / lists[i]!)),
      precompute: p, sessionRun: s, ratioPerRound: spread(pre.map((x, i) => x / run[i]!)),
      cpuRatioPerRound: spread(times.sessionRun.cpu.map((c, i) => c / times.precompute.cpu[i]!)),
      profileMsPer1000Rows: await profile(raw, format),
    });
  }
}

/** Bytes of the dataset's own columns (inputs, labels, row) as a cache stores them (`stored` narrower, `packed` packed), in one format, for reference. */
async function inputBytes(dataset: Dataset, format: 'parquet' | 'arrow', shardRows: number, stored: StoredColumns, packed: PackedColumns): Promise<number> {
  let bytes = 0;
  for await (const batch of dataset.batches({ batchSize: shardRows })) {
    const columns = Object.fromEntries(batch.schema.fields.map((f) => {
      const v = batch.getChild(f.name)!;
      const narrow = stored[f.name];
      return [f.name, narrow ? fixedSizeListVector(encodeStoredColumn(flatValues(v), narrow, f.name), listShape(v.type), narrow.stored) : v];
    }));
    bytes += encodeShard(new Table(columns), format, Object.fromEntries(Object.entries(packed).filter(([name]) => name in columns))).length;
  }
  return bytes;
}

interface SizeRow { case: string; targets: string; format: string; bytesPerUnit: number; unit: string; fullFloat32BytesPerUnit: number }
const sizes: SizeRow[] = [];
const sizeCases: [label: string, raw: Raw, unit: string, perRow: number, vocab: number][] = [
  ['mnist (V=10)', { ...mnistRaw, dataset: { ...mnistRaw.dataset, limit: quick ? 500 : 4000 } }, 'sample', 1, 10],
  ['moby-dick (V=256, T=128)', { ...seqRaw, dataset: { ...seqRaw.dataset, limit: quick ? 32 : 256 } }, 'token', seqLen, 256],
];
for (const [label, raw, unit, perRow, vocab] of sizeCases) {
  for (const format of ['parquet', 'arrow'] as const) {
    const base = { ...raw, cache: { ...raw.cache, format } };
    const dataset = await openDataset(datasetSpecOf(loaded(base)));
    const units = dataset.numRows * perRow;
    const row = (targets: string, bytes: number): SizeRow => ({ case: label, targets, format, bytesPerUnit: bytes / units, unit, fullFloat32BytesPerUnit: vocab * 4 });
    const plan = await planPrecompute(loaded(base));
    sizes.push(row('inputs only', await inputBytes(dataset, format, raw.cache!.shard_rows as number, plan.storedColumns, plan.packedColumns)));
    for (const [name, targets] of TARGET_CASES) {
      if (targets.kind === 'topk' && (targets.k ?? 0) > vocab) continue;
      for (const layout of ['packed', 'lists'] as const) {
        const s = await precompute(loaded({ ...base, targets, cache: { ...base.cache, layout } }), { onWarning: () => undefined });
        sizes.push(row(layout === 'packed' ? name : `${name}, lists`, s.bytes));
        rmSync(s.cacheDir, { recursive: true, force: true });
      }
    }
  }
}

/** Peak RSS of a fresh process running top-k precompute at the GPT-2 vocabulary over random ids (a byte corpus is refused at V = 50,257). */
function vocabRss(rows: number): VocabRss {
  return measureVocabRss(root, { vocab: 50257, seqLen: 512, rows, kind: 'topk', dModel: 32 });
}
// two sizes: what a run holds must not grow with its rows
const vocab = (quick ? [1, 4] : [2, 8]).map(vocabRss);

const mb = (b: number): string => (b / 2 ** 20).toFixed(0);
printTable(`precompute vs plain session.run (same batches, same head; medians of interleaved rounds)${quick ? ' [quick]' : ''}`,
  ['case', 'format', 'rows', 'precompute rows/s', 'session.run rows/s', 'ratio', 'ratio range', 'cpu ratio', 'run no-spin rows/s', 'ratio vs no-spin', 'as_fed ratio', 'lists ratio', 'packed / lists range'],
  throughput.map((t) => [t.case, t.format, t.rows, t.precomputeRowsPerSecond.toFixed(0), t.sessionRunRowsPerSecond.toFixed(0), t.ratio.toFixed(2),
    `${t.ratioPerRound.min.toFixed(2)}-${t.ratioPerRound.max.toFixed(2)}`, t.cpuRatioPerRound.median.toFixed(2), t.sessionRunNoSpinRowsPerSecond.toFixed(0), t.ratioVsNoSpin.toFixed(2), t.ratioAsFed.toFixed(2), t.ratioLists.toFixed(2),
    `${t.packedOverListsPerRound.min.toFixed(2)}-${t.packedOverListsPerRound.max.toFixed(2)}`]));
const phases = [...new Set(throughput.flatMap((t) => Object.keys(t.profileMsPer1000Rows)))];
printTable('where the time goes: single-thread ms per 1000 rows of each part alone (encode, hash and writes run on the writer thread)',
  ['case', 'format', ...phases], throughput.map((t) => [t.case, t.format, ...phases.map((p) => t.profileMsPer1000Rows[p]?.toFixed(1) ?? '-')]));
printTable('cache bytes per sample / token (whole shards: inputs, labels, row and targets)', ['case', 'targets', 'parquet', 'arrow', 'full f32 logits'],
  sizes.filter((s) => s.format === 'parquet').map((s) => {
    const a = sizes.find((r) => r.format === 'arrow' && r.case === s.case && r.targets === s.targets)!;
    return [s.case, s.targets, s.bytesPerUnit.toFixed(1), a.bytesPerUnit.toFixed(1), `${s.fullFloat32BytesPerUnit} B/${s.unit}`];
  }));
printTable('peak RSS of a fresh process, topk k=8 at V=50257, T=512, batch 1', ['rows', 'peak RSS MiB', 'full f32 logits of the rows MiB', 'seconds'],
  vocab.map((v) => [v.rows, mb(v.maxRssBytes), mb(v.fullLogitsBytes), v.seconds.toFixed(1)]));
writeJson(args.out, { quick, throughput, sizes, vocabRss: vocab });
rmSync(root, { recursive: true, force: true });
console.log(`\nwrote ${path.relative(process.cwd(), args.out)}`);
