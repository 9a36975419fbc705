import protobuf from 'protobufjs';
import { TeacherError } from '../errors/index.js';
import { ONNX_SCHEMA } from './proto-schema.js';
import type { ModelProto } from './types.js';

const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
const ModelType = root.lookupType('onnx.ModelProto');
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

type Obj = Record<string, unknown> & { $unknowns?: Uint8Array[] };

/** Decodes serialized ModelProto bytes into plain objects; tensor bytes stay views of `bytes` (no copy). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const reader = protobuf.Reader.create(bytes);
  // keep fields this schema does not name, so re-encoding an edited teacher loses nothing
  reader.discardUnknown = false;
  let message: protobuf.Message;
  try {
    message = ModelType.decode(reader);
  } catch (err) {
    throw new TeacherError(`cannot decode ONNX model (${(err as Error).message}); expected the bytes of an .onnx file (onnx.ModelProto)`, { cause: err });
  }
  return fromWire(message) as ModelProto;
}

/** Encodes a plain ModelProto object to bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  return ModelType.encode(toWire(model) as protobuf.Message).finish();
}

function withUnknowns(out: Obj, unknowns: Uint8Array[] | undefined): Obj {
  if (unknowns?.length) Object.defineProperty(out, '$unknowns', { value: unknowns, enumerable: false, writable: true, configurable: true });
  return out;
}

/** protobufjs message -> plain object: Long -> number|bigint, Buffer -> Uint8Array view, empty repeated fields dropped. */
function fromWire(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (isLong(v)) {
    const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    const big = v.unsigned ? bits : BigInt.asIntN(64, bits);
    return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
  }
  if (Array.isArray(v)) return v.map(fromWire);
  const out: Obj = {};
  for (const key of Object.keys(v)) {
    const x = (v as Obj)[key];
    if (x == null || (Array.isArray(x) && x.length === 0) || key === '$unknowns') continue;
    out[key] = fromWire(x);
  }
  return withUnknowns(out, (v as Obj).$unknowns);
}

function isLong(v: object): v is protobuf.Long {
  const l = v as Partial<protobuf.Long>;
  return typeof l.low === 'number' && typeof l.high === 'number' && typeof l.unsigned === 'boolean';
}

/** Plain object -> what the protobufjs encoder accepts: bigint -> {low, high} bits (a raw bigint would be written as 0). */
function toWire(v: unknown): unknown {
  if (typeof v === 'bigint') {
    const bits = BigInt.asUintN(64, v);
    return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: v >= 0n };
  }
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return v.map(toWire);
  const out: Obj = {};
  for (const key of Object.keys(v)) out[key] = toWire((v as Obj)[key]);
  return withUnknowns(out, (v as Obj).$unknowns);
}
