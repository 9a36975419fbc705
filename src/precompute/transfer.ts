import { DataType, Table, type Vector } from 'apache-arrow';
import { CacheError } from '../errors/index.js';
import { fixedSizeListVector, flatValues, listShape, primitiveVector, type NumericArray, type PrimitiveName } from '../util/arrow.js';

/** One column of a shard as plain data that can cross to the writer thread. */
export interface ShardColumn {
  /** Column name. */
  name: string;
  /** Row-major values of all rows, in a buffer this column owns. */
  values: NumericArray;
  /** Fixed-size-list sizes from outer to inner; [] for a primitive column. */
  shape: number[];
  /** Element type of the values. */
  element: PrimitiveName;
}

/** Primitive name of an Arrow leaf type, for the numeric types shards hold. */
function elementOf(type: DataType, column: string): PrimitiveName {
  let t = type;
  while (DataType.isFixedSizeList(t)) t = t.children[0]!.type;
  if (DataType.isFloat(t)) return (['float16', 'float32', 'float64'] as const)[t.precision]!;
  if (DataType.isInt(t)) return `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}` as PrimitiveName;
  throw new CacheError(`dataset column '${column}' has type ${String(type)}; cache shards hold numeric and fixed-size-list columns only, so map it to a numeric column (dataset.dtypes) or drop it (dataset.columns)`);
}

/**
 * Joins the per-batch columns of one shard into one owned buffer per column (the one copy a
 * shard's values get), in the column order of the first batch.
 */
export function shardColumns(parts: readonly Record<string, Vector>[]): ShardColumn[] {
  return Object.keys(parts[0]!).map((name) => {
    const views = parts.map((p) => flatValues(p[name]!));
    const Ctor = views[0]!.constructor as new (n: number) => NumericArray;
    const values = new Ctor(views.reduce((n, v) => n + v.length, 0));
    let at = 0;
    for (const v of views) { (values as Float32Array).set(v as Float32Array, at); at += v.length; }
    const type = parts[0]![name]!.type;
    return { name, values, shape: listShape(type), element: elementOf(type, name) };
  });
}

/** The shard's table over the columns' buffers (no copy). */
export function shardTable(columns: readonly ShardColumn[]): Table {
  const vectors: Record<string, Vector> = {};
  for (const c of columns) vectors[c.name] = c.shape.length > 0 ? fixedSizeListVector(c.values, c.shape, c.element) : primitiveVector(c.values, c.element);
  return new Table(vectors);
}

/** Buffers to transfer (not copy) with a postMessage of the columns. */
export function transferList(columns: readonly ShardColumn[]): ArrayBuffer[] {
  return columns.map((c) => c.values.buffer as ArrayBuffer);
}
