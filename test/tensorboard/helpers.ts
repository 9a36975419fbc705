import assert from 'node:assert/strict';

/** An independent reader of event files: bitwise CRC-32C, TFRecord unframing, protobuf wire decoding. */
export function crcBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let i = 0; i < 8; i++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

export function masked(bytes: Uint8Array): number {
  const c = crcBitwise(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** Splits a TFRecord file, asserting both CRCs of every record. */
export function readRecords(file: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < file.length) {
    assert.ok(at + 12 <= file.length, 'truncated record header');
    const len = Number(file.readBigUInt64LE(at));
    assert.equal(file.readUInt32LE(at + 8), masked(file.subarray(at, at + 8)), `length CRC of record ${out.length}`);
    const data = file.subarray(at + 12, at + 12 + len);
    assert.equal(data.length, len, 'truncated record data');
    assert.equal(file.readUInt32LE(at + 12 + len), masked(data), `data CRC of record ${out.length}`);
    out.push(data);
    at += 12 + len + 4;
  }
  return out;
}

export type Field = { field: number; wire: number; int?: bigint; bytes?: Uint8Array; f64?: number; f32?: number };

export function parseMessage(b: Uint8Array): Field[] {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fields: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      const byte = b[at++]!;
      x |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return x;
      shift += 7n;
    }
  };
  while (at < b.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    if (wire === 0) fields.push({ field, wire, int: varint() });
    else if (wire === 1) { fields.push({ field, wire, f64: view.getFloat64(at, true) }); at += 8; }
    else if (wire === 5) { fields.push({ field, wire, f32: view.getFloat32(at, true) }); at += 4; }
    else if (wire === 2) { const n = Number(varint()); fields.push({ field, wire, bytes: b.subarray(at, at + n) }); at += n; }
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return fields;
}

