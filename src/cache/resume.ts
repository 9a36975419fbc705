import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { CacheError } from '../core/errors/index.js';
import { atomicTempTarget, isCode, sha256File } from '../core/util/fs.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, manifestSchema, type Manifest, type ShardEntry } from './manifest.js';
import { readManifest, writeManifest } from './manifest-io.js';
import { MANIFEST_FILE, parseShardFileName, shardFileName } from './paths.js';
import { sameSchema, schemaDiff } from './schema-check.js';
import { listWorkerManifests, readWorkerManifest, type WorkerManifest } from './worker-manifest.js';
import { formatShardRange, formatWorker, type WriterLayout } from './workers.js';

/**
 * A manifest before any shard exists. `schema` may be left for the first shard to define;
 * `format` and `version` default to the current ones and `createdAt` to now.
 */
export type ManifestDraft = Omit<Manifest, 'shards' | 'complete' | 'schema' | 'format' | 'version' | 'createdAt'>
  & Partial<Pick<Manifest, 'schema' | 'format' | 'version' | 'createdAt'>>;

/** How recorded shards are checked before a resume. */
export type ResumeCheck = 'sha256' | 'size';

/** The draft as a valid empty manifest. */
export function checkDraft(draft: ManifestDraft): Manifest {
  const parsed = manifestSchema.safeParse({
    format: MANIFEST_FORMAT, version: MANIFEST_VERSION, createdAt: new Date().toISOString(),
    // explicit undefined members of the draft must not override the defaults
    ...Object.fromEntries(Object.entries(draft).filter(([, v]) => v !== undefined)),
    schema: draft.schema ?? [], complete: false, shards: [],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CacheError(`manifest draft does not fit the kennis manifest schema at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The manifest to continue from: the existing one of this layout (verified prefix of its shard
 * range) when its key matches, else `fresh`, written as the layout's manifest before any shard.
 */
export async function resumeOrStart(dir: string, fresh: Manifest, warn: (m: string) => void, check: ResumeCheck, layout: WriterLayout): Promise<Manifest> {
  await checkNoOtherLayout(dir, layout);
  const start: Manifest = layout.worker ? { ...fresh, worker: { ...layout.worker, firstShard: layout.firstShard, endShard: layout.endShard } } as Manifest : fresh;
  try {
    await stat(path.join(dir, layout.manifestFile));
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
    // the manifest is written before any shard, so shard-named files here are not ours: never delete them
    const foreign = (await readdir(dir)).filter((n) => ownsShard(layout, n));
    if (foreign.length > 0) {
      const whose = layout.worker ? `so they are not worker ${formatWorker(layout.worker)}'s (${formatShardRange(layout.firstShard, layout.endShard)})` : 'so it is not a kennis cache';
      throw new CacheError(`'${dir}' holds ${foreign.length} shard-named files (e.g. '${foreign[0]}') but no ${layout.manifestFile}, ${whose}; use an empty or new cache dir`);
    }
    await writeManifest(dir, start, layout.manifestFile);
    return start;
  }
  const old = layout.worker ? await readWorkerManifest(dir, layout.worker) : await readManifest(dir);
  for (const key of ['key', 'shardFormat', 'shardRows'] as const) {
    if (old[key] !== fresh[key]) {
      throw new CacheError(`cache '${dir}' was written with ${key} ${String(old[key])}, this run has ${String(fresh[key])}; use another cache dir or delete '${dir}'`);
    }
  }
  if (old.dataset.rows !== fresh.dataset.rows) {
    throw new CacheError(`cache '${dir}' was written for ${old.dataset.rows} rows, this run has ${fresh.dataset.rows}; use another cache dir or delete '${dir}'`);
  }
  if (fresh.schema.length > 0 && old.schema.length > 0 && !sameSchema(old.schema, fresh.schema)) {
    throw new CacheError(`cache '${dir}': ${schemaDiff(old.schema, fresh.schema)}; use another cache dir or delete '${dir}'`);
  }
  const range = 'worker' in old ? (old as WorkerManifest).worker : undefined;
  if (range && (range.firstShard !== layout.firstShard || range.endShard !== layout.endShard)) {
    throw new CacheError(`'${path.join(dir, layout.manifestFile)}' records ${formatShardRange(range.firstShard, range.endShard)}, expected ${formatShardRange(layout.firstShard, layout.endShard)}; delete that file to rewrite worker ${formatWorker(layout.worker!)}`);
  }
  const kept: ShardEntry[] = [];
  for (const [i, entry] of old.shards.entries()) {
    const problem = await resumeProblem(dir, old, layout.firstShard + i, entry, check);
    if (problem) {
      warn(`cache '${dir}': shard ${layout.firstShard + i} '${entry.file}' ${problem}; rewriting shards ${layout.firstShard + i}..${layout.firstShard + old.shards.length - 1}`);
      break;
    }
    kept.push(entry);
  }
  const schema = old.schema.length > 0 ? old.schema : fresh.schema;
  if (kept.length === old.shards.length && schema === old.schema) return old;
  const resumed = { ...old, schema, complete: old.complete && kept.length === old.shards.length, shards: kept };
  await writeManifest(dir, resumed, layout.manifestFile);
  return resumed;
}

/**
 * A cache directory is written either by one process (manifest.json) or by workers of one
 * count (manifest.worker-i-of-n.json until the merge writes manifest.json), never both at once.
 */
async function checkNoOtherLayout(dir: string, layout: WriterLayout): Promise<void> {
  const workers = await listWorkerManifests(dir);
  const merged = await stat(path.join(dir, MANIFEST_FILE)).then(() => true, (e: unknown) => { if (isCode(e, 'ENOENT')) return false; throw e; });
  if (!layout.worker) {
    // after a merge, worker manifests left behind are leftovers; before it they own the shards
    if (!merged && workers.length > 0) {
      const n = workers[0]!.worker.count;
      throw new CacheError(`cache '${dir}' is being written by ${n} workers (${workers[0]!.file}, ...) and is not merged; run the missing workers with --worker i/${n} and \`kennis cache merge ${dir}\`, or delete '${dir}' to start over`);
    }
    return;
  }
  const w = layout.worker;
  if (merged) {
    throw new CacheError(`cache '${dir}' already has a ${MANIFEST_FILE} (merged, or written by a single process), so worker ${formatWorker(w)} has nothing to write; check it with \`kennis cache verify ${dir}\`, repair it with \`kennis precompute\` without --worker`);
  }
  const other = workers.find((f) => f.worker.count !== w.count);
  if (other) {
    throw new CacheError(`cache '${dir}' holds manifests of a run with ${other.worker.count} workers (${other.file}); rerun with --worker i/${other.worker.count}, or delete its manifest.worker-*-of-${other.worker.count}.json files and shards to start over with ${w.count}`);
  }
}

/** Whether `name` is a shard file of the layout's range (a single-process run owns every shard-named file). */
function ownsShard(layout: WriterLayout, name: string): boolean {
  const shard = parseShardFileName(name);
  return shard !== undefined && (!layout.worker || (shard.index >= layout.firstShard && shard.index < layout.endShard));
}

/** Why a recorded shard cannot be kept on resume, or undefined when it can. */
async function resumeProblem(dir: string, m: Manifest, i: number, entry: ShardEntry, check: ResumeCheck): Promise<string | undefined> {
  if (entry.file !== shardFileName(i, m.shardFormat)) return `is not named ${shardFileName(i, m.shardFormat)}`;
  if (entry.firstRow !== i * m.shardRows) return `starts at row ${entry.firstRow}, expected ${i * m.shardRows}`;
  const expectedRows = Math.min(m.shardRows, m.dataset.rows - entry.firstRow);
  if (entry.rows !== expectedRows) return `holds ${entry.rows} rows, expected ${expectedRows}`;
  const full = path.join(dir, entry.file);
  let size: number;
  try {
    size = (await stat(full)).size;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return 'is missing';
    throw err;
  }
  if (size !== entry.bytes) return `has ${size} bytes, expected ${entry.bytes}`;
  if (check === 'sha256' && (await sha256File(full)) !== entry.sha256) return 'does not match its sha256';
  return undefined;
}

/**
 * Deletes crash leftovers of this layout: temp files and shard files of its range that its
 * manifest does not record. Other workers' shards and temp files in a shared directory are left alone.
 */
export async function sweep(dir: string, m: Manifest, warn: (msg: string) => void, layout: WriterLayout): Promise<void> {
  const recorded = new Set(m.shards.map((s) => s.file));
  for (const name of await readdir(dir)) {
    const target = atomicTempTarget(name);
    const mine = target !== undefined && (!layout.worker || target === layout.manifestFile || ownsShard(layout, target));
    const orphan = ownsShard(layout, name) && !recorded.has(name);
    if (mine || orphan) {
      if (orphan) warn(`cache '${dir}': removing '${name}', which the manifest does not record (an interrupted write); it will be rewritten`);
      await unlink(path.join(dir, name)).catch((e: unknown) => { if (!isCode(e, 'ENOENT')) throw e; });
    }
  }
}
