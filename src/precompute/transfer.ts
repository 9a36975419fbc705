import { DataType, Table, type Vector } from 'apache-arrow';
import { CacheError } from '../core/errors/index.js';
import { targetColumns, type HeadOutputs, type TargetSpec } from '../cache/targets/index.js';
import { CODE_ARRAYS, encodeStoredColumn, type StoredColumn, type StoredColumns } from '../cache/index.js';
import type { TensorData } from '../core/runtime/index.js';
import { fixedSizeListVector, flatValues, listShape, primitiveVector, type NumericArray, type PrimitiveName } from '../core/util/arrow.js';
import type { BatchOutput } from './batch.js';

/** One column of a shard as plain data that can cross to the writer thread. */
export interface ShardColumn {
  /** Column name. */
  name: string;
  /** Row-major values of all rows (a stored column's codes), in a buffer this column owns. */
  values: NumericArray;
  /** Fixed-size-list sizes from outer to inner; [] for a primitive column. */
  shape: number[];
  /** Element type of the values. */
  element: PrimitiveName;
}

/** Primitive name of an Arrow leaf type, for the numeric types shards hold. */
export function elementOf(type: DataType, column: string): PrimitiveName {
  let t = type;
  while (DataType.isFixedSizeList(t)) t = t.children[0]!.type;
  if (DataType.isFloat(t)) return (['float16', 'float32', 'float64'] as const)[t.precision]!;
  if (DataType.isInt(t)) return `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}` as PrimitiveName;
  throw new CacheError(`dataset column '${column}' has type ${String(type)}; cache shards hold numeric and fixed-size-list columns only, so map it to a numeric column (dataset.dtypes) or drop it (dataset.columns)`);
}

/** One shard as plain data for the writer thread: every array in a buffer of its own. */
export interface ShardPayload {
  /** The dataset's columns (inputs, label, row). */
  columns: ShardColumn[];
  /** The soft-target head's outputs over the shard's rows. */
  outputs: HeadOutputs;
}

/** The arrays joined into one new array (the one copy a shard's values get on the teacher's thread). */
function joined<T extends NumericArray | TensorData>(views: readonly T[]): T {
  const out = new (views[0]!.constructor as new (n: number) => T)(views.reduce((n, v) => n + v.length, 0));
  let at = 0;
  for (const v of views) { (out as Float32Array).set(v as Float32Array, at); at += v.length; }
  return out;
}

/** The codes of the stored column's values in every part, in one new array (instead of a joined copy of the values). */
function joinedCodes(views: readonly NumericArray[], column: StoredColumn, name: string): NumericArray {
  const out = new CODE_ARRAYS[column.stored](views.reduce((n, v) => n + v.length, 0));
  let at = 0;
  for (const v of views) { encodeStoredColumn(v, column, name, out.subarray(at, at + v.length)); at += v.length; }
  return out;
}

/**
 * Joins the batches of one shard: each dataset column and each head output into one owned
 * buffer, the columns of `stored` as their narrower codes (a quarter of MNIST's float32 pixels to
 * copy and hand over).
 */
export function shardPayload(parts: readonly BatchOutput[], stored: StoredColumns = {}): ShardPayload {
  const first = parts[0]!;
  const columns = Object.entries(first.columns).map(([name, vector]): ShardColumn => {
    const views = parts.map((p) => flatValues(p.columns[name]!));
    const narrow = stored[name];
    return narrow
      ? { name, values: joinedCodes(views, narrow, name), shape: listShape(vector.type), element: narrow.stored }
      : { name, values: joined(views), shape: listShape(vector.type), element: elementOf(vector.type, name) };
  });
  const outputs: HeadOutputs = {};
  for (const [name, t] of Object.entries(first.outputs)) {
    const all = parts.map((p) => p.outputs[name]!);
    outputs[name] = { type: t.type, data: joined(all.map((o) => o.data)), dims: [all.reduce((n, o) => n + o.dims[0]!, 0), ...t.dims.slice(1)] };
  }
  return { columns, outputs };
}

/**
 * The shard's table, run on an encoder thread: the payload's columns over their buffers (no
 * copy), then the target columns made from the head's outputs (float16 rounding, counting draws,
 * and the check for non-finite outputs that names the rows).
 */
export function shardTable(payload: ShardPayload, spec: TargetSpec): Table {
  const vectors: Record<string, Vector> = {};
  for (const c of payload.columns) vectors[c.name] = c.shape.length > 0 ? fixedSizeListVector(c.values, c.shape, c.element) : primitiveVector(c.values, c.element);
  const rows = payload.columns.find((c) => c.name === 'row')!.values as Int32Array;
  return new Table({ ...vectors, ...targetColumns(spec, payload.outputs, rows) });
}

/** Buffers to transfer (not copy) with a postMessage of the payload. */
export function transferList(payload: ShardPayload): ArrayBuffer[] {
  return [...payload.columns.map((c) => c.values.buffer), ...Object.values(payload.outputs).map((t) => t.data.buffer)] as ArrayBuffer[];
}
