/**
 * Hand-written protobuf encoding of the two tensorflow.Event shapes kennis writes
 * (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto):
 *   Event   { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5; } }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; oneof { float simple_value = 2; } }
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** Growable byte buffer with the few protobuf primitives needed here. */
class ProtoWriter {
  private parts: Uint8Array[] = [];

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  /** Unsigned varint; negative int64 values arrive as their 64-bit two's complement. */
  varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    const out: number[] = [];
    do {
      const byte = Number(x & 0x7fn);
      x >>= 7n;
      out.push(x > 0n ? byte | 0x80 : byte);
    } while (x > 0n);
    this.parts.push(Uint8Array.from(out));
  }

  double(field: number, v: number): void {
    this.key(field, WIRE_FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.parts.push(b);
  }

  float(field: number, v: number): void {
    this.key(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(b);
  }

  int64(field: number, v: number): void {
    this.key(field, WIRE_VARINT);
    this.varint(BigInt(v));
  }

  bytes(field: number, b: Uint8Array): void {
    this.key(field, WIRE_LEN);
    this.varint(BigInt(b.length));
    this.parts.push(b);
  }

  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** The first record of every event file: `file_version`. */
export function encodeFileVersionEvent(wallTime: number, version: string): Uint8Array {
  const w = new ProtoWriter();
  w.double(1, wallTime);
  w.string(3, version);
  return w.finish();
}

/** One Event at `step` with a Summary of simple_value scalars. */
export function encodeScalarsEvent(wallTime: number, step: number, values: readonly (readonly [string, number])[]): Uint8Array {
  const summary = new ProtoWriter();
  for (const [tag, value] of values) {
    const v = new ProtoWriter();
    v.string(1, tag);
    v.float(2, value);
    summary.bytes(1, v.finish());
  }
  const w = new ProtoWriter();
  w.double(1, wallTime);
  w.int64(2, step);
  w.bytes(5, summary.finish());
  return w.finish();
}
