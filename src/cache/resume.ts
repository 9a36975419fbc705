import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { CacheError } from '../errors/index.js';
import { isAtomicTempFile, isCode, sha256File } from '../util/fs.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, manifestSchema, type Manifest, type ShardEntry } from './manifest.js';
import { readManifest, writeManifest } from './manifest-io.js';
import { MANIFEST_FILE, parseShardFileName, shardFileName } from './paths.js';
import { sameSchema, schemaDiff } from './schema-check.js';

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

/** The manifest to continue from: the existing one (verified prefix) when its key matches. */
export async function resumeOrStart(dir: string, fresh: Manifest, warn: (m: string) => void, check: ResumeCheck): Promise<Manifest> {
  try {
    await stat(path.join(dir, MANIFEST_FILE));
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
    // the manifest is written before any shard, so shard-named files here are not ours: never delete them
    const foreign = (await readdir(dir)).filter((n) => parseShardFileName(n));
    if (foreign.length > 0) {
      throw new CacheError(`'${dir}' holds ${foreign.length} shard-named files (e.g. '${foreign[0]}') but no ${MANIFEST_FILE}, so it is not a kennis cache; use an empty or new cache dir`);
    }
    await writeManifest(dir, fresh);
    return fresh;
  }
  const old = await readManifest(dir);
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
  const kept: ShardEntry[] = [];
  for (const [i, entry] of old.shards.entries()) {
    const problem = await resumeProblem(dir, old, i, entry, check);
    if (problem) {
      warn(`cache '${dir}': shard ${i} '${entry.file}' ${problem}; rewriting shards ${i}..${old.shards.length - 1}`);
      break;
    }
    kept.push(entry);
  }
  const schema = old.schema.length > 0 ? old.schema : fresh.schema;
  if (kept.length === old.shards.length && schema === old.schema) return old;
  const resumed = { ...old, schema, complete: old.complete && kept.length === old.shards.length, shards: kept };
  await writeManifest(dir, resumed);
  return resumed;
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

/** Deletes crash leftovers: temp files and shard files the manifest does not record. */
export async function sweep(dir: string, m: Manifest, warn: (msg: string) => void): Promise<void> {
  const recorded = new Set(m.shards.map((s) => s.file));
  for (const name of await readdir(dir)) {
    const shard = parseShardFileName(name);
    if (isAtomicTempFile(name) || (shard && !recorded.has(name))) {
      if (shard) warn(`cache '${dir}': removing '${name}', which the manifest does not record (an interrupted write); it will be rewritten`);
      await unlink(path.join(dir, name)).catch((e: unknown) => { if (!isCode(e, 'ENOENT')) throw e; });
    }
  }
}
