import { readdir } from 'node:fs/promises';
import { z } from 'zod';
import { isCode } from '../core/util/fs.js';
import { manifestSchema, type Manifest } from './manifest.js';
import { readManifestFile, type ReadManifestOptions } from './manifest-io.js';
import { parseWorkerManifestFile, workerManifestFile, type WorkerId } from './workers.js';

/**
 * A worker's manifest: the cache manifest of its shard range only. `shards` is a verified
 * prefix of [firstShard, endShard) and `complete` means the whole range is written; the merge
 * joins all workers' manifests into manifest.json.
 */
export const workerManifestSchema = manifestSchema.extend({
  worker: z.object({
    index: z.number().int().nonnegative(),
    count: z.number().int().positive(),
    /** First shard index of the worker's range. */
    firstShard: z.number().int().nonnegative(),
    /** One past its last shard index. */
    endShard: z.number().int().nonnegative(),
  }),
});

export type WorkerManifest = z.infer<typeof workerManifestSchema>;

/** Reads and validates worker w's manifest in `dir` (same checks as readManifest). */
export async function readWorkerManifest(dir: string, w: WorkerId, options?: { allowMissing?: false }): Promise<WorkerManifest>;
export async function readWorkerManifest(dir: string, w: WorkerId, options: ReadManifestOptions): Promise<WorkerManifest | undefined>;
export async function readWorkerManifest(dir: string, w: WorkerId, options: ReadManifestOptions = {}): Promise<WorkerManifest | undefined> {
  return readManifestFile(dir, workerManifestFile(w), workerManifestSchema, options);
}

/** The worker manifests present in `dir` (by file name), ordered by count then index. */
export async function listWorkerManifests(dir: string): Promise<{ file: string; worker: WorkerId }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return [];
    throw err;
  }
  return names
    .map((file) => ({ file, worker: parseWorkerManifestFile(file) }))
    .filter((f): f is { file: string; worker: WorkerId } => f.worker !== undefined)
    .sort((a, b) => a.worker.count - b.worker.count || a.worker.index - b.worker.index);
}

/** The manifest without its worker member: what a single-process run records for the same shards. */
export function withoutWorker(m: WorkerManifest | Manifest): Manifest {
  return manifestSchema.parse(m);
}
