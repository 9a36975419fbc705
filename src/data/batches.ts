import { RecordBatch, type Vector } from 'apache-arrow';
import { DatasetError } from '../core/errors/index.js';
import { primitiveVector } from '../core/util/index.js';
import type { BatchOptions } from './dataset.js';

/** Rows [start, end) with a batch size, checked against the split's row count. */
export interface RowRange {
  start: number;
  end: number;
  batchSize: number;
}

/** Resolves and checks batch options for a split of `numRows` rows; `what` names the dataset in errors. */
export function resolveRange(options: BatchOptions, numRows: number, what: string): RowRange {
  const { batchSize } = options;
  const start = options.start ?? 0;
  const end = options.end ?? numRows;
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new DatasetError(`${what}: expected batchSize to be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > numRows || start > end) {
    throw new DatasetError(`${what}: expected 0 <= start <= end <= ${numRows} (rows in the split), got start=${start} end=${end}`);
  }
  return { start, end, batchSize };
}

/**
 * A re-iterable async iterable of batches over rows [start, end): each iteration builds its
 * batches afresh via `make(start, end)`, so nothing beyond one batch is held.
 */
export function rangeBatches(
  options: BatchOptions, numRows: number, what: string, make: (start: number, end: number) => RecordBatch,
): AsyncIterable<RecordBatch> {
  const { start, end, batchSize } = resolveRange(options, numRows, what);
  return {
    async *[Symbol.asyncIterator]() {
      for (let at = start; at < end; at += batchSize) yield make(at, Math.min(end, at + batchSize));
    },
  };
}

/** The Int32 `row` column holding start, start+1, ..., end-1. */
export function rowVector(start: number, end: number): Vector {
  const rows = new Int32Array(end - start);
  for (let i = 0; i < rows.length; i++) rows[i] = start + i;
  return primitiveVector(rows, 'int32');
}

/** A record batch from named single-chunk columns of equal length, in the given order. */
export function batchOf(columns: ReadonlyArray<readonly [string, Vector]>): RecordBatch {
  const data: Record<string, Vector['data'][number]> = {};
  for (const [name, vector] of columns) {
    if (vector.data.length !== 1) throw new Error(`internal: column '${name}' has ${vector.data.length} chunks, expected 1`);
    data[name] = vector.data[0]!;
  }
  return new RecordBatch(data);
}
