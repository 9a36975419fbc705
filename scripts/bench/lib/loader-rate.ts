/** How fast CacheLoader turns a cache into training batches (read, decode, shuffle, assemble). */
import { CacheLoader } from '../../../src/train/loader/index.js';
import { trainingColumns } from '../../../src/train/batch.js';
import { inputOf, type BenchCache } from './caches.js';
import { timeRuns, type RunOptions } from './stats.js';

/** Loader settings of a measurement. */
export interface LoaderSettings {
  /** Rows per batch. */
  batchSize: number;
  /** Shuffle buffer rows. */
  shuffleBuffer: number;
}

/** A function that runs one full epoch of the loader over the columns the trainer reads. */
export function loaderEpoch(cache: BenchCache, s: LoaderSettings): (epoch: number) => Promise<void> {
  const loader = new CacheLoader(cache.dir, cache.manifest, { columns: trainingColumns(cache.manifest, inputOf(cache)), ...s, seed: 1 });
  return async (epoch) => {
    let rows = 0;
    for await (const b of loader.epoch(Math.max(epoch, 0))) rows += b.size;
    if (rows !== loader.rows) throw new RangeError(`expected ${loader.rows} rows per epoch, got ${rows}`);
  };
}

/** Wall time (ms) of each timed full epoch. */
export async function loaderEpochTimes(cache: BenchCache, s: LoaderSettings, o: RunOptions): Promise<number[]> {
  return timeRuns(loaderEpoch(cache, s), o);
}
