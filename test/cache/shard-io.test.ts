import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as arrow from 'apache-arrow';
import { decodeShard, describeSchema, encodeShard, type ShardFormat } from '../../src/cache/index.js';
import { fixedSizeListVector, flatValues, listShape, primitiveVector, type NumericArray, type PrimitiveName } from '../../src/core/util/arrow.js';
import { Rng } from '../../src/core/util/rng.js';

const N = 37;
const T = 3;

interface Col { name: string; values: NumericArray; shape: number[]; element: PrimitiveName }

/** Columns of every type the cache stores, including edge values (max ints, inf/NaN/subnormal halves). */
function columns(): Col[] {
  const rng = new Rng(5);
  const f32 = new Float32Array(N * 5).map(() => rng.normal());
  f32.set([0, -0, Infinity, -Infinity, NaN, 1e-45, 3.4028234663852886e38], 0);
  const f16 = new Uint16Array(N * 4).map(() => rng.int(65536));
  f16.set([0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x0001, 0x03ff, 0x7bff], 0);
  const u8 = new Uint8Array(N * 4).map(() => rng.int(256));
  u8[0] = 255;
  const u16 = new Uint16Array(N * 2).map(() => rng.int(65536));
  u16[0] = 65535;
  const u32 = new Uint32Array(N * 2).map(() => rng.nextUint32());
  u32[0] = 4294967295;
  return [
    { name: 'image', values: f32, shape: [5], element: 'float32' },
    { name: 'logits16', values: f16, shape: [4], element: 'float16' },
    { name: 'label', values: new Int32Array(N).map((_, i) => (i % 2 ? -i : i * 1000003)), shape: [], element: 'int32' },
    { name: 'row', values: new Int32Array(N).map((_, i) => i), shape: [], element: 'int32' },
    { name: 'ids8', values: u8, shape: [4], element: 'uint8' },
    { name: 'ids16', values: u16, shape: [2], element: 'uint16' },
    { name: 'ids32', values: u32, shape: [2], element: 'uint32' },
    { name: 'lse', values: new Float32Array(N).map(() => rng.normal()), shape: [], element: 'float32' },
    { name: 'seq_logits16', values: new Uint16Array(N * T * 2).map(() => rng.int(0x7c00)), shape: [T, 2], element: 'float16' },
    { name: 'seq_ids32', values: new Uint32Array(N * T * 2).map(() => rng.nextUint32()), shape: [T, 2], element: 'uint32' },
    { name: 'seq_logits32', values: new Float32Array(N * T * 3).map(() => rng.normal()), shape: [T, 3], element: 'float32' },
    { name: 'seq_counts16', values: new Uint16Array(N * T * 2).map(() => rng.int(65536)), shape: [T, 2], element: 'uint16' },
  ];
}

function tableOf(cols: Col[], from = 0, to = N): arrow.Table {
  const vectors: Record<string, arrow.Vector> = {};
  for (const c of cols) {
    const per = c.shape.reduce((a, b) => a * b, 1);
    const values = c.values.subarray(from * per, to * per) as NumericArray;
    vectors[c.name] = c.shape.length === 0 ? primitiveVector(values, c.element) : fixedSizeListVector(values, c.shape, c.element);
  }
  return new arrow.Table(vectors);
}

const bytesOf = (a: NumericArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const expectedType: Record<PrimitiveName, string> = {
  float16: 'Float16', float32: 'Float32', float64: 'Float64', int8: 'Int8', int16: 'Int16', int32: 'Int32', int64: 'Int64', uint8: 'Uint8', uint16: 'Uint16', uint32: 'Uint32',
};

for (const format of ['parquet', 'arrow'] as ShardFormat[]) {
  test(`${format}: every column type round-trips bit-exactly with its FixedSizeList shape`, () => {
    const cols = columns();
    const decoded = decodeShard(encodeShard(tableOf(cols), format), format);
    assert.equal(decoded.numRows, N);
    assert.equal(decoded.batches.length, 1);
    assert.deepEqual(decoded.schema.fields.map((f) => f.name), cols.map((c) => c.name));
    for (const c of cols) {
      const v = decoded.getChild(c.name)!;
      // the type string written independently from the shape and element
      const want = c.shape.reduceRight((inner, size) => `FixedSizeList[${size}]<${inner}>`, expectedType[c.element]);
      assert.equal(String(v.type), want, c.name);
      assert.deepEqual(listShape(v.type), c.shape, c.name);
      const got = flatValues(v);
      assert.equal(got.constructor, c.values.constructor, `${c.name} array type`);
      assert.deepEqual(bytesOf(got), bytesOf(c.values), `${c.name} values`);
    }
  });

  test(`${format}: encoding is deterministic, independent of chunking, and stable through decode`, () => {
    const cols = columns();
    const a = encodeShard(tableOf(cols), format);
    const b = encodeShard(tableOf(cols), format);
    assert.deepEqual(a, b);
    const chunked = new arrow.Table([...tableOf(cols, 0, 10).batches, ...tableOf(cols, 10, 25).batches, ...tableOf(cols, 25, N).batches]);
    assert.equal(chunked.batches.length, 3);
    assert.deepEqual(encodeShard(chunked, format), a);
    assert.deepEqual(encodeShard(decodeShard(a, format), format), a);
  });

  test(`${format}: describeSchema of the decoded table equals that of the written one`, () => {
    const t = tableOf(columns());
    assert.deepEqual(describeSchema(decodeShard(encodeShard(t, format), format).schema), describeSchema(t.schema));
  });
}

test('parquet shards start and end with the PAR1 magic and arrow shards with ARROW1', () => {
  const t = tableOf(columns());
  const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const pq = encodeShard(t, 'parquet');
  assert.equal(text(pq.subarray(0, 4)), 'PAR1');
  assert.equal(text(pq.subarray(pq.length - 4)), 'PAR1');
  const ipc = encodeShard(t, 'arrow');
  assert.equal(text(ipc.subarray(0, 6)), 'ARROW1');
});

test('a column with nulls in a chunked table is refused with a CacheError naming it', () => {
  const part = (values: (number | null)[]) => new arrow.Table({ x: arrow.vectorFromArray(values, new arrow.Int32()) }).batches[0]!;
  const t = new arrow.Table([part([1, 2, 3]), part([4, null, 6])]);
  assert.throws(() => encodeShard(t, 'parquet'), { name: 'CacheError', message: /column 'x' has 1 nulls/ });
});
