import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { CacheError } from '../core/errors/index.js';
import { isCode } from '../core/util/fs.js';
import type { ShardFormat } from './shard-io.js';

/** Name of the manifest inside a cache directory. */
export const MANIFEST_FILE = 'manifest.json';

/** Name of the writer's lock file inside a cache directory. */
export const LOCK_FILE = '.lock';

const SHARD_FILE = /^part-(\d{5,})\.(parquet|arrow)$/;

/** File name of shard `index`: part-00000.parquet, part-00001.arrow, ... */
export function shardFileName(index: number, format: ShardFormat): string {
  return `part-${String(index).padStart(5, '0')}.${format}`;
}

/** Index and format of a shard file name written by kennis, or undefined for any other name. */
export function parseShardFileName(name: string): { index: number; format: ShardFormat } | undefined {
  const m = SHARD_FILE.exec(name);
  return m ? { index: Number(m[1]), format: m[2] as ShardFormat } : undefined;
}

/**
 * Rejects a shard file name from an untrusted manifest that could point outside the cache:
 * absolute paths, separators, `..`, and empty names. `where` names the manifest entry.
 */
export function checkShardFileName(file: string, where: string): void {
  const bad =
    file.length === 0 ? 'is empty'
    : path.isAbsolute(file) || path.win32.isAbsolute(file) ? 'is an absolute path'
    : file.includes('/') || file.includes('\\') ? 'contains a path separator'
    : file.includes('..') ? "contains '..'"
    : file.includes('\0') ? 'contains a NUL byte'
    : file === '.' ? "is '.'"
    : undefined;
  if (bad) throw new CacheError(`${where} file '${file}' ${bad}; shard files must be plain names inside the cache directory`);
}

/**
 * Absolute path of a shard file after checking its name; when the file is a symlink it must
 * resolve inside the cache directory. A missing file is returned as is (verification reports it).
 */
export async function resolveShardPath(dir: string, file: string, where: string): Promise<string> {
  checkShardFileName(file, where);
  const full = path.join(dir, file);
  const target = await symlinkOutside(dir, full);
  if (target) throw new CacheError(`${where} file '${file}' is a symlink to '${target}' outside the cache directory '${dir}'; replace it with the shard file itself`);
  return full;
}

/** Where `full` (a file of cache `dir`) leads when it is a symlink out of `dir`; undefined for anything else, a missing file included. */
export async function symlinkOutside(dir: string, full: string): Promise<string | undefined> {
  let isLink: boolean;
  try {
    isLink = (await lstat(full)).isSymbolicLink();
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
  if (!isLink) return undefined;
  const root = await realpath(dir);
  let target: string;
  try {
    target = await realpath(full);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
  const rel = path.relative(root, target);
  return rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? target : undefined;
}
