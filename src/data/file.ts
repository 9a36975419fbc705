import { FixedSizeList, type RecordBatch, type Schema, type Vector } from 'apache-arrow';
import { DatasetError } from '../core/errors/index.js';
import { flatValues, readRegularFileSync } from '../core/util/index.js';
import { batchOf, rangeBatches, rowVector } from './batches.js';
import { checkPositiveInt, checkSplit, limitRows } from './checks.js';
import { castColumn, hasNulls, isIntegerColumn, primitiveNameOf, leafType, takeRows, type ColumnDtype } from './columns.js';
import type { BatchOptions, Dataset, Split } from './dataset.js';
import { datasetFingerprint, sha256Hex } from './fingerprint.js';
import { formatFromPath, readSource, type FileFormat, type SourceTable } from './source.js';

/** Options of a file dataset (Parquet, Arrow IPC or JSONL). */
export interface FileDatasetOptions {
  /** File to read, whole, into memory. */
  path: string;
  /** File format; default from the extension (.parquet/.pq, .arrow/.arrows/.ipc/.feather, .jsonl/.ndjson). */
  format?: FileFormat;
  /** Which split; without `splitColumn` the whole file is this split. Default 'all'. */
  split?: Split;
  /** String column naming each row's split (train/validation/test); rows of other splits are dropped. */
  splitColumn?: string;
  /** Columns to keep: names, or { name: sourceName } to rename; default every column but `splitColumn`. */
  columns?: readonly string[] | Readonly<Record<string, string>>;
  /** Hard-label column (output name); kept even when `columns` omits it. */
  label?: string;
  /** Element dtype per output column; JSONL numbers default to float32 (label: int32), other formats keep the stored type (integer labels: int32). */
  dtypes?: Readonly<Record<string, ColumnDtype>>;
  /** Number of classes or vocabulary size; default max(label) + 1 over the whole file for integer labels. */
  numClasses?: number;
  /** Tokens per row; default the list size of a FixedSizeList label column. */
  seqLen?: number;
  /** Keep only the first n rows of the split. */
  limit?: number;
}

/** The kennis-reserved row-index column. */
const ROW = 'row';

class FileDataset implements Dataset {
  readonly schema: Schema;

  constructor(
    readonly name: string, readonly split: Split, private readonly columns: ReadonlyArray<readonly [string, Vector]>,
    readonly numRows: number, readonly fingerprint: string,
    readonly labelColumn: string | undefined, readonly numClasses: number | undefined, readonly seqLen: number | undefined,
  ) {
    this.schema = this.batch(0, 0).schema;
  }

  batches(options: BatchOptions): AsyncIterable<RecordBatch> {
    return rangeBatches(options, this.numRows, `dataset file '${this.name}'`, (start, end) => this.batch(start, end));
  }

  private batch(start: number, end: number): RecordBatch {
    return batchOf([...this.columns.map(([n, v]) => [n, v.slice(start, end)] as const), [ROW, rowVector(start, end)]]);
  }
}

/**
 * A Parquet, Arrow IPC or JSONL file as a dataset: the kept columns (List columns with
 * equal-length rows as FixedSizeList) plus `row`. Fingerprint: the file's bytes and the options
 * (not the path, so a moved file keeps its fingerprint).
 */
export async function openFileDataset(options: FileDatasetOptions): Promise<Dataset> {
  const { path } = options;
  if (typeof path !== 'string' || path === '') throw new DatasetError(`file dataset: expected a path, got ${JSON.stringify(path)}; set dataset.path`);
  const split = options.split ?? 'all';
  checkSplit(split, `dataset file '${path}'`);
  checkPositiveInt(options.limit, 'limit', `dataset file '${path}'`);
  const format = options.format ?? formatFromPath(path);
  const bytes: Uint8Array = readRegularFileSync(path, (why) => new DatasetError(`dataset file '${path}' ${why}; check dataset.path`));
  const source = readSource(bytes, format, path);
  if (source.numRows === 0) throw new DatasetError(`dataset file '${path}' has no rows; expected at least one`);
  const mapping = selectColumns(source, options, path, format);
  const indices = splitRows(source, options.splitColumn, split, path, format);
  const kept = indices.subarray(0, limitRows(indices.length, options.limit));

  const columns = mapping.map(([out, src]) => {
    const what = `column '${src}' of ${path}`;
    let vector = source.column(src, options.dtypes?.[out] ?? (out === options.label && format === 'jsonl' ? 'int32' : undefined));
    if (primitiveNameOf(leafType(vector.type)) !== undefined && hasNulls(vector)) {
      throw new DatasetError(`${what} has nulls; expected every row to hold a value (fill or drop them)`);
    }
    if (out === options.label) checkLabels(vector, `label ${what}`);
    // float labels that hold whole numbers (Parquet written from pandas) are class ids like int ones
    const castable = isIntegerColumn(vector) || ['float32', 'float64'].includes(primitiveNameOf(leafType(vector.type)) ?? '');
    if (out === options.label && options.dtypes?.[out] === undefined && castable) vector = castColumn(vector, 'int32', what);
    return [out, vector] as const;
  });
  const labelVector = columns.find(([n]) => n === options.label)?.[1];
  const numClasses = options.numClasses ?? (labelVector && isIntegerColumn(labelVector) ? maxValue(labelVector) + 1 : undefined);
  const seqLen = options.seqLen ?? (labelVector?.type instanceof FixedSizeList ? labelVector.type.listSize : undefined);

  const fingerprint = datasetFingerprint(sha256Hex([bytes]), {
    name: 'file', format, split, splitColumn: options.splitColumn, columns: mapping.map(([o, s]) => [o, s]),
    label: options.label, dtypes: options.dtypes ? { ...options.dtypes } : undefined, numClasses, seqLen, rows: kept.length,
  });
  const taken = columns.map(([n, v]) => [n, takeRows(v, kept)] as const);
  return new FileDataset(path, split, taken, kept.length, fingerprint, options.label, numClasses, seqLen);
}

/** [output name, source name] pairs, checked against the file's columns. */
function selectColumns(source: SourceTable, options: FileDatasetOptions, path: string, format: FileFormat): Array<[string, string]> {
  const { columns, label, splitColumn } = options;
  const mapping: Array<[string, string]> = columns === undefined
    ? source.columnNames.filter((n) => n !== splitColumn).map((n) => [n, n])
    : Array.isArray(columns) ? (columns as readonly string[]).map((n) => [n, n]) : Object.entries(columns);
  if (label !== undefined && !mapping.some(([out]) => out === label)) mapping.push([label, label]);
  for (const [out, src] of mapping) {
    if (out === ROW) throw new DatasetError(`dataset file '${path}': column name '${ROW}' is reserved for row indices; rename it, e.g. columns: { source_row: '${src}' }`);
    requireColumn(source, src, path, format);
  }
  return mapping;
}

function requireColumn(source: SourceTable, name: string, path: string, format: FileFormat): void {
  if (!source.columnNames.includes(name)) {
    throw new DatasetError(`column '${name}' not found in ${format} file '${path}', which has columns: ${source.columnNames.join(', ')}; fix dataset.columns/label`);
  }
}

/** Source row indices of the split, in file order. */
function splitRows(source: SourceTable, splitColumn: string | undefined, split: Split, path: string, format: FileFormat): Int32Array {
  const all = Int32Array.from({ length: source.numRows }, (_, i) => i);
  if (splitColumn === undefined || split === 'all') return all;
  requireColumn(source, splitColumn, path, format);
  const column = source.column(splitColumn);
  const values = Array.from({ length: column.length }, (_, i) => String(column.get(i)));
  const rows = all.filter((i) => values[i] === split);
  if (rows.length === 0) {
    throw new DatasetError(`split '${split}' has no rows in '${path}': column '${splitColumn}' holds ${[...new Set(values)].slice(0, 10).join(', ')}; set dataset.split to one of them`);
  }
  return rows;
}

/** Labels are class or token ids: a NaN or fractional one would be stored and then silently masked or truncated. */
function checkLabels(vector: Vector, what: string): void {
  if (primitiveNameOf(leafType(vector.type)) === undefined || isIntegerColumn(vector)) return;
  const values = flatValues(vector);
  const perRow = values.length / vector.length;
  let first = -1;
  let bad = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isInteger(values[i])) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (first >= 0) {
    throw new DatasetError(`${what} holds ${String(values[first])} at row ${Math.floor(first / perRow)}${bad > 1 ? ` (and ${bad - 1} more non-integer values)` : ''}; labels must be whole class or token ids: fix or drop these rows`);
  }
}

function maxValue(vector: Vector): number {
  let max = -Infinity;
  for (const v of flatValues(vector)) max = Math.max(max, Number(v));
  return max;
}
