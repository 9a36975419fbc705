import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CacheError } from '../core/errors/index.js';
import { listWorkerManifests, readManifest, verifyCache, type Manifest } from '../cache/index.js';
import { locateCache, resolveFrom, type LoadedRecipe } from '../recipe/index.js';
import { sha256File } from '../core/util/fs.js';

/** A verified, complete cache. */
export interface VerifiedCache {
  /** Cache directory. */
  dir: string;
  /** Its manifest. */
  manifest: Manifest;
}

/** The recipe with its dataset split replaced (e.g. to find the eval split's cache). */
export function withSplit(loaded: LoadedRecipe, split: LoadedRecipe['recipe']['dataset']['split']): LoadedRecipe {
  return { ...loaded, recipe: { ...loaded.recipe, dataset: { ...loaded.recipe.dataset, split } } };
}

/**
 * Finds the cache a recipe's precompute wrote (through the cache root's address book) and refuses
 * one that is missing, incomplete or fails verification. Needs neither the teacher nor the dataset.
 */
export async function openVerifiedCache(loaded: LoadedRecipe): Promise<VerifiedCache> {
  const dir = await locateCache(loaded);
  const split = loaded.recipe.dataset.split;
  const hint = `run 'kennis precompute <recipe>${split !== 'train' ? ` dataset.split=${split}` : ''}' first`;
  if (!existsSync(join(dir, 'manifest.json'))) {
    if ((await listWorkerManifests(dir)).length > 0) {
      throw new CacheError(`cache ${dir} of split '${split}' was written by \`precompute --worker\` and is not merged; run 'kennis cache merge ${dir}' (it names any worker still to rerun)`);
    }
    throw new CacheError(`no cache for split '${split}' at ${dir}; ${hint}`);
  }
  const manifest = await readManifest(dir);
  if (!manifest.complete) throw new CacheError(`cache ${dir} is incomplete (${manifest.shards.length} shards so far); ${hint} to finish it`);
  const report = await verifyCache(dir);
  if (!report.ok) {
    const p = report.problems[0]!;
    throw new CacheError(`cache ${dir} failed verification at ${p.file}: ${p.problem}; delete the cache and ${hint}`);
  }
  const teacherPath = resolveFrom(loaded, loaded.recipe.teacher.path);
  // the teacher is optional here (a received cache trains without it); a changed one makes the cache stale
  if (existsSync(teacherPath) && (await sha256File(teacherPath)) !== manifest.teacher.sha256) {
    throw new CacheError(`teacher ${teacherPath} changed since cache ${dir} was made; rerun 'kennis precompute <recipe>${split !== 'train' ? ` dataset.split=${split}` : ''}' to make its cache`);
  }
  return { dir, manifest };
}
