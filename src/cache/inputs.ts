import { z } from 'zod';
import { CacheError } from '../core/errors/index.js';
import type * as arrow from 'apache-arrow';
import { flatValues, type NumericArray } from '../core/util/arrow.js';
import type { Manifest } from './manifest.js';

/**
 * How a dataset column is stored when the shard keeps its natural, narrower type (MNIST's
 * pixels as bytes, byte-level token ids as uint8) instead of the type the teacher is fed: stored
 * codes of `stored`, each the index of its value in `levels`, or (without levels) the value itself.
 * The loader turns the codes back into exactly the values the dataset gave (decodeStoredColumn).
 */
export const storedColumnSchema = z.object({
  /** Element type the dataset gives (and the student's loader gives back). */
  dtype: z.enum(['float32', 'float64', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32']),
  /** Element type of the stored codes. */
  stored: z.enum(['uint8', 'uint16', 'uint32']),
  /** The value of each code, ascending (e.g. MNIST's 256 grey levels); absent: a code is its value. */
  levels: z.array(z.number()).optional(),
});

export type StoredColumn = z.infer<typeof storedColumnSchema>;

/** Dataset columns stored narrower than the dataset gives them, by name (recorded as manifest.dataset.storedColumns). */
export type StoredColumns = Record<string, StoredColumn>;

const CODE_ARRAYS = { uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array } as const;
const VALUE_ARRAYS = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array,
} as const satisfies Record<StoredColumn['dtype'], unknown>;

/**
 * The codes `values` are stored as, in a new array of the stored type; a value outside the
 * declared levels or code range is a CacheError naming the column.
 */
export function encodeStoredColumn(values: NumericArray, column: StoredColumn, name: string): Uint8Array | Uint16Array | Uint32Array {
  const codes = new CODE_ARRAYS[column.stored](values.length);
  const max = 2 ** (codes.BYTES_PER_ELEMENT * 8) - 1;
  const levels = column.levels;
  const bad = (v: number) => new CacheError(`dataset column '${name}' holds ${v}, which its declared ${column.stored} storage${levels ? ` (${levels.length} levels)` : ''} cannot hold; set cache.input_dtype=as_fed`);
  if (!levels) {
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]);
      if (!(v >= 0 && v <= max && Number.isInteger(v))) throw bad(v);
      codes[i] = v;
    }
    return codes;
  }
  // a value's code is guessed by one multiply, as if the levels were spaced evenly; levels that are
  // nearly so (MNIST's bytes/255 to three decimals) are a step or two off, any others binary-searched
  const table = Float64Array.from(levels);
  const last = table.length - 1;
  const lo = table[0]!;
  const inv = last > 0 ? last / (table[last]! - lo) : 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    // the lowest level (MNIST's black, most pixels) is code 0, which the (zero-filled) array already holds
    if (v === lo) continue;
    let code = Math.min(last, Math.max(0, Math.round((v - lo) * inv)));
    for (let step = 0; step < 4 && table[code]! > v && code > 0; step++) code--;
    for (let step = 0; step < 4 && table[code]! < v && code < last; step++) code++;
    if (table[code] !== v) code = search(levels, v);
    if (code < 0) throw bad(v);
    codes[i] = code;
  }
  return codes;
}

/** Index of `v` in ascending `levels`, or -1. */
function search(levels: readonly number[], v: number): number {
  let a = 0;
  let b = levels.length - 1;
  while (a <= b) {
    const m = (a + b) >> 1;
    const x = levels[m]!;
    if (x === v) return m;
    if (x < v) a = m + 1;
    else b = m - 1;
  }
  return -1;
}

/** The values the dataset gave, from their stored codes (a new array of the dataset's element type). */
export function decodeStoredColumn(codes: NumericArray, column: StoredColumn): NumericArray {
  const out = new VALUE_ARRAYS[column.dtype](codes.length);
  if (column.levels) {
    const table = VALUE_ARRAYS[column.dtype].from(column.levels);
    for (let i = 0; i < codes.length; i++) out[i] = table[codes[i] as number]!;
  } else {
    out.set(codes as Uint8Array);
  }
  return out;
}

/**
 * The flat values of column `name` of a shard as the dataset gave them: a stored column's codes
 * decoded (a new array), any other column's values as they are (a view into the table; `copied` says which).
 */
export function columnValues(table: arrow.Table, name: string, manifest: Pick<Manifest, 'dataset'>): { values: NumericArray; copied: boolean } {
  const vector = table.getChild(name);
  if (!vector) throw new CacheError(`a shard of this cache has no column '${name}'; its columns are ${table.schema.fields.map((f) => f.name).join(', ')}`);
  const stored = manifest.dataset.storedColumns?.[name];
  return stored ? { values: decodeStoredColumn(flatValues(vector), stored), copied: true } : { values: flatValues(vector), copied: false };
}
