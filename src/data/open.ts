import { DatasetError } from '../core/errors/index.js';
import { checkSplit } from './checks.js';
import type { Dataset, Split } from './dataset.js';
import { openFileDataset, type FileDatasetOptions } from './file.js';
import { openMnist } from './mnist.js';
import { openTextWindows } from './text-windows.js';

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
}

/** A Parquet, Arrow IPC or JSONL file. */
export interface FileSpec extends FileDatasetOptions {
  /** Dataset name. */
  name: 'file';
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
      return openTextWindows(spec.name, spec);
    case 'file':
      return openFileDataset(spec);
    default:
      throw new DatasetError(`unknown dataset '${String(name)}'; use one of ${BUILTIN_DATASETS.join(', ')}, or 'file' with a path`);
  }
}
