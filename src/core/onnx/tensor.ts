import { endianness } from 'node:os';
import { KennisError } from '../errors/index.js';
import { DataType, type Int64, type TensorProto, type TensorShapeDimension, type ValueInfoProto } from './types.js';

/** Element types by name (float16 and bool need the name: their arrays are Uint16Array / Uint8Array). */
export type ElemType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

/** Typed arrays a tensor can be built from or read into. */
export type TensorArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** A dimension: a fixed size, or a symbolic name (dim_param) for a dynamic one. */
export type Dim = number | string;

interface ElemInfo { code: number; make: (buf: ArrayBuffer, offset: number, length: number) => TensorArray; bytes: number }

const ELEM: Record<ElemType, ElemInfo> = {
  float32: { code: DataType.FLOAT, bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  float64: { code: DataType.DOUBLE, bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  float16: { code: DataType.FLOAT16, bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  bfloat16: { code: DataType.BFLOAT16, bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  int8: { code: DataType.INT8, bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  int16: { code: DataType.INT16, bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  int32: { code: DataType.INT32, bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  int64: { code: DataType.INT64, bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  uint8: { code: DataType.UINT8, bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  uint16: { code: DataType.UINT16, bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  uint32: { code: DataType.UINT32, bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  uint64: { code: DataType.UINT64, bytes: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
  bool: { code: DataType.BOOL, bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
};

const LITTLE_ENDIAN = endianness() === 'LE';

/** ONNX DataType code of an element type name. */
export function dataTypeOf(elem: ElemType): number {
  return ELEM[elem].code;
}

/** Element type name of an ONNX DataType code, or undefined for types kennis does not read (string, complex). */
export function elemTypeOf(code: number): ElemType | undefined {
  return (Object.keys(ELEM) as ElemType[]).find((k) => ELEM[k].code === code);
}

/** The element type an array holds by default (Uint16Array -> uint16, Uint8Array -> uint8). */
export function elemTypeOfArray(data: TensorArray): ElemType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigUint64Array) return 'uint64';
  return 'uint8';
}

/** Number of elements of a static shape. */
export function shapeSize(dims: readonly number[]): number {
  return dims.reduce((a, d) => a * d, 1);
}

/** A TensorProto holding `data` as little-endian raw_data (a view, not a copy, on little-endian hosts). */
export function tensorFromArray(name: string, data: TensorArray, dims: readonly number[], elem: ElemType = elemTypeOfArray(data)): TensorProto {
  if (shapeSize(dims) !== data.length) {
    throw new KennisError(`tensor '${name}' expected ${shapeSize(dims)} values for shape [${dims.join(',')}], got ${data.length}`);
  }
  let raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (!LITTLE_ENDIAN && ELEM[elem].bytes > 1) raw = swapBytes(raw, ELEM[elem].bytes);
  return { name, dims: [...dims], dataType: ELEM[elem].code, rawData: raw };
}

/** Reads a TensorProto's values (raw_data or the typed *_data fields) into a fresh typed array. */
export function tensorToArray(t: TensorProto): TensorArray {
  const elem = elemTypeOf(t.dataType ?? 0);
  if (!elem) throw new KennisError(`tensor '${t.name}' has data type ${t.dataType}; expected a numeric ONNX type`);
  if (t.dataLocation === 1) throw new KennisError(`tensor '${t.name}' stores its data externally; load the model with its external data files`);
  const info = ELEM[elem];
  const n = shapeSize((t.dims ?? []).map(Number));
  if (t.rawData) {
    let raw: Uint8Array = t.rawData.slice();
    if (!LITTLE_ENDIAN && info.bytes > 1) raw = swapBytes(raw, info.bytes);
    return info.make(raw.buffer as ArrayBuffer, 0, raw.byteLength / info.bytes);
  }
  const out = info.make(new ArrayBuffer(n * info.bytes), 0, n);
  const src: readonly (number | Int64)[] = t.floatData ?? t.doubleData ?? t.int32Data ?? t.int64Data ?? t.uint64Data ?? [];
  if (src.length !== n) throw new KennisError(`tensor '${t.name}' expected ${n} values, got ${src.length}`);
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < n; i++) (out as unknown as (number | bigint)[])[i] = big ? BigInt(src[i]!) : Number(src[i]!);
  return out;
}

/** A ValueInfoProto for a tensor of the given element type and dims (undefined dims: unknown rank). */
export function tensorValueInfo(name: string, elem: ElemType | number, dims?: readonly Dim[]): ValueInfoProto {
  const elemType = typeof elem === 'number' ? elem : dataTypeOf(elem);
  const dim: TensorShapeDimension[] | undefined = dims?.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: dims ? { elemType, shape: { dim: dim ?? [] } } : { elemType } } };
}

/** The dims of a tensor ValueInfoProto (numbers, symbolic names, or undefined for an unnamed dynamic dim); undefined when the rank is unknown. */
export function valueInfoDims(info: ValueInfoProto): (Dim | undefined)[] | undefined {
  const shape = info.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => (d.dimValue !== undefined ? Number(d.dimValue) : d.dimParam));
}

function swapBytes(raw: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += width) for (let j = 0; j < width; j++) out[i + j] = raw[i + width - 1 - j]!;
  return out;
}
