import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { CacheError } from '../core/errors/index.js';
import { fileKind, isCode, writeFileAtomic } from '../core/util/fs.js';
import type { FileContext } from '../core/errors/index.js';
import { manifestSchema, type Manifest } from './manifest.js';
import { MANIFEST_FILE, resolveShardPath, symlinkOutside } from './paths.js';
import { parseWorkerManifestFile } from './workers.js';

/** Options of readManifest. */
export interface ReadManifestOptions {
  /** Resolve to undefined instead of throwing when there is no manifest.json (no cache yet). */
  allowMissing?: boolean;
}

/**
 * Reads and validates `dir/manifest.json`. The manifest is untrusted input: besides the zod
 * schema, every shard file must be a plain name that stays inside `dir` (no absolute paths,
 * separators, `..`, or symlinks leading out). Errors are one-line CacheErrors.
 */
export async function readManifest(dir: string, options?: { allowMissing?: false }): Promise<Manifest>;
export async function readManifest(dir: string, options: ReadManifestOptions): Promise<Manifest | undefined>;
export async function readManifest(dir: string, options: ReadManifestOptions = {}): Promise<Manifest | undefined> {
  return readManifestFile(dir, MANIFEST_FILE, manifestSchema, options);
}

/** readManifest for any manifest-shaped file of a cache directory (e.g. a worker's), validated by `schema`. */
export async function readManifestFile<T extends Manifest>(dir: string, name: string, schema: z.ZodType<T>, options: ReadManifestOptions = {}): Promise<T | undefined> {
  const file = path.join(dir, name);
  // untrusted like the shards: a manifest that leads out of the cache, or is no file, is not this cache's
  const outside = await symlinkOutside(dir, file).catch(() => undefined);
  if (outside) throw new CacheError(`'${file}' is a symlink to '${outside}' outside the cache directory '${dir}'; replace it with the manifest file itself, or delete '${dir}' and re-run precompute`);
  const st = await stat(file).catch(() => undefined);
  if (st && !st.isFile()) throw new CacheError(`'${file}' is ${fileKind(st)}, not a regular file; delete it and re-run precompute`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT') && options.allowMissing) return undefined;
    if (isCode(err, 'ENOENT')) throw new CacheError(name === MANIFEST_FILE ? await missingManifestMessage(dir) : `'${file}' is missing`);
    throw new CacheError(`cannot read '${file}': ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CacheError(`'${file}' is not valid JSON (${(err as Error).message}); delete '${dir}' and re-run precompute`, { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw new CacheError(`'${file}' does not fit the kennis manifest schema at ${at}: ${issue.message}; delete '${dir}' and re-run precompute`);
  }
  const manifest = parsed.data;
  const seen = new Set<string>();
  for (const [i, entry] of manifest.shards.entries()) {
    const where = `'${file}' shards[${i}]`;
    await resolveShardPath(dir, entry.file, where);
    if (seen.has(entry.file)) throw new CacheError(`${where} file '${entry.file}' is listed twice; delete '${dir}' and re-run precompute`);
    seen.add(entry.file);
  }
  return manifest;
}

/** Why there is no manifest.json: no cache at all, or a distributed cache not merged yet. */
async function missingManifestMessage(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const workers = names.map(parseWorkerManifestFile).filter((w) => w !== undefined);
  if (workers.length > 0) {
    return `cache '${dir}' is not merged: it holds ${workers.length} worker manifests (${MANIFEST_FILE} is written by the merge); run \`kennis cache merge ${dir}\`, which names any worker still to rerun`;
  }
  return `no cache at '${dir}': ${MANIFEST_FILE} is missing; run \`kennis precompute\` to create it`;
}

/** The manifest's file content: pretty JSON with a trailing newline (stable for equal manifests). */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Atomically replaces `dir/manifest.json` (or `dir/<name>`, e.g. a worker's manifest). */
export async function writeManifest(dir: string, manifest: Manifest, name: string = MANIFEST_FILE, context: FileContext = {}): Promise<void> {
  await writeFileAtomic(path.join(dir, name), serializeManifest(manifest), context);
}
