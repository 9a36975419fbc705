/**
 * Precompute throughput against a plain onnxruntime `session.run` loop over the same batches
 * with the same teacher and soft-target head (the ratio is the figure), and cache bytes per
 * sample / per token for each target kind in Parquet and Arrow IPC.
 * Run: npm run bench:precompute [-- --quick]; writes bench/precompute.json.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeShard } from '../../src/cache/index.js';
import { openDataset, type Dataset } from '../../src/datasets/index.js';
import { appendSoftTargetHead } from '../../src/onnx/index.js';
import { planPrecompute, precompute } from '../../src/precompute/index.js';
import { validateRecipe, datasetSpecOf, type LoadedRecipe } from '../../src/recipe/index.js';
import { HEAD_OUTPUTS } from '../../src/targets/index.js';
import { bindInputs, buildFeeds } from '../../src/teacher/index.js';
import { mlpClassifier, sequenceModel } from '../../test/fixtures/teachers.js';

const quick = process.argv.includes('--quick');
const root = path.resolve('bench/tmp/precompute');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });

const mnistTeacher = path.join(root, 'mnist-mlp-1200.onnx');
writeFileSync(mnistTeacher, mlpClassifier({ seed: 1, hidden: [1200, 1200] }).bytes);
const seqLen = 128;
const seqTeacher = path.join(root, 'seq-d128-l2.onnx');
writeFileSync(seqTeacher, sequenceModel({ vocab: 256, dModel: 128, layers: 2, heads: 4, maxSeq: seqLen, seed: 2 }).bytes);

type Raw = Record<string, Record<string, unknown>>;
let cacheCounter = 0;
function loaded(raw: Raw): LoadedRecipe {
  const withDir = { ...raw, cache: { ...raw.cache, dir: path.join(root, `cache-${cacheCounter++}`) } };
  return { recipe: validateRecipe(withDir), baseDir: root };
}

const mnistRaw: Raw = {
  teacher: { path: mnistTeacher, batch_size: 500 },
  dataset: { name: 'mnist', split: 'train', ...(quick ? { limit: 2000 } : {}) },
  targets: { kind: 'full', dtype: 'float32' },
  cache: { shard_rows: 2000 },
};
const seqRaw: Raw = {
  teacher: { path: seqTeacher, batch_size: 16 },
  dataset: { name: 'moby-dick', split: 'train', seq_len: seqLen, limit: quick ? 256 : 1024 },
  targets: { kind: 'topk', k: 32, dtype: 'float16' },
  cache: { shard_rows: 256 },
};

/** Rows per second of a plain session.run loop over the dataset batches precompute would feed. */
async function sessionRunRate(l: LoadedRecipe): Promise<number> {
  const { recipe } = l;
  const plan = await planPrecompute(l);
  const head = appendSoftTargetHead(plan.teacherBytes, {
    kind: plan.spec.kind, output: plan.logitsOutput, outputKind: recipe.teacher.output_kind, ...(plan.spec.k ? { k: plan.spec.k } : {}),
  });
  const started = performance.now();
  const session = await ort.InferenceSession.create(head, { graphOptimizationLevel: 'all', ...(recipe.teacher.threads ? { intraOpNumThreads: recipe.teacher.threads } : {}) });
  try {
    const bindings = bindInputs(plan.signature.inputs, plan.dataset.schema, recipe.teacher.inputs, recipe.teacher.attention_mask);
    for await (const batch of plan.dataset.batches({ batchSize: recipe.teacher.batch_size })) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(buildFeeds(batch, bindings))) feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
      const out = await session.run(feeds, [...HEAD_OUTPUTS[plan.spec.kind]]);
      for (const t of Object.values(out)) t.dispose();
    }
  } finally {
    await session.release();
  }
  return plan.dataset.numRows / ((performance.now() - started) / 1000);
}

/** Rows per second of a whole precompute run (plan, teacher, targets, encode, writes) into a fresh cache. */
async function precomputeRate(raw: Raw): Promise<{ rate: number; bytes: number; rows: number }> {
  const started = performance.now();
  const s = await precompute(loaded(raw));
  const rate = s.rows / ((performance.now() - started) / 1000);
  rmSync(s.cacheDir, { recursive: true, force: true });
  return { rate, bytes: s.bytes, rows: s.rows };
}

interface Throughput { case: string; format: string; rows: number; precomputeRowsPerSecond: number; sessionRunRowsPerSecond: number; ratio: number }
const throughput: Throughput[] = [];
const reps = quick ? 1 : 2;
for (const [label, raw] of [['mnist mlp 784-1200-1200-10, full f32', mnistRaw], ['moby-dick gpt d128 L2 T128, topk k=32 f16', seqRaw]] as const) {
  for (const format of ['parquet', 'arrow'] as const) {
    const r = { ...raw, cache: { ...raw.cache, format } };
    let best = { pre: 0, run: 0, rows: 0 };
    await sessionRunRate(loaded(r)); // warm-up: dataset load, onnxruntime init
    for (let i = 0; i < reps; i++) {
      const run = await sessionRunRate(loaded(r));
      const pre = await precomputeRate(r);
      best = { pre: Math.max(best.pre, pre.rate), run: Math.max(best.run, run), rows: pre.rows };
    }
    throughput.push({ case: label, format, rows: best.rows, precomputeRowsPerSecond: best.pre, sessionRunRowsPerSecond: best.run, ratio: best.pre / best.run });
  }
}

/** Bytes of the dataset's own columns (inputs, labels, row) in one format, for reference. */
async function inputBytes(dataset: Dataset, format: 'parquet' | 'arrow', shardRows: number): Promise<number> {
  let bytes = 0;
  const { Table } = await import('apache-arrow');
  for await (const batch of dataset.batches({ batchSize: shardRows })) bytes += encodeShard(new Table([batch]), format).length;
  return bytes;
}

interface SizeRow { case: string; targets: string; format: string; bytesPerUnit: number; unit: string; fullFloat32BytesPerUnit: number }
const sizes: SizeRow[] = [];
const targetCases: [string, Record<string, unknown>][] = [
  ['full f32', { kind: 'full', dtype: 'float32' }],
  ['full f16', { kind: 'full', dtype: 'float16' }],
  ['topk k=8 f16', { kind: 'topk', k: 8, dtype: 'float16' }],
  ['topk k=32 f16', { kind: 'topk', k: 32, dtype: 'float16' }],
  ['topk k=64 f16', { kind: 'topk', k: 64, dtype: 'float16' }],
  ['sampled n=32', { kind: 'sampled', samples: 32 }],
];
const sizeLimit = { mnist: quick ? 1000 : 4000, seq: quick ? 64 : 256 };
const sizeCases: [label: string, raw: Raw, unit: string, perRow: number, vocab: number][] = [
  ['mnist (V=10)', { ...mnistRaw, dataset: { ...mnistRaw.dataset, limit: sizeLimit.mnist } }, 'sample', 1, 10],
  ['moby-dick (V=256, T=128)', { ...seqRaw, dataset: { ...seqRaw.dataset, limit: sizeLimit.seq } }, 'token', seqLen, 256],
];
for (const [label, raw, unit, perRow, vocab] of sizeCases) {
  for (const format of ['parquet', 'arrow'] as const) {
    const base = { ...raw, cache: { ...raw.cache, format } };
    const l = loaded(base);
    const dataset = await openDataset(datasetSpecOf(l));
    const units = dataset.numRows * perRow;
    sizes.push({ case: label, targets: 'inputs only', format, bytesPerUnit: (await inputBytes(dataset, format, raw.cache!.shard_rows as number)) / units, unit, fullFloat32BytesPerUnit: vocab * 4 });
    for (const [name, targets] of targetCases) {
      if (targets.kind === 'topk' && (targets.k as number) > vocab) continue;
      const s = await precompute(loaded({ ...base, targets }));
      sizes.push({ case: label, targets: name, format, bytesPerUnit: s.bytes / units, unit, fullFloat32BytesPerUnit: vocab * 4 });
      rmSync(s.cacheDir, { recursive: true, force: true });
    }
  }
}

const pad = (s: string | number, n: number): string => String(s).padStart(n);
console.log(`\nprecompute vs plain session.run (same batches, same head)${quick ? ' [quick]' : ''}`);
console.log(`${'case'.padEnd(44)} ${'format'.padEnd(8)} ${pad('rows', 6)} ${pad('precompute/s', 13)} ${pad('session.run/s', 14)} ${pad('ratio', 6)}`);
for (const t of throughput) {
  console.log(`${t.case.padEnd(44)} ${t.format.padEnd(8)} ${pad(t.rows, 6)} ${pad(t.precomputeRowsPerSecond.toFixed(0), 13)} ${pad(t.sessionRunRowsPerSecond.toFixed(0), 14)} ${pad(t.ratio.toFixed(2), 6)}`);
}
console.log('\ncache bytes per sample / token (whole shards: inputs, labels, row and targets)');
console.log(`${'case'.padEnd(26)} ${'targets'.padEnd(14)} ${pad('parquet', 10)} ${pad('arrow', 10)} ${pad('full f32 logits', 16)}`);
for (const s of sizes.filter((r) => r.format === 'parquet')) {
  const a = sizes.find((r) => r.format === 'arrow' && r.case === s.case && r.targets === s.targets)!;
  console.log(`${s.case.padEnd(26)} ${s.targets.padEnd(14)} ${pad(s.bytesPerUnit.toFixed(1), 10)} ${pad(a.bytesPerUnit.toFixed(1), 10)} ${pad(`${s.fullFloat32BytesPerUnit} B/${s.unit}`, 16)}`);
}
mkdirSync('bench', { recursive: true });
writeFileSync('bench/precompute.json', JSON.stringify({ quick, throughput, sizes, node: process.version, date: new Date().toISOString() }, null, 2) + '\n');
rmSync(root, { recursive: true, force: true });
console.log('\nwrote bench/precompute.json');
