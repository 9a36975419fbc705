import {
  Field, FixedSizeList, Float16, Float32, Float64, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32,
  DataType, makeData, makeVector, type Vector,
} from 'apache-arrow';

/** Typed arrays that back Arrow primitive columns. */
export type NumericArray =
  | Float32Array | Float64Array | Uint16Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint32Array;

/** Arrow primitive types kennis stores, by name. */
export type PrimitiveName = 'float16' | 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32';

/** Arrow type for a primitive name (float16 values are passed as Uint16Array bit patterns). */
export function primitiveType(name: PrimitiveName): DataType {
  switch (name) {
    case 'float16': return new Float16();
    case 'float32': return new Float32();
    case 'float64': return new Float64();
    case 'int8': return new Int8();
    case 'int16': return new Int16();
    case 'int32': return new Int32();
    case 'int64': return new Int64();
    case 'uint8': return new Uint8();
    case 'uint16': return new Uint16();
    case 'uint32': return new Uint32();
  }
}

/**
 * A column of fixed-size lists built from one flat array without copying. `shape` lists the
 * list sizes from outer to inner: [784] gives FixedSizeList<784>, [T, k] gives FixedSizeList<T> of FixedSizeList<k>.
 */
export function fixedSizeListVector(values: NumericArray, shape: readonly number[], element: PrimitiveName): Vector {
  const per = shape.reduce((a, b) => a * b, 1);
  if (per === 0 || values.length % per !== 0) {
    throw new RangeError(`expected a multiple of ${per} values for shape [${shape.join(',')}], got ${values.length}`);
  }
  const length = values.length / per;
  let type: DataType = primitiveType(element);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let data: any = makeData({ type, length: values.length, nullCount: 0, data: values } as any);
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    type = new FixedSizeList(size, new Field('item', type, false));
    data = makeData({ type, length: data.length / size, nullCount: 0, child: data } as any);
  }
  if (data.length !== length) throw new Error(`internal: expected ${length} rows, got ${data.length}`);
  return makeVector(data);
}

/** A plain primitive column from a typed array (no copy). */
export function primitiveVector(values: NumericArray, element: PrimitiveName): Vector {
  return makeVector(makeData({ type: primitiveType(element), length: values.length, nullCount: 0, data: values } as any));
}

/**
 * The flat, row-major values of a (possibly nested) fixed-size-list or primitive column, as one
 * typed array. Zero-copy when the column is one contiguous chunk; otherwise chunks are concatenated.
 */
export function flatValues(vector: Vector): NumericArray {
  const parts: NumericArray[] = [];
  for (const chunk of vector.data) {
    // arrow-js slices children with their parent and subarrays the leaf's values buffer,
    // so the leaf's values already start at this chunk's first element
    let d = chunk;
    let length = d.length;
    while (d.children.length > 0) {
      const size = (d.type as FixedSizeList).listSize;
      if (size === undefined) throw new TypeError(`expected a fixed-size list column, got ${String(d.type)}`);
      length *= size;
      d = d.children[0]!;
    }
    const values = d.values as NumericArray;
    parts.push(values.subarray(0, length) as NumericArray);
  }
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const Ctor = (parts[0] ?? new Float32Array(0)).constructor as new (n: number) => NumericArray;
  const out = new Ctor(total);
  let at = 0;
  for (const p of parts) { (out as Float32Array).set(p as Float32Array, at); at += p.length; }
  return out;
}

/** Values per row of a (possibly nested) fixed-size-list type; 1 for primitives. */
export function valuesPerRow(type: DataType): number {
  let n = 1;
  let t: DataType = type;
  while (t instanceof FixedSizeList) { n *= t.listSize; t = t.children[0]!.type; }
  return n;
}

/** True when a (possibly nested) fixed-size-list type holds numbers (ints or floats) at its leaf. */
export function isNumericType(type: DataType): boolean {
  let t: DataType = type;
  while (t instanceof FixedSizeList) t = t.children[0]!.type;
  return DataType.isInt(t) || DataType.isFloat(t);
}

/** List sizes of a (possibly nested) fixed-size-list type from outer to inner; [] for primitives. */
export function listShape(type: DataType): number[] {
  const shape: number[] = [];
  let t: DataType = type;
  while (t instanceof FixedSizeList) { shape.push(t.listSize); t = t.children[0]!.type; }
  return shape;
}
