import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CacheError } from '../core/errors/index.js';
import { isCode, makeDir, writeFileAtomic } from '../core/util/fs.js';

/**
 * The address book under a cache root: precompute records which cache (content address) a request
 * resolved to, under a hash of the request itself (teacher path and settings, dataset spec, target
 * spec, shard layout). Stage 2 looks a request up here, so finding a cache needs neither the
 * teacher file nor the dataset, and a cache copied with its root keeps working.
 */
const BOOK_DIR = 'by-request';

const entrySchema = z.object({ key: z.string().regex(/^[0-9a-f]{64}$/) });

const entryPath = (root: string, request: string): string => join(root, BOOK_DIR, `${request}.json`);

/** Records that `request` (a hex hash) is served by the cache `<root>/<key>` (atomic replace). */
export async function recordCacheAddress(root: string, request: string, key: string): Promise<void> {
  const file = entryPath(root, request);
  const where = { setting: 'cache.root', rerun: 'rerun precompute' };
  await makeDir(join(root, BOOK_DIR), where);
  await writeFileAtomic(file, `${JSON.stringify({ key })}\n`, where);
}

/** The cache key recorded for `request` under `root`, or undefined when precompute never recorded it. */
export async function lookupCacheAddress(root: string, request: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(entryPath(root, request), 'utf8');
  } catch (e) {
    if (isCode(e, 'ENOENT')) return undefined;
    throw new CacheError(`cannot read the cache address book entry ${entryPath(root, request)} (${(e as NodeJS.ErrnoException).code}); rerun 'kennis precompute <recipe>' to rewrite it`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = entrySchema.safeParse(json);
  if (!parsed.success) throw new CacheError(`cache address book entry ${entryPath(root, request)} is malformed; delete it and rerun 'kennis precompute <recipe>'`);
  return parsed.data.key;
}
