import {
  canonicalJson, formatShardRange, formatWorker, inspectLock, listWorkerManifests, parseShardFileName, readWorkerManifest,
  shardCountOf, workerLockFile, workerManifestFile, workerShardRange, type LockInfo, type WorkerId, type WorkerManifest,
} from '../../cache/index.js';
import { CacheError } from '../../core/errors/index.js';

/** What one worker of a distributed cache has done, as its manifest and lock show. */
export interface WorkerStatus {
  /** The worker. */
  worker: WorkerId;
  /** Its manifest's file name. */
  file: string;
  /** Its shard range [firstShard, endShard). */
  firstShard: number;
  endShard: number;
  /** Its manifest, when present and readable. */
  manifest?: WorkerManifest;
  /** Shards of its range not recorded yet, as [first, end). */
  missing: { first: number; end: number };
  /** The holder of its lock while it may still be running. */
  running?: LockInfo;
  /** What is wrong with its manifest, with the fix (the worker must be rerun). */
  problem?: string;
}

/** The workers of a distributed cache: their count, rows and per-worker status. */
export interface DistributedStatus {
  /** Number of workers. */
  count: number;
  /** The manifest every other one is compared with (the lowest readable index). */
  reference: WorkerManifest;
  /** One entry per worker index 0..count-1. */
  workers: WorkerStatus[];
}

/** The members of a worker manifest that must be equal across workers: what was computed and how it is stored. */
function header(m: WorkerManifest): string {
  const { key, teacher, dataset, targets, shardFormat, shardRows, tool, format, version } = m;
  return canonicalJson({ key, teacher, dataset, targets, shardFormat, shardRows, tool, format, version });
}

/**
 * Reads every worker manifest of `dir`. Refuses a directory without worker manifests, or with
 * manifests of runs with different worker counts (their ranges overlap: duplicated shards).
 */
export async function distributedStatus(dir: string): Promise<DistributedStatus> {
  const files = await listWorkerManifests(dir);
  if (files.length === 0) throw new CacheError(`'${dir}' holds no worker manifests (manifest.worker-i-of-n.json); run \`kennis precompute <recipe> --worker i/n\` for every worker first`);
  const counts = [...new Set(files.map((f) => f.worker.count))];
  if (counts.length > 1) {
    const examples = counts.map((n) => files.find((f) => f.worker.count === n)!.file).join(', ');
    throw new CacheError(`cache '${dir}' holds manifests of runs with ${counts.join(' and ')} workers (${examples}), whose shard ranges overlap (duplicated shards); delete the manifest.worker-*-of-n.json files of the run you abandoned`);
  }
  const count = counts[0]!;
  const manifests: (WorkerManifest | Error | undefined)[] = [];
  for (let index = 0; index < count; index++) {
    manifests.push(await readWorkerManifest(dir, { index, count }, { allowMissing: true }).catch((e: unknown) => {
      if (e instanceof CacheError) return e;
      throw e;
    }));
  }
  const reference = manifests.find((m): m is WorkerManifest => m !== undefined && !(m instanceof Error));
  if (!reference) {
    const bad = manifests.find((m) => m instanceof Error) as Error;
    throw new CacheError(`no worker manifest of '${dir}' is readable (${bad.message})`);
  }
  const shards = shardCountOf(reference.dataset.rows, reference.shardRows);
  const workers: WorkerStatus[] = [];
  for (let index = 0; index < count; index++) {
    const worker = { index, count };
    const { first, end } = workerShardRange(worker, shards);
    const file = workerManifestFile(worker);
    const m = manifests[index];
    const status: WorkerStatus = { worker, file, firstShard: first, endShard: end, missing: { first, end } };
    const redo = `delete '${file}' and rerun worker ${formatWorker(worker)}`;
    if (m instanceof Error) {
      status.problem = `its manifest is unreadable (${m.message}); ${redo}`;
    } else if (m) {
      status.manifest = m;
      status.problem = rangeProblem(m, reference, first, end);
      if (status.problem) status.problem += `; ${redo}`;
      else status.missing = { first: first + m.shards.length, end };
    }
    if (status.missing.end > status.missing.first) {
      const lock = await inspectLock(dir, { file: workerLockFile(worker) });
      if (lock?.holder && !lock.stale) status.running = lock.holder;
    }
    workers.push(status);
  }
  return { count, reference, workers };
}

/** Why worker manifest m does not hold a prefix of its range [first, end) of the reference's cache. */
function rangeProblem(m: WorkerManifest, reference: WorkerManifest, first: number, end: number): string | undefined {
  const who = `worker ${formatWorker(m.worker)}`;
  if (header(m) !== header(reference)) {
    return `${who} ran another recipe or kennis version than worker ${formatWorker(reference.worker)} (cache key ${m.key.slice(0, 12)}…, expected ${reference.key.slice(0, 12)}…)`;
  }
  if (m.worker.firstShard !== first || m.worker.endShard !== end) {
    return `${who}'s manifest records its range as ${formatShardRange(m.worker.firstShard, m.worker.endShard)}, expected ${formatShardRange(first, end)}`;
  }
  for (const [i, entry] of m.shards.entries()) {
    const index = parseShardFileName(entry.file)?.index;
    if (index !== first + i) {
      const owned = index !== undefined && (index < first || index >= end) ? `, which is outside its ${formatShardRange(first, end)} (duplicated range)` : '';
      return `${who}'s manifest lists '${entry.file}' as its shard ${first + i}${owned}`;
    }
    if (entry.firstRow !== index * m.shardRows) return `${who}'s manifest says '${entry.file}' starts at row ${entry.firstRow}, expected ${index * m.shardRows}`;
  }
  if (m.complete && m.shards.length !== end - first) return `${who}'s manifest is marked complete with ${m.shards.length} of ${end - first} shards`;
  return undefined;
}

/** One line per worker that still has work: what to rerun and why. Empty when every range is complete. */
export function pendingWork(status: DistributedStatus): string[] {
  const lines: string[] = [];
  for (const w of status.workers) {
    const name = `worker ${formatWorker(w.worker)}`;
    const missing = `${formatShardRange(w.missing.first, w.missing.end)} missing`;
    if (w.problem) lines.push(`${name}: ${w.problem}`);
    else if (w.missing.end <= w.missing.first) continue;
    else if (w.running) lines.push(`${name} is still running (pid ${w.running.pid} on host ${w.running.hostname}): ${missing}`);
    else lines.push(`rerun ${name}: ${missing}`);
  }
  return lines;
}
