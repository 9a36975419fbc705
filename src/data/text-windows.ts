import type { RecordBatch, Schema } from 'apache-arrow';
import { DatasetError } from '../core/errors/index.js';
import { fixedSizeListVector } from '../core/util/index.js';
import { batchOf, rangeBatches, rowVector } from './batches.js';
import { checkPositiveInt, limitRows } from './checks.js';
import type { BatchOptions, Dataset, Split } from './dataset.js';
import { datasetFingerprint } from './fingerprint.js';
import { loadTextCorpus, textSplitRange, type TextSourceName } from './text-sources.js';

/** Byte-level vocabulary size. */
export const BYTE_VOCAB = 256;

/** Options of the byte-level text built-ins (`moby-dick`, `sotu`). */
export interface TextWindowOptions {
  /** Which split to read. */
  split: Split;
  /** Tokens per row; each row reads a window of seqLen + 1 bytes. */
  seqLen: number;
  /** Bytes between consecutive window starts; default seqLen. */
  stride?: number;
  /** Keep only the first n windows of the split. */
  limit?: number;
}

/** Windows of `seqLen + 1` bytes starting at 0, stride, 2 stride, ... that fit in `bytes` bytes. */
export function windowCount(bytes: number, seqLen: number, stride: number): number {
  return bytes < seqLen + 1 ? 0 : Math.floor((bytes - seqLen - 1) / stride) + 1;
}

class TextWindowDataset implements Dataset {
  readonly labelColumn = 'labels';
  readonly numClasses = BYTE_VOCAB;
  readonly tokenizer = { name: 'bytes', vocabSize: BYTE_VOCAB, bytesPerToken: 1 };
  // the teacher is fed int32 ids; a cache stores the bytes they are
  readonly narrowColumns = { input_ids: { dtype: 'uint8' }, labels: { dtype: 'uint8' } } as const;
  readonly schema: Schema;

  constructor(
    readonly name: TextSourceName, readonly split: Split, readonly seqLen: number, private readonly stride: number,
    /** The split's bytes only, so windows cannot reach into another split. */
    private readonly bytes: Uint8Array, readonly numRows: number, readonly fingerprint: string,
  ) {
    this.schema = this.batch(0, 0).schema;
  }

  batches(options: BatchOptions): AsyncIterable<RecordBatch> {
    return rangeBatches(options, this.numRows, `${this.name} split '${this.split}'`, (start, end) => this.batch(start, end));
  }

  /** Builds only this batch's windows from the byte buffer. */
  private batch(start: number, end: number): RecordBatch {
    const T = this.seqLen;
    const n = end - start;
    const inputs = new Int32Array(n * T);
    const labels = new Int32Array(n * T);
    for (let r = 0; r < n; r++) {
      const at = (start + r) * this.stride;
      inputs.set(this.bytes.subarray(at, at + T), r * T);
      labels.set(this.bytes.subarray(at + 1, at + T + 1), r * T);
    }
    return batchOf([
      ['input_ids', fixedSizeListVector(inputs, [T], 'int32')],
      ['labels', fixedSizeListVector(labels, [T], 'int32')],
      ['row', rowVector(start, end)],
    ]);
  }
}

/**
 * A byte-level next-token dataset over a built-in corpus: columns `input_ids` and `labels`
 * FixedSizeList<Int32>[seqLen] (labels[j] = input_ids[j + 1] within the window), `row` Int32.
 * The split is cut from the byte stream first (see TEXT_SPLIT_FRACTIONS), then windowed.
 */
export async function openTextWindows(name: TextSourceName, options: TextWindowOptions): Promise<Dataset> {
  const what = `${name} dataset`;
  if (options.seqLen === undefined) throw new DatasetError(`${what}: seqLen is required; set dataset.seq_len`);
  checkPositiveInt(options.seqLen, 'seqLen', what);
  checkPositiveInt(options.stride, 'stride', what);
  checkPositiveInt(options.limit, 'limit', what);
  const { seqLen } = options;
  const stride = options.stride ?? seqLen;
  const corpus = await loadTextCorpus(name);
  const [from, to] = textSplitRange(corpus.bytes.length, options.split);
  const bytes = corpus.bytes.subarray(from, to);
  const windows = windowCount(bytes.length, seqLen, stride);
  if (windows === 0) {
    throw new DatasetError(`${name} split '${options.split}' has ${bytes.length} bytes, fewer than seqLen + 1 = ${seqLen + 1}; lower dataset.seq_len`);
  }
  const numRows = limitRows(windows, options.limit);
  const fingerprint = datasetFingerprint(corpus.contentHash, {
    name, split: options.split, range: [from, to], seqLen, stride, rows: numRows,
  });
  return new TextWindowDataset(name, options.split, seqLen, stride, bytes, numRows, fingerprint);
}
