import { DataType, Table, type Vector } from 'apache-arrow';
import { CacheError } from '../core/errors/index.js';
import { targetColumns, type HeadOutputs, type TargetSpec } from '../cache/targets/index.js';
import { encodeStoredColumn, type StoredColumn, type StoredColumns } from '../cache/index.js';
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
  /** Storage of a column kept narrower than given: the encoder thread turns the values into these codes. */
  stored?: StoredColumn;
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

/** A shard's codes of stored columns, by name, as the dataset holds them (see NarrowColumn.codes): owned arrays. */
export type StoredCodes = Record<string, Uint8Array | Uint16Array | Uint32Array>;

/**
 * Joins the batches of one shard: each dataset column and each head output into one owned
 * buffer; a stored column whose `codes` the dataset gave is taken as they are. Other stored
 * columns are coded on the encoder thread (shardTable), not here: this thread runs the teacher
 * (onnxruntime-node's run is synchronous), so every millisecond here is one the teacher waits.
 */
export function shardPayload(parts: readonly BatchOutput[], stored: StoredColumns = {}, codes: StoredCodes = {}): ShardPayload {
  const first = parts[0]!;
  const columns = Object.entries(first.columns).map(([name, vector]): ShardColumn => {
    const narrow = stored[name];
    const shape = listShape(vector.type);
    const given = narrow && codes[name];
    if (given) return { name, values: given, shape, element: narrow.stored };
    const values = joined(parts.map((p) => flatValues(p.columns[name]!)));
    return { name, values, shape, element: elementOf(vector.type, name), ...(narrow ? { stored: narrow } : {}) };
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
 * copy; a stored column's codes in a new one), then the target columns made from the head's
 * outputs (float16 rounding, counting draws, and the check for non-finite outputs that names the rows).
 */
export function shardTable(payload: ShardPayload, spec: TargetSpec): Table {
  const vectors: Record<string, Vector> = {};
  for (const c of payload.columns) {
    const values = c.stored ? encodeStoredColumn(c.values, c.stored, c.name) : c.values;
    const element = c.stored?.stored ?? c.element;
    vectors[c.name] = c.shape.length > 0 ? fixedSizeListVector(values, c.shape, element) : primitiveVector(values, element);
  }
  const rows = payload.columns.find((c) => c.name === 'row')!.values as Int32Array;
  return new Table({ ...vectors, ...targetColumns(spec, payload.outputs, rows) });
}

/** Buffers to transfer (not copy) with a postMessage of the payload. */
export function transferList(payload: ShardPayload): ArrayBuffer[] {
  return [...payload.columns.map((c) => c.values.buffer), ...Object.values(payload.outputs).map((t) => t.data.buffer)] as ArrayBuffer[];
}
