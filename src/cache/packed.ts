import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { CacheError } from '../core/errors/index.js';
import { fixedSizeListVector, flatValues, type NumericArray, type PrimitiveName } from '../core/util/arrow.js';

/**
 * A fixed-size-list column stored packed: one FixedSizeBinary value per row holding the row's
 * `shape` values of `element`, row-major and little-endian. Parquet writers walk a list column
 * value by value (repetition levels, and 8- and 16-bit ints widened to 32), which made encoding
 * MNIST's 784 pixels or a sequence's T x k top-k ids most of a shard's cost; one opaque value per
 * row is copied whole. Readers (readShards, the loader) get the fixed-size lists back.
 */
export const packedColumnSchema = z.object({
  /** Element type of the values (float16 as its bits). */
  element: z.enum(['float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32']),
  /** List sizes from outer to inner, e.g. [784] or [T, k]. */
  shape: z.array(z.number().int().positive()).min(1),
});

export type PackedColumn = z.infer<typeof packedColumnSchema>;

/** Columns stored packed, by name (recorded as manifest.packedColumns; absent: every list column is a FixedSizeList). */
export type PackedColumns = Record<string, PackedColumn>;

const BYTES: Record<PackedColumn['element'], number> = { float16: 2, float32: 4, float64: 8, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4 };
const ARRAYS = {
  float16: Uint16Array, float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array,
} as const satisfies Record<PackedColumn['element'], unknown>;

/** Bytes of one row of a packed column. */
export function packedRowBytes(p: PackedColumn): number {
  return p.shape.reduce((a, b) => a * b, BYTES[p.element]);
}

/** The type string (as the manifest's schema writes it) of the fixed-size lists a packed column holds. */
export function packedListType(p: PackedColumn): string {
  return String(fixedSizeListVector(new ARRAYS[p.element](0) as NumericArray, p.shape, p.element as PrimitiveName).type);
}

/** The type string of a packed column as it is on disk. */
export function packedFileType(p: PackedColumn): string {
  return String(new arrow.FixedSizeBinary(packedRowBytes(p)));
}

/**
 * The table with each column of `packed` as one FixedSizeBinary value per row over the same bytes
 * (no copy for a one-batch table); a column whose type is not the declared lists is a CacheError.
 */
export function packColumns(table: arrow.Table, packed: PackedColumns): arrow.Table {
  const names = Object.keys(packed);
  if (names.length === 0) return table;
  const columns: Record<string, arrow.Vector> = {};
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    const p = packed[field.name];
    if (!p) { columns[field.name] = vector; continue; }
    const want = packedListType(p);
    if (String(field.type) !== want) throw new CacheError(`column '${field.name}' has type ${String(field.type)}, but the cache stores it packed as ${want}; every shard must hold the lists the manifest declares`);
    const values = flatValues(vector);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    columns[field.name] = arrow.makeVector(arrow.makeData({ type: new arrow.FixedSizeBinary(packedRowBytes(p)), length: table.numRows, nullCount: 0, data: bytes }));
  }
  for (const name of names) if (!(name in columns)) throw new CacheError(`a shard has no column '${name}', which the cache stores packed; its columns are ${table.schema.fields.map((f) => f.name).join(', ')}`);
  return new arrow.Table(columns);
}

/**
 * The table with each packed column of a decoded shard back as the fixed-size lists it holds
 * (a view of the file's bytes when they are aligned for the element type, else a copy), or why
 * the shard's columns are not what `packed` declares.
 */
export function unpackColumns(table: arrow.Table, packed: PackedColumns): { table: arrow.Table; problem?: undefined } | { table?: undefined; problem: string } {
  if (Object.keys(packed).length === 0) return { table };
  const columns: Record<string, arrow.Vector> = {};
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    const p = packed[field.name];
    if (!p) { columns[field.name] = vector; continue; }
    const width = packedRowBytes(p);
    if (!(field.type instanceof arrow.FixedSizeBinary) || field.type.byteWidth !== width) {
      return { problem: `has column '${field.name}' of type ${String(field.type)}, expected ${packedFileType(p)} (the manifest stores it packed as ${packedListType(p)})` };
    }
    columns[field.name] = fixedSizeListVector(typedView(binaryBytes(vector, width), p.element), p.shape, p.element as PrimitiveName);
  }
  return { table: new arrow.Table(columns) };
}

/** The bytes of every row of a FixedSizeBinary column, in one array (a view when it is one chunk). */
function binaryBytes(vector: arrow.Vector, width: number): Uint8Array {
  // arrow-js slices a chunk's values buffer with the chunk, so each starts at the chunk's first row
  const parts = vector.data.map((d) => (d.values as Uint8Array).subarray(0, d.length * width));
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** `bytes` as an array of `element` (little-endian, like every platform Node runs on); copied only when misaligned. */
function typedView(bytes: Uint8Array, element: PackedColumn['element']): NumericArray {
  const Ctor = ARRAYS[element];
  const aligned = bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice();
  return new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / Ctor.BYTES_PER_ELEMENT) as NumericArray;
}
