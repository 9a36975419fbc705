import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CacheError } from '../errors/index.js';
import { listWorkerManifests, readManifest, verifyCache, type Manifest } from '../cache/index.js';
import { planPrecompute } from '../precompute/plan.js';
import type { LoadedRecipe } from '../recipe/index.js';

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
 * Finds the cache a recipe's precompute writes (same content address) and refuses one that is
 * missing, incomplete or fails verification. Only hashes the teacher; never runs it.
 */
export async function openVerifiedCache(loaded: LoadedRecipe): Promise<VerifiedCache> {
  const plan = await planPrecompute(loaded);
  const split = loaded.recipe.dataset.split;
  const hint = `run 'kennis precompute <recipe>${split !== 'train' ? ` dataset.split=${split}` : ''}' first`;
  if (!existsSync(join(plan.dir, 'manifest.json'))) {
    if ((await listWorkerManifests(plan.dir)).length > 0) {
      throw new CacheError(`cache ${plan.dir} of split '${split}' was written by \`precompute --worker\` and is not merged; run 'kennis cache merge ${plan.dir}' (it names any worker still to rerun)`);
    }
    throw new CacheError(`no cache for split '${split}' at ${plan.dir}; ${hint}`);
  }
  const manifest = await readManifest(plan.dir);
  if (!manifest.complete) throw new CacheError(`cache ${plan.dir} is incomplete (${manifest.shards.length} shards so far); ${hint} to finish it`);
  const report = await verifyCache(plan.dir);
  if (!report.ok) {
    const p = report.problems[0]!;
    throw new CacheError(`cache ${plan.dir} failed verification at ${p.file}: ${p.problem}; delete the cache and ${hint}`);
  }
  return { dir: plan.dir, manifest };
}
