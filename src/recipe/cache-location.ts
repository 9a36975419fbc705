import { join } from 'node:path';
import { canonicalJson, lookupCacheAddress } from '../cache/index.js';
import { CacheError } from '../core/errors/index.js';
import { sha256Bytes } from '../core/util/fs.js';
import type { Split } from '../data/index.js';
import { datasetSpecOf } from './dataset-spec.js';
import { resolveFrom, type LoadedRecipe } from './load.js';

/** How a recipe asks for a cache: its root and the hash of everything the request names. */
export interface CacheRequest {
  /** Absolute cache root. */
  root: string;
  /** sha256 hex of the request (teacher path and settings, dataset spec, targets, shard layout). */
  request: string;
  /** `cache.dir` when the recipe names the directory itself. */
  explicitDir?: string;
}

/**
 * The cache request of a recipe for one split. It hashes what the recipe says (paths, not file
 * contents), so it can be computed without the teacher or the dataset; precompute records which
 * content-addressed cache answered it.
 */
export function cacheRequestOf(loaded: LoadedRecipe, split?: Split): CacheRequest {
  const { recipe } = loaded;
  const request = sha256Bytes(canonicalJson({
    teacher: { ...recipe.teacher, path: resolveFrom(loaded, recipe.teacher.path) },
    dataset: datasetSpecOf(loaded, split),
    targets: recipe.targets,
    layout: { format: recipe.cache.format, shardRows: recipe.cache.shard_rows },
  }));
  return {
    root: resolveFrom(loaded, recipe.cache.root),
    request,
    ...(recipe.cache.dir ? { explicitDir: resolveFrom(loaded, recipe.cache.dir) } : {}),
  };
}

/** The directory of the cache that precompute wrote for this recipe and split (it may not be complete). */
export async function locateCache(loaded: LoadedRecipe, split?: Split): Promise<string> {
  const req = cacheRequestOf(loaded, split);
  if (req.explicitDir) return req.explicitDir;
  const key = await lookupCacheAddress(req.root, req.request);
  const s = split ?? loaded.recipe.dataset.split;
  if (!key) {
    throw new CacheError(`no cache of split '${s}' for this recipe under ${req.root}; run 'kennis precompute <recipe>${s !== 'train' ? ` dataset.split=${s}` : ''}' first (it is a cache hit, without running the teacher, when the cache exists)`);
  }
  return join(req.root, key);
}
