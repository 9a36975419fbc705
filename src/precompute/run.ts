import { readdir, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MANIFEST_FILE, listWorkerManifests, parseShardFileName, recordCacheAddress, readManifest, removeStaleLock, verifyCache, workerManifestFile, type ManifestDraft, type WorkerId } from '../cache/index.js';
import { datasetUpTo, mergeIfComplete, precomputeRange, workerRun, type WorkerRun } from './distributed/index.js';
import { CacheError } from '../core/errors/index.js';
import { makeDir, writeFileAtomic } from '../core/util/fs.js';
import { appendSoftTargetHead } from './head/index.js';
import { createProgress } from '../core/progress/index.js';
import type { LoadedRecipe } from '../recipe/index.js';
import { cacheRequestOf, recipeToYaml } from '../recipe/index.js';
import { Teacher, bindInputs, type InputBinding } from '../core/runtime/index.js';
import { VERSION } from '../core/version.js';
import { runShards } from './pipeline.js';
import { planPrecompute, type PrecomputePlan } from './plan.js';
import { ShardWriterThread, encoderThreads } from './shard-writer.js';

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
  /** A worker's run: its shard range and whether the cache is merged (rows, shards and bytes above are its range's). */
  worker?: WorkerRun;
}

/** Options of one precompute run. */
export interface PrecomputeOptions {
  /** Show progress on stderr. */
  progress?: boolean;
  /** Called after every shard is durably written (tests use it to crash at chosen points). */
  onShard?: (index: number) => void;
  /** Receives one-line warnings (stale lock taken over, shards rewritten on resume); default: none. */
  onWarning?: (message: string) => void;
  /** Compute only this worker's contiguous range of shards, with its own manifest and lock; the last worker to finish merges. */
  worker?: WorkerId;
}

const RECIPE_FILE = 'recipe.yaml';

/** Runs the teacher over the dataset into the content-addressed cache, resuming a partial one. */
export async function precompute(loaded: LoadedRecipe, options: PrecomputeOptions = {}): Promise<PrecomputeSummary> {
  const started = performance.now();
  const plan = await planPrecompute(loaded);
  const { recipe } = loaded;
  // checked against the model file before anything is written; the session's inputs are the same plus the sampled head's
  const bindings = bindInputs(plan.signature.inputs, plan.dataset.schema, recipe.teacher.inputs, recipe.teacher.attention_mask);
  // a library stays quiet: the CLI passes a reporter that prints `warning:` lines
  const warn = options.onWarning ?? (() => undefined);
  const createdDir = await makeCacheDir(plan.dir);
  const request = cacheRequestOf(loaded);
  // stage 2 finds this cache through the address book, without the teacher or the dataset
  if (!request.explicitDir) await recordCacheAddress(request.root, request.request, plan.key);
  const existing = await readManifest(plan.dir, { allowMissing: true });
  if (existing && existing.key !== plan.key) {
    // only reachable with an explicit cache.dir: <root>/<key> dirs hold their own key
    throw new CacheError(`cache dir '${plan.dir}' holds another cache (key ${existing.key.slice(0, 12)}…, teacher '${existing.teacher.file}', ${existing.dataset.name}, ${existing.targets.kind} targets); this recipe's key is ${plan.key.slice(0, 12)}…; set cache.dir to another directory or delete '${plan.dir}'`);
  }
  if (existing?.complete) {
    const report = await verifyCache(plan.dir);
    if (report.ok) {
      await removeStaleLock(plan.dir, warn);
      return summary(plan, existing.shards, true, 0, started);
    }
  }
  // the writer thread starts and checks the existing shards while onnxruntime loads the teacher
  const cpuTeacher = recipe.teacher.providers.every((p) => p === 'cpu');
  const threads = encoderThreads(recipe.cache.encode_threads, recipe.teacher.threads, cpuTeacher);
  const opening = ShardWriterThread.open(plan.dir, draftOf(loaded, plan), warn, { threads, ...(options.worker ? { worker: options.worker } : {}) });
  const loading = loadTeacher(loaded, plan);
  // both are awaited below; neither may count as unhandled while the other is awaited first
  opening.catch(() => undefined);
  loading.catch(() => undefined);
  let writer: ShardWriterThread | undefined;
  let ok = false;
  try {
    writer = await opening;
    // recipe.yaml's write overlaps the teacher's loading
    const [teacher] = await Promise.all([loading, writeFileAtomic(join(plan.dir, RECIPE_FILE), recipeToYaml(recipe), { rerun: 'rerun precompute (it resumes)' })]);
    const computed = await runTeacher(loaded, plan, teacher, bindings, writer, options);
    await writer.finish();
    const merge = options.worker ? await mergeIfComplete(plan.dir, options.worker, options.onWarning ? { onWarning: options.onWarning } : {}) : undefined;
    ok = true;
    return { ...summary(plan, writer.shards(), false, computed, started), ...(merge ? { worker: workerRun(options.worker!, plan.dataset.numRows, recipe.cache.shard_rows, merge) } : {}) };
  } finally {
    await loading.then((t) => t.release(), () => undefined);
    if (writer) {
      // a run that failed before recording any shard of a new cache leaves no cache behind
      if (!ok && existing === undefined && writer.shards().length === 0) await removeEmptyCache(plan.dir, options.worker);
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
  // spinning onnxruntime threads would take the cores the writer thread encodes shards on
  return Teacher.create(head, t.path, { threads: t.threads, providers: t.providers, spin: false, memArena: plan.teacherCalls.memArena });
}

async function runTeacher(
  loaded: LoadedRecipe, plan: PrecomputePlan, teacher: Teacher, bindings: InputBinding[], writer: ShardWriterThread, options: PrecomputeOptions,
): Promise<number> {
  const { recipe } = loaded;
  const shardRows = recipe.cache.shard_rows;
  if (plan.teacherCalls.lowered) options.onWarning?.(plan.teacherCalls.lowered);
  // a worker computes (and counts) only the rows of its shard range
  const range = precomputeRange(plan.dataset.numRows, shardRows, options.worker);
  const total = range.endRow - range.firstRow;
  const progress = options.progress ? createProgress({ total, unit: 'rows', label: 'precompute' }) : undefined;
  let done = Math.min(range.endRow, writer.nextShardIndex() * shardRows) - range.firstRow;
  progress?.update(done);
  let computed: number;
  try {
    computed = await runShards({
      dataset: datasetUpTo(plan.dataset, range.endRow), teacher, bindings, spec: plan.spec, writer, shardRows,
      batchSize: plan.teacherCalls.batchRows, concurrency: plan.teacherCalls.concurrency, shardBytes: plan.shardBytes,
      onShard: (index, rows) => {
        done += rows;
        progress?.update(done);
        options.onShard?.(index);
      },
    });
  } catch (err) {
    // a bar drawn in place must end before the error line; plain progress lines need no final report
    if (process.stderr.isTTY) progress?.finish();
    throw err;
  }
  progress?.finish();
  return computed;
}

/** The manifest a run of `plan` starts from. */
export function draftOf(loaded: LoadedRecipe, plan: PrecomputePlan): ManifestDraft {
  const { recipe } = loaded;
  const { dataset } = plan;
  return {
    key: plan.key,
    teacher: { file: basename(plan.teacherPath), sha256: plan.teacherSha256, ...plan.signature, outputKind: recipe.teacher.output_kind },
    dataset: {
      name: dataset.name, fingerprint: dataset.fingerprint, split: dataset.split, rows: dataset.numRows,
      ...(dataset.labelColumn ? { labelColumn: dataset.labelColumn } : {}),
      ...(dataset.tokenizer ? { tokenizer: dataset.tokenizer } : {}),
      inputColumns: dataset.schema.fields.map((f) => f.name).filter((n) => n !== 'row' && n !== dataset.labelColumn),
      ...(Object.keys(plan.storedColumns).length > 0 ? { storedColumns: plan.storedColumns } : {}),
    },
    targets: plan.spec,
    shardFormat: recipe.cache.format,
    shardRows: recipe.cache.shard_rows,
    ...(Object.keys(plan.packedColumns).length > 0 ? { packedColumns: plan.packedColumns } : {}),
    tool: { name: 'kennis', version: VERSION },
  };
}

/** Creates the cache directory; returns the first directory this call created, if any. */
function makeCacheDir(dir: string): Promise<string | undefined> {
  return makeDir(dir, { action: 'creating cache directory', setting: 'cache.root or cache.dir' });
}

/** Removes `dir` and its parents up to `first` while they are empty. */
async function removeCreatedDirs(dir: string, first: string): Promise<void> {
  for (let d = dir; ; d = dirname(d)) {
    if (!(await rmdir(d).then(() => true, () => false)) || d === first || dirname(d) === d) return;
  }
}

async function removeEmptyCache(dir: string, worker?: WorkerId): Promise<void> {
  // a worker removes its own manifest, and recipe.yaml only when no other worker shares the directory
  // shard files of a new single-process cache that recorded none are unrecorded leftovers of this run
  const shards = worker ? [] : (await readdir(dir).catch(() => [] as string[])).filter((n) => parseShardFileName(n) !== undefined);
  const names = worker ? [workerManifestFile(worker), ...((await listWorkerManifests(dir)).length <= 1 ? [RECIPE_FILE] : [])] : [MANIFEST_FILE, RECIPE_FILE, ...shards];
  for (const name of names) await unlink(join(dir, name)).catch(() => undefined);
}

function summary(plan: PrecomputePlan, shards: readonly { rows: number; bytes: number }[], hit: boolean, computed: number, started: number): PrecomputeSummary {
  const seconds = (performance.now() - started) / 1000;
  return {
    cacheDir: plan.dir, key: plan.key,
    rows: shards.reduce((n, s) => n + s.rows, 0), shards: shards.length, bytes: shards.reduce((n, s) => n + s.bytes, 0),
    hit, rowsPerSecond: hit ? 0 : computed / seconds, computedRows: computed, seconds,
  };
}
