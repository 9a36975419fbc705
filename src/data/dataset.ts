import type { RecordBatch, Schema } from 'apache-arrow';

/** Which part of a dataset to read. */
export type Split = 'train' | 'validation' | 'test' | 'all';

/** Options for reading a dataset's rows as Arrow record batches. */
export interface BatchOptions {
  /** Rows per record batch (the last batch may be shorter). */
  batchSize: number;
  /** First row (inclusive, relative to the split); default 0. */
  start?: number;
  /** Last row (exclusive, relative to the split); default numRows. */
  end?: number;
}

/**
 * A re-iterable source of rows. Every batch carries a `row` Int32 column: the row's index
 * within the split, so that caches can point back at their source rows.
 */
export interface Dataset {
  /** Dataset name, e.g. `mnist` or a file path. */
  readonly name: string;
  /** Split these rows come from. */
  readonly split: Split;
  /** Number of rows in this split. */
  readonly numRows: number;
  /** Arrow schema of every batch. */
  readonly schema: Schema;
  /** Name of the hard-label column, when the dataset has labels. */
  readonly labelColumn?: string;
  /** Number of classes (classification) or vocabulary size (token data), when known. */
  readonly numClasses?: number;
  /** For token windows: tokens per row. */
  readonly seqLen?: number;
  /** sha256 hex over the content and the preprocessing options. */
  readonly fingerprint: string;
  /** Reads rows [start, end) of the split as record batches; may be called many times. */
  batches(options: BatchOptions): AsyncIterable<RecordBatch>;
}
