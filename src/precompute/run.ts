import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Table, type RecordBatch, type Vector } from 'apache-arrow';
import pLimit from 'p-limit';
import { CacheWriter, readManifest, verifyCache } from '../cache/index.js';
import { appendSoftTargetHead } from '../onnx/index.js';
import { createProgress } from '../progress/index.js';
import type { LoadedRecipe } from '../recipe/index.js';
import { recipeToYaml } from '../recipe/index.js';
import { HEAD_OUTPUTS, targetColumns, type TargetSpec } from '../targets/index.js';
import { Teacher, bindInputs, buildFeeds, type PlainTensor } from '../teacher/index.js';
import { flatValues } from '../util/arrow.js';
import { Rng } from '../util/rng.js';
import { VERSION } from '../version.js';
import { planPrecompute, type PrecomputePlan } from './plan.js';

/** What a precompute run did; printed by `kennis precompute --json`. */
export interface PrecomputeSummary {
  /** Cache directory. */
  cacheDir: string;
  /** Content address of the cache. */
  key: string;
  /** Rows in the cache. */
  rows: number;
  /** Shard files in the cache. */
  shards: number;
  /** Bytes of all shards. */
  bytes: number;
  /** True when the cache was already complete and no teacher ran. */
  hit: boolean;
  /** Rows per second of this run (0 on a hit). */
  rowsPerSecond: number;
  /** Rows this run computed (fewer than rows when it resumed). */
  computedRows: number;
  /** Wall time of this run. */
  seconds: number;
}

/** Options of one precompute run. */
export interface PrecomputeOptions {
  /** Show progress on stderr. */
  progress?: boolean;
  /** Called after every shard is durably written (tests use it to crash at chosen points). */
  onShard?: (index: number) => void;
}

/** Runs the teacher over the dataset into the content-addressed cache, resuming a partial one. */
export async function precompute(loaded: LoadedRecipe, options: PrecomputeOptions = {}): Promise<PrecomputeSummary> {
  const started = performance.now();
  const plan = await planPrecompute(loaded);
  const existing = await readManifest(plan.dir, { allowMissing: true });
  if (existing?.complete) {
    const report = await verifyCache(plan.dir);
    if (report.ok) return summary(plan, existing.shards, true, 0, started);
  }
  const { recipe } = loaded;
  const writer = await CacheWriter.open(plan.dir, {
    key: plan.key,
    teacher: { file: basename(plan.teacherPath), sha256: plan.teacherSha256, ...plan.signature, outputKind: recipe.teacher.output_kind },
    dataset: {
      name: plan.dataset.name, fingerprint: plan.dataset.fingerprint, split: plan.dataset.split, rows: plan.dataset.numRows,
      ...(plan.dataset.labelColumn ? { labelColumn: plan.dataset.labelColumn } : {}),
      inputColumns: plan.dataset.schema.fields.map((f) => f.name).filter((n) => n !== 'row' && n !== plan.dataset.labelColumn),
    },
    targets: plan.spec,
    shardFormat: recipe.cache.format,
    shardRows: recipe.cache.shard_rows,
    tool: { name: 'kennis', version: VERSION },
  });
  let teacher: Teacher | undefined;
  try {
    writeFileSync(join(plan.dir, 'recipe.yaml'), recipeToYaml(recipe));
    const head = appendSoftTargetHead(plan.teacherBytes, {
      kind: plan.spec.kind, output: plan.logitsOutput, outputKind: recipe.teacher.output_kind,
      ...(plan.spec.k ? { k: plan.spec.k } : {}),
      ...(plan.spec.samples ? { samples: plan.spec.samples, temperature: plan.spec.sampleTemperature! } : {}),
    });
    teacher = await Teacher.create(head, recipe.teacher.path, { threads: recipe.teacher.threads, providers: recipe.teacher.providers });
    const computed = await runShards(plan, loaded, teacher, writer, options);
    await writer.finish();
    return summary(plan, writer.shards(), false, computed, started);
  } finally {
    await teacher?.release();
    await writer.close();
  }
}

async function runShards(plan: PrecomputePlan, loaded: LoadedRecipe, teacher: Teacher, writer: CacheWriter, options: PrecomputeOptions): Promise<number> {
  const { recipe } = loaded;
  const shardRows = recipe.cache.shard_rows;
  const total = plan.dataset.numRows;
  const firstShard = writer.nextShardIndex();
  const bindings = bindInputs(teacher.inputs.filter((i) => i.name !== 'uniforms'), plan.dataset.schema, recipe.teacher.inputs, recipe.teacher.attention_mask);
  const limit = pLimit(recipe.cache.concurrency);
  const progress = options.progress ? createProgress({ total, unit: 'rows', label: 'precompute' }) : undefined;
  let done = firstShard * shardRows;
  progress?.update(Math.min(done, total));
  let pendingWrite: Promise<void> = Promise.resolve();
  for (let shard = firstShard; shard * shardRows < total; shard++) {
    const start = shard * shardRows;
    const end = Math.min(start + shardRows, total);
    const parts: Promise<Record<string, Vector>>[] = [];
    for await (const batch of plan.dataset.batches({ batchSize: recipe.teacher.batch_size, start, end })) {
      // teacher runs overlap with reading the next batch and with post-processing earlier ones
      parts.push(limit(() => teacherBatch(teacher, batch, bindings, plan.spec)));
    }
    const columns = await Promise.all(parts);
    await pendingWrite;
    const table = concatColumns(columns);
    const index = shard;
    pendingWrite = writer.writeShard(index, table).then(() => {
      done += table.numRows;
      progress?.update(done);
      options.onShard?.(index);
    });
  }
  await pendingWrite;
  progress?.finish();
  return total - firstShard * shardRows;
}

async function teacherBatch(teacher: Teacher, batch: RecordBatch, bindings: ReturnType<typeof bindInputs>, spec: TargetSpec): Promise<Record<string, Vector>> {
  const rows = flatValues(batch.getChild('row')!) as Int32Array;
  const feeds: Record<string, PlainTensor> = buildFeeds(batch, bindings);
  if (spec.kind === 'sampled') feeds.uniforms = uniforms(rows, spec);
  const out = await teacher.run(feeds, HEAD_OUTPUTS[spec.kind]);
  const columns: Record<string, Vector> = {};
  for (const field of batch.schema.fields) columns[field.name] = batch.getChild(field.name)!;
  return { ...columns, ...targetColumns(spec, out, rows) };
}

/** Seeded per row, so a shard's draws do not depend on batch size, order or resumption. */
function uniforms(rows: Int32Array, spec: TargetSpec): PlainTensor {
  const positions = spec.seqLen ?? 1;
  const n = spec.samples!;
  const data = new Float32Array(rows.length * positions * n);
  for (let r = 0; r < rows.length; r++) {
    const rng = Rng.derive(spec.seed ?? 0, rows[r]!);
    for (let i = 0; i < positions * n; i++) data[r * positions * n + i] = rng.next();
  }
  return { type: 'float32', data, dims: spec.seqLen ? [rows.length, positions, n] : [rows.length, n] };
}

function concatColumns(parts: Record<string, Vector>[]): Table {
  const names = Object.keys(parts[0]!);
  const merged: Record<string, Vector> = {};
  for (const name of names) merged[name] = parts.slice(1).reduce((acc, p) => acc.concat(p[name]!), parts[0]![name]!);
  return new Table(merged);
}

function summary(plan: PrecomputePlan, shards: readonly { rows: number; bytes: number }[], hit: boolean, computed: number, started: number): PrecomputeSummary {
  const seconds = (performance.now() - started) / 1000;
  return {
    cacheDir: plan.dir, key: plan.key,
    rows: shards.reduce((n, s) => n + s.rows, 0), shards: shards.length, bytes: shards.reduce((n, s) => n + s.bytes, 0),
    hit, rowsPerSecond: hit ? 0 : computed / seconds, computedRows: computed, seconds,
  };
}
