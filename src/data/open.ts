import { DatasetError } from '../core/errors/index.js';
import { checkSplit } from './checks.js';
import type { Dataset, Split } from './dataset.js';
import { openFileDataset, type FileDatasetOptions } from './file.js';
import { openMnist } from './mnist.js';
import { openTextWindows } from './text-windows.js';
import { openTokenizedText, type TokenizeOptions } from './token-windows.js';

import { BUILTIN_DATASETS } from './builtin.js';

export { BUILTIN_DATASETS };

/** The `mnist` built-in. */
export interface MnistSpec {
  /** Dataset name. */
  name: 'mnist';
  /** Which split (see MNIST_SPLIT_SIZES). */
  split: Split;
  /** Keep only the first n rows of the split. */
  limit?: number;
}

/** A byte-level text built-in. */
export interface TextSpec {
  /** Dataset name. */
  name: 'moby-dick' | 'sotu';
  /** Which split (see TEXT_SPLIT_FRACTIONS). */
  split: Split;
  /** Tokens per row. */
  seqLen: number;
  /** Bytes between window starts; default seqLen. */
  stride?: number;
  /** Keep only the first n windows of the split. */
  limit?: number;
  /** Tokenize with a Hugging Face tokenizer instead of reading bytes. */
  tokenize?: TokenizeOptions;
}

/** A Parquet, Arrow IPC or JSONL file. */
export interface FileSpec extends FileDatasetOptions {
  /** Dataset name. */
  name: 'file';
  /**
   * Tokenize a text corpus instead of reading numeric columns: `path` is a .txt file, a
   * directory of .txt files, or a JSONL/Parquet/Arrow file with a text column.
   */
  tokenize?: TokenizeOptions;
  /** With `tokenize`: the column holding each document's text; default `text`. */
  textColumn?: string;
}

/** What `openDataset` opens, discriminated by `name`. */
export type DatasetSpec = MnistSpec | TextSpec | FileSpec;

/** Opens a built-in or file dataset. */
export async function openDataset(spec: DatasetSpec): Promise<Dataset> {
  const name = (spec as { name?: unknown }).name;
  switch (spec.name) {
    case 'mnist':
      checkSplit(spec.split, 'mnist');
      return openMnist(spec);
    case 'moby-dick':
    case 'sotu':
      checkSplit(spec.split, spec.name);
      if (spec.tokenize) return openTokenizedText({ kind: 'builtin', name: spec.name }, { ...spec.tokenize, ...spec });
      return openTextWindows(spec.name, spec);
    case 'file':
      if (spec.tokenize) {
        const split = spec.split ?? 'all';
        checkSplit(split, `text dataset '${spec.path}'`);
        const source = { kind: 'file' as const, path: spec.path, ...(spec.format ? { format: spec.format } : {}), ...(spec.textColumn ? { textColumn: spec.textColumn } : {}), ...(spec.splitColumn ? { splitColumn: spec.splitColumn } : {}) };
        if (spec.seqLen === undefined) throw new DatasetError(`text dataset '${spec.path}' needs seq_len (tokens per row); set dataset.seq_len`);
        return openTokenizedText(source, { ...spec.tokenize, split, seqLen: spec.seqLen, ...(spec.limit ? { limit: spec.limit } : {}) });
      }
      return openFileDataset(spec);
    default:
      throw new DatasetError(`unknown dataset '${String(name)}'; use one of ${BUILTIN_DATASETS.join(', ')}, or 'file' with a path`);
  }
}
