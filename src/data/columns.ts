import {
  Field, FixedSizeList, Float, Int, List, Precision, makeData, makeVector, vectorFromArray, type Data, type DataType, type Vector,
} from 'apache-arrow';
import { DatasetError } from '../core/errors/index.js';
import { fixedSizeListVector, flatValues, listShape, primitiveVector, type NumericArray, type PrimitiveName } from '../core/util/index.js';

/** Element dtypes a dataset column may be read or cast as (float16 has no JS number array). */
export type ColumnDtype = Exclude<PrimitiveName, 'float16'>;

/** Innermost element type of a (possibly nested) fixed-size-list type. */
export function leafType(type: DataType): DataType {
  let t = type;
  while (t instanceof FixedSizeList) t = t.children[0]!.type;
  return t;
}

/** The kennis primitive name of a numeric Arrow type; undefined for other types (strings, lists, uint64). */
export function primitiveNameOf(type: DataType): PrimitiveName | undefined {
  if (type instanceof Float) return (['float16', 'float32', 'float64'] as const)[type.precision as Precision];
  if (type instanceof Int) {
    const name = `${type.isSigned ? 'int' : 'uint'}${type.bitWidth}`;
    return name === 'uint64' ? undefined : (name as PrimitiveName);
  }
  return undefined;
}

/** True when the column's leaf is an integer type. */
export function isIntegerColumn(vector: Vector): boolean {
  return leafType(vector.type) instanceof Int;
}

/** True when the column or any nested child holds a null. */
export function hasNulls(vector: Vector): boolean {
  const walk = (d: Data): boolean => d.nullCount > 0 || d.children.some(walk);
  return vector.data.some(walk);
}

/**
 * One chunk per column, with List columns whose rows all have the same (non-zero) length and
 * no nulls turned into FixedSizeList (recursively for lists of lists); ragged lists stay List.
 */
export function normalizeColumn(vector: Vector): Vector {
  const chunks = vector.data.filter((d) => d.length > 0).map(fixedLists);
  if (chunks.length === 0) return vector; // empty files are rejected before batching
  if (chunks.length === 1) return makeVector(chunks[0]!);
  const type = chunks[0]!.type;
  const name = primitiveNameOf(leafType(type));
  if (name !== undefined && chunks.every((c) => String(c.type) === String(type))) {
    return rebuild(flatValues(makeVector(chunks as Data<DataType>[])), type);
  }
  // rare: string columns, or chunks that disagree on list length; go through JS values
  const whole = chunks.every((c) => String(c.type) === String(type)) ? makeVector(chunks as Data<DataType>[]) : vector;
  return vectorFromArray(Array.from({ length: whole.length }, (_, i) => whole.get(i)), whole.type);
}

function fixedLists(d: Data): Data {
  if (!(d.type instanceof List) || d.nullCount > 0) return d;
  const offsets = d.valueOffsets as Int32Array;
  const size = offsets[1]! - offsets[0]!;
  if (size === 0) return d;
  for (let i = 1; i < d.length; i++) if (offsets[i + 1]! - offsets[i]! !== size) return d;
  const child = fixedLists(d.children[0]!.slice(offsets[0]!, size * d.length));
  const field = d.type.children[0]!;
  const type = new FixedSizeList(size, new Field(field.name, child.type, field.nullable));
  return makeData({ type, length: d.length, nullCount: 0, child } as never);
}

/** A numeric (or fixed-size-list of numeric) column from flat values, with the shape of `type`. */
function rebuild(values: NumericArray, type: DataType): Vector {
  const name = primitiveNameOf(leafType(type))!;
  const shape = listShape(type);
  return shape.length > 0 ? fixedSizeListVector(values, shape, name) : primitiveVector(values, name);
}

const ARRAYS: Record<ColumnDtype, new (n: number) => NumericArray> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array,
};

/** A zero-filled typed array of `n` elements of `dtype`. */
export function zeros(dtype: ColumnDtype, n: number): NumericArray {
  return new ARRAYS[dtype](n);
}

/** A typed array of `dtype` from plain numbers (bigint for int64). */
export function typedArray(values: ArrayLike<number>, dtype: ColumnDtype): NumericArray {
  const out = new ARRAYS[dtype](values.length);
  if (dtype === 'int64') for (let i = 0; i < values.length; i++) (out as BigInt64Array)[i] = BigInt(values[i]!);
  else (out as Float64Array).set(values);
  return out;
}

/** Casts a numeric or fixed-size-list-of-numeric column's elements to `dtype`; `what` names it in errors. */
export function castColumn(vector: Vector, dtype: ColumnDtype, what: string): Vector {
  const from = primitiveNameOf(leafType(vector.type));
  if (from === undefined || from === 'float16') {
    throw new DatasetError(`${what}: cannot convert ${String(vector.type)} to ${dtype}; drop the dtype for this column`);
  }
  if (from === dtype) return vector;
  const values = flatValues(vector);
  const out = new ARRAYS[dtype](values.length);
  const toBig = dtype === 'int64';
  const fromBig = values instanceof BigInt64Array;
  for (let i = 0; i < values.length; i++) {
    const v = fromBig ? Number(values[i]) : (values[i] as number);
    (out as Float64Array)[i] = (toBig ? BigInt(Math.trunc(v)) : v) as number;
  }
  const shape = listShape(vector.type);
  return shape.length > 0 ? fixedSizeListVector(out, shape, dtype) : primitiveVector(out, dtype);
}

/** Rows `indices` of a single-chunk column, zero-copy when they are one contiguous run. */
export function takeRows(vector: Vector, indices: Int32Array): Vector {
  const n = indices.length;
  const first = indices[0] ?? 0;
  if (n === 0 || indices[n - 1]! - first === n - 1) return vector.slice(first, first + n);
  if (primitiveNameOf(leafType(vector.type)) !== undefined) {
    const values = flatValues(vector);
    const per = values.length / vector.length;
    const out = new (values.constructor as new (k: number) => NumericArray)(n * per);
    for (let r = 0; r < n; r++) {
      const at = indices[r]! * per;
      (out as Float64Array).set((values as Float64Array).subarray(at, at + per), r * per);
    }
    return rebuild(out, vector.type);
  }
  return vectorFromArray(Array.from(indices, (i) => vector.get(i)), vector.type);
}
