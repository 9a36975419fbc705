import { stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  acquireLock, formatWorker, inspectShard, listWorkerManifests, manifestSchema, readManifest, verifyCache, withoutWorker,
  writeManifest, MANIFEST_FILE, type Manifest, type ShardEntry, type WorkerId,
} from '../../cache/index.js';
import { CacheError } from '../../core/errors/index.js';
import { isCode } from '../../core/util/fs.js';
import { distributedStatus, pendingWork, type DistributedStatus } from './status.js';

/** What `kennis cache merge` did. */
export interface MergeSummary {
  /** The cache directory. */
  cacheDir: string;
  /** Cache key. */
  key: string;
  /** Workers whose ranges were joined (0 when the cache was already merged). */
  workers: number;
  /** Shards in manifest.json. */
  shards: number;
  /** Rows in manifest.json. */
  rows: number;
  /** Bytes of all shards. */
  bytes: number;
  /** True when manifest.json was already complete (and verified); nothing was written. */
  alreadyMerged: boolean;
  /** Wall time. */
  seconds: number;
}

/** Options of mergeCache. */
export interface MergeOptions {
  /** Receives one-line warnings (a stale merge lock taken over); default: ignored. */
  onWarning?: (message: string) => void;
}

/**
 * Joins the worker manifests of a distributed cache into manifest.json: checks that every
 * worker's shard range is present exactly once and complete, verifies each shard's size, sha256,
 * rows, schema and row range, then writes manifest.json (equal to a single-process run's but for
 * createdAt, the earliest worker's) and removes the worker manifests. Holds the cache's main lock
 * meanwhile, so concurrent merges (two workers finishing together) do not race. A missing or bad
 * range is a CacheError that names each worker to rerun, e.g. `rerun worker 3/4: shards 12-15 missing`.
 */
export async function mergeCache(dir: string, options: MergeOptions = {}): Promise<MergeSummary> {
  const started = performance.now();
  const isDir = await stat(dir).then((st) => st.isDirectory(), (e: unknown) => { if (isCode(e, 'ENOENT', 'ENOTDIR')) return false; throw e; });
  if (!isDir) throw new CacheError(`no cache directory '${dir}'; pass the directory \`kennis precompute --worker\` wrote (cacheDir in its --json summary)`);
  const lock = await acquireLock(dir, options.onWarning ?? (() => undefined));
  try {
    const existing = await readManifest(dir, { allowMissing: true });
    if (existing) return await alreadyMerged(dir, existing, started);
    const status = await distributedStatus(dir);
    const pending = pendingWork(status);
    if (pending.length > 0) throw new CacheError(`cannot merge cache '${dir}': ${pending.join('; ')}; then run \`kennis cache merge ${dir}\` again`);
    const merged = mergedManifest(status);
    await checkShards(dir, merged, status);
    await writeManifest(dir, merged);
    await removeWorkerManifests(dir);
    return summary(dir, merged, status.count, false, started);
  } finally {
    await lock.release();
  }
}

/** What mergeIfComplete did: merged, or why not (other workers still have work, or another process is merging). */
export interface AutoMerge {
  /** True when this call (or an earlier merge) left a complete manifest.json. */
  merged: boolean;
  /** Why the cache was not merged, one line. */
  reason?: string;
}

/**
 * The automatic merge a worker runs after finishing its range: merges when every worker's
 * range is complete, otherwise reports what is pending. Problems of other workers (bad shards,
 * another merge holding the lock) are reported, not thrown: this worker's own work is done.
 */
export async function mergeIfComplete(dir: string, worker: WorkerId, options: MergeOptions = {}): Promise<AutoMerge> {
  let status: DistributedStatus;
  try {
    if (await readManifest(dir, { allowMissing: true })) return { merged: true };
    status = await distributedStatus(dir);
  } catch (e) {
    if (e instanceof CacheError) return { merged: false, reason: e.message };
    throw e;
  }
  const pending = status.workers.filter((w) => w.problem || w.missing.end > w.missing.first);
  if (pending.length > 0) {
    return { merged: false, reason: `worker ${formatWorker(worker)} is done; waiting for ${pending.map((w) => formatWorker(w.worker)).join(', ')} (then the last one to finish merges, or run \`kennis cache merge ${dir}\`)` };
  }
  try {
    await mergeCache(dir, options);
    return { merged: true };
  } catch (e) {
    if (e instanceof CacheError) return { merged: false, reason: e.message };
    throw e;
  }
}

async function alreadyMerged(dir: string, existing: Manifest, started: number): Promise<MergeSummary> {
  if (!existing.complete) {
    throw new CacheError(`cache '${dir}' has an incomplete ${MANIFEST_FILE}, so it is being written by a single process, not by workers; finish it with \`kennis precompute\` (no merge needed)`);
  }
  const report = await verifyCache(dir);
  if (!report.ok) throw new CacheError(`cache '${dir}' is merged but ${report.message.replace(`cache '${dir}' `, '')}`);
  await removeWorkerManifests(dir);
  return summary(dir, existing, 0, true, started);
}

/** manifest.json from the workers' manifests: the shared header, every range's shards in order, complete. */
function mergedManifest(status: DistributedStatus): Manifest {
  const manifests = status.workers.flatMap((w) => (w.manifest ? [w.manifest] : []));
  const shards: ShardEntry[] = manifests.flatMap((m) => m.shards);
  const schema = manifests.find((m) => m.schema.length > 0)?.schema ?? [];
  const createdAt = manifests.map((m) => m.createdAt).sort((a, b) => Date.parse(a) - Date.parse(b))[0]!;
  return manifestSchema.parse({ ...withoutWorker(status.reference), createdAt, schema, shards, complete: true });
}

/** Verifies every shard against the merged manifest; a bad one names the worker that rewrites it. */
async function checkShards(dir: string, merged: Manifest, status: DistributedStatus): Promise<void> {
  const problems: string[] = [];
  for (const w of status.workers) {
    for (let index = w.firstShard; index < w.endShard; index++) {
      const entry = merged.shards[index]!;
      const result = await inspectShard(dir, merged, index, true);
      if (result.problem !== undefined) problems.push(`shard '${entry.file}' ${result.problem}: rerun worker ${formatWorker(w.worker)} to rewrite it`);
    }
  }
  const rows = merged.shards.reduce((n, s) => n + s.rows, 0);
  if (rows !== merged.dataset.rows) problems.push(`the workers' shards hold ${rows} rows, expected ${merged.dataset.rows}`);
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
    throw new CacheError(`cannot merge cache '${dir}': ${problems.slice(0, 3).join('; ')}${more}`);
  }
}

/** Worker manifests are redundant once manifest.json is complete. */
async function removeWorkerManifests(dir: string): Promise<void> {
  for (const { file } of await listWorkerManifests(dir)) {
    await unlink(path.join(dir, file)).catch((e: unknown) => { if (!isCode(e, 'ENOENT')) throw e; });
  }
}

function summary(dir: string, m: Manifest, workers: number, already: boolean, started: number): MergeSummary {
  return {
    cacheDir: dir, key: m.key, workers, shards: m.shards.length, rows: m.shards.reduce((n, s) => n + s.rows, 0),
    bytes: m.shards.reduce((n, s) => n + s.bytes, 0), alreadyMerged: already, seconds: (performance.now() - started) / 1000,
  };
}
