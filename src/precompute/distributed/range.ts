import { shardCountOf, workerShardRange, type WorkerId } from '../../cache/index.js';
import type { Dataset } from '../../data/index.js';

/** The shards and rows one precompute process computes. */
export interface PrecomputeRange {
  /** First shard index. */
  firstShard: number;
  /** One past the last shard index. */
  endShard: number;
  /** First dataset row of the range. */
  firstRow: number;
  /** One past the last row. */
  endRow: number;
}

/** Worker w's rows of a dataset of `rows` rows in shards of `shardRows`; everything when w is undefined. */
export function precomputeRange(rows: number, shardRows: number, w?: WorkerId): PrecomputeRange {
  const shards = shardCountOf(rows, shardRows);
  const { first, end } = w ? workerShardRange(w, shards) : { first: 0, end: shards };
  return { firstShard: first, endShard: end, firstRow: Math.min(rows, first * shardRows), endRow: Math.min(rows, end * shardRows) };
}

/**
 * The dataset as seen by a run that stops at `endRow`: the same rows, schema and fingerprint,
 * with numRows = endRow, so a shard pipeline that runs "to the end" stops at the worker's last
 * shard. Shard boundaries stay multiples of shard_rows, so every shard file is the one a
 * single-process run writes.
 */
export function datasetUpTo(dataset: Dataset, endRow: number): Dataset {
  if (endRow === dataset.numRows) return dataset;
  return {
    name: dataset.name, split: dataset.split, numRows: endRow, schema: dataset.schema, fingerprint: dataset.fingerprint,
    ...(dataset.labelColumn !== undefined ? { labelColumn: dataset.labelColumn } : {}),
    ...(dataset.numClasses !== undefined ? { numClasses: dataset.numClasses } : {}),
    ...(dataset.seqLen !== undefined ? { seqLen: dataset.seqLen } : {}),
    ...(dataset.narrowColumns !== undefined ? { narrowColumns: dataset.narrowColumns } : {}),
    batches: (options) => dataset.batches({ ...options, end: Math.min(options.end ?? endRow, endRow) }),
  };
}

/** What a worker's precompute did, in its summary. */
export interface WorkerRun {
  /** The worker index. */
  index: number;
  /** The number of workers. */
  count: number;
  /** Its shard range [firstShard, endShard). */
  firstShard: number;
  endShard: number;
  /** Whether the cache is merged (this worker finished last and merged it, or it already was). */
  merged: boolean;
  /** Why it is not merged yet, one line. */
  mergeNote?: string;
}

/** The summary member of worker w's run over `rows` rows in shards of `shardRows`. */
export function workerRun(w: WorkerId, rows: number, shardRows: number, merge: { merged: boolean; reason?: string }): WorkerRun {
  const { firstShard, endShard } = precomputeRange(rows, shardRows, w);
  return { index: w.index, count: w.count, firstShard, endShard, merged: merge.merged, ...(merge.reason ? { mergeNote: merge.reason } : {}) };
}
