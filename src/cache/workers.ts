import { CacheError } from '../core/errors/index.js';
import { LOCK_FILE, MANIFEST_FILE } from './paths.js';

/** One of `count` workers that write disjoint shard ranges of one cache (0-based index). */
export interface WorkerId {
  /** This worker's index, 0 <= index < count. */
  index: number;
  /** How many workers share the cache. */
  count: number;
}

/** The files and shards one writer of a cache directory owns. */
export interface WriterLayout {
  /** The manifest it records its shards in. */
  manifestFile: string;
  /** Its lock file. */
  lockFile: string;
  /** First shard index it writes. */
  firstShard: number;
  /** One past the last shard index it writes. */
  endShard: number;
  /** The worker, for a distributed run; undefined for a single-process run (all shards, manifest.json). */
  worker?: WorkerId;
}

const WORKER_MANIFEST = /^manifest\.worker-(\d+)-of-(\d+)\.json$/;

/** `3/4`: how workers are named to users (index/count, as the --worker flag takes them). */
export function formatWorker(w: WorkerId): string {
  return `${w.index}/${w.count}`;
}

/** Most workers one cache may be split between (each worker's range is checked and merged one by one). */
export const MAX_WORKERS = 4096;

/** Checks that index and count describe a worker; `what` names where they came from. */
export function checkWorker(w: WorkerId, what: string): WorkerId {
  if (!Number.isInteger(w.count) || w.count < 1 || w.count > MAX_WORKERS) throw new CacheError(`${what}: expected a worker count in 1..${MAX_WORKERS}, got ${w.count}`);
  if (!Number.isInteger(w.index) || w.index < 0 || w.index >= w.count) {
    throw new CacheError(`${what}: expected a worker index in 0..${w.count - 1} for ${w.count} workers, got ${w.index}`);
  }
  return w;
}

/**
 * The contiguous shard range [first, end) worker `w` owns out of `shardCount` shards: the
 * balanced split floor(i*S/n) .. floor((i+1)*S/n), so ranges are disjoint, cover every shard,
 * and differ in size by at most one (a worker may own none when there are more workers than shards).
 */
export function workerShardRange(w: WorkerId, shardCount: number): { first: number; end: number } {
  return { first: Math.floor((w.index * shardCount) / w.count), end: Math.floor(((w.index + 1) * shardCount) / w.count) };
}

/** Number of shards of a cache of `rows` rows in shards of `shardRows`. */
export function shardCountOf(rows: number, shardRows: number): number {
  return Math.ceil(rows / shardRows);
}

/** File name of worker w's manifest: manifest.worker-3-of-4.json. */
export function workerManifestFile(w: WorkerId): string {
  return `manifest.worker-${w.index}-of-${w.count}.json`;
}

/** The worker a manifest file name belongs to, or undefined for any other name. */
export function parseWorkerManifestFile(name: string): WorkerId | undefined {
  const m = WORKER_MANIFEST.exec(name);
  if (!m) return undefined;
  const w = { index: Number(m[1]), count: Number(m[2]) };
  return w.count >= 1 && w.index < w.count ? w : undefined;
}

/** File name of worker w's lock: .lock.worker-3-of-4 (so workers never contend for one lock). */
export function workerLockFile(w: WorkerId): string {
  return `${LOCK_FILE}.worker-${w.index}-of-${w.count}`;
}

/** What a writer of `rows` rows in shards of `shardRows` owns: everything, or worker w's range. */
export function writerLayout(rows: number, shardRows: number, worker?: WorkerId): WriterLayout {
  const shards = shardCountOf(rows, shardRows);
  if (!worker) return { manifestFile: MANIFEST_FILE, lockFile: LOCK_FILE, firstShard: 0, endShard: shards };
  const { first, end } = workerShardRange(checkWorker(worker, 'worker'), shards);
  return { manifestFile: workerManifestFile(worker), lockFile: workerLockFile(worker), firstShard: first, endShard: end, worker };
}

/** `shard 5`, `shards 12-15`, or `no shards` for an empty range [first, end). */
export function formatShardRange(first: number, end: number): string {
  if (end <= first) return 'no shards';
  return end - first === 1 ? `shard ${first}` : `shards ${first}-${end - 1}`;
}
