import { mkdir, rmdir, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MANIFEST_FILE, readManifest, verifyCache, type ManifestDraft } from '../cache/index.js';
import { CacheError } from '../errors/index.js';
import { appendSoftTargetHead } from '../onnx/index.js';
import { createProgress } from '../progress/index.js';
import type { LoadedRecipe } from '../recipe/index.js';
import { recipeToYaml } from '../recipe/index.js';
import { Teacher, bindInputs, type InputBinding } from '../teacher/index.js';
import { VERSION } from '../version.js';
import { runShards } from './pipeline.js';
import { planPrecompute, type PrecomputePlan } from './plan.js';
import { ShardWriterThread } from './shard-writer.js';

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
  /** Receives one-line warnings (stale lock taken over, shards rewritten on resume); default: `warning:` lines on stderr. */
  onWarning?: (message: string) => void;
}

const RECIPE_FILE = 'recipe.yaml';

/** Runs the teacher over the dataset into the content-addressed cache, resuming a partial one. */
export async function precompute(loaded: LoadedRecipe, options: PrecomputeOptions = {}): Promise<PrecomputeSummary> {
  const started = performance.now();
  const plan = await planPrecompute(loaded);
  const { recipe } = loaded;
  // checked against the model file before anything is written; the session's inputs are the same plus the sampled head's
  const bindings = bindInputs(plan.signature.inputs, plan.dataset.schema, recipe.teacher.inputs, recipe.teacher.attention_mask);
  const createdDir = await makeCacheDir(plan.dir);
  const existing = await readManifest(plan.dir, { allowMissing: true });
  if (existing?.complete) {
    const report = await verifyCache(plan.dir);
    if (report.ok) return summary(plan, existing.shards, true, 0, started);
  }
  // the writer thread starts and checks the existing shards while onnxruntime loads the teacher
  const opening = ShardWriterThread.open(plan.dir, draftOf(loaded, plan), options.onWarning ?? ((m) => process.stderr.write(`warning: ${m}\n`)));
  const loading = loadTeacher(loaded, plan);
  // both are awaited below; neither may count as unhandled while the other is awaited first
  opening.catch(() => undefined);
  loading.catch(() => undefined);
  let writer: ShardWriterThread | undefined;
  let ok = false;
  try {
    writer = await opening;
    const teacher = await loading;
    await writeFile(join(plan.dir, RECIPE_FILE), recipeToYaml(recipe));
    const computed = await runTeacher(loaded, plan, teacher, bindings, writer, options);
    await writer.finish();
    ok = true;
    return summary(plan, writer.shards(), false, computed, started);
  } finally {
    await loading.then((t) => t.release(), () => undefined);
    if (writer) {
      // a run that failed before recording any shard of a new cache leaves no cache behind
      if (!ok && existing === undefined && writer.nextShardIndex() === 0) await removeEmptyCache(plan.dir);
      await writer.close();
    }
    if (!ok && createdDir) await removeCreatedDirs(plan.dir, createdDir);
  }
}

async function loadTeacher(loaded: LoadedRecipe, plan: PrecomputePlan): Promise<Teacher> {
  const t = loaded.recipe.teacher;
  const head = appendSoftTargetHead(plan.teacherBytes, {
    kind: plan.spec.kind, output: plan.logitsOutput, outputKind: t.output_kind,
    ...(plan.spec.k ? { k: plan.spec.k } : {}),
    ...(plan.spec.samples ? { samples: plan.spec.samples, temperature: plan.spec.sampleTemperature! } : {}),
  });
  return Teacher.create(head, t.path, { threads: t.threads, providers: t.providers });
}

async function runTeacher(
  loaded: LoadedRecipe, plan: PrecomputePlan, teacher: Teacher, bindings: InputBinding[], writer: ShardWriterThread, options: PrecomputeOptions,
): Promise<number> {
  const { recipe } = loaded;
  const total = plan.dataset.numRows;
  const shardRows = recipe.cache.shard_rows;
  const progress = options.progress ? createProgress({ total, unit: 'rows', label: 'precompute' }) : undefined;
  let done = Math.min(total, writer.nextShardIndex() * shardRows);
  progress?.update(done);
  const computed = await runShards({
    dataset: plan.dataset, teacher, bindings, spec: plan.spec, writer, shardRows,
    batchSize: recipe.teacher.batch_size, concurrency: recipe.cache.concurrency,
    onShard: (index, rows) => {
      done += rows;
      progress?.update(done);
      options.onShard?.(index);
    },
  });
  progress?.finish();
  return computed;
}

function draftOf(loaded: LoadedRecipe, plan: PrecomputePlan): ManifestDraft {
  const { recipe } = loaded;
  const { dataset } = plan;
  return {
    key: plan.key,
    teacher: { file: basename(plan.teacherPath), sha256: plan.teacherSha256, ...plan.signature, outputKind: recipe.teacher.output_kind },
    dataset: {
      name: dataset.name, fingerprint: dataset.fingerprint, split: dataset.split, rows: dataset.numRows,
      ...(dataset.labelColumn ? { labelColumn: dataset.labelColumn } : {}),
      inputColumns: dataset.schema.fields.map((f) => f.name).filter((n) => n !== 'row' && n !== dataset.labelColumn),
    },
    targets: plan.spec,
    shardFormat: recipe.cache.format,
    shardRows: recipe.cache.shard_rows,
    tool: { name: 'kennis', version: VERSION },
  };
}

/** Creates the cache directory; returns the first directory this call created, if any. */
async function makeCacheDir(dir: string): Promise<string | undefined> {
  try {
    return await mkdir(dir, { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CacheError(`cannot create cache directory '${dir}' (${err.code ?? err.message}); set cache.root or cache.dir to a writable directory`, { cause: e });
  }
}

/** Removes `dir` and its parents up to `first` while they are empty. */
async function removeCreatedDirs(dir: string, first: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    if (!(await rmdir(d).then(() => true, () => false)) || d === first || dirname(d) === d) return;
  }
}

async function removeEmptyCache(dir: string): Promise<void> {
  for (const name of [MANIFEST_FILE, RECIPE_FILE]) await unlink(join(dir, name)).catch(() => undefined);
}

function summary(plan: PrecomputePlan, shards: readonly { rows: number; bytes: number }[], hit: boolean, computed: number, started: number): PrecomputeSummary {
  const seconds = (performance.now() - started) / 1000;
  return {
    cacheDir: plan.dir, key: plan.key,
    rows: shards.reduce((n, s) => n + s.rows, 0), shards: shards.length, bytes: shards.reduce((n, s) => n + s.bytes, 0),
    hit, rowsPerSecond: hit ? 0 : computed / seconds, computedRows: computed, seconds,
  };
}
