import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as arrow from 'apache-arrow';
import { decodeShard, describeSchema, encodeShard, type ShardFormat } from '../../src/cache/index.js';
import { flatValues, listShape, type NumericArray, type PrimitiveName } from '../../src/core/util/arrow.js';
import { ALL_TYPES_ROWS as N, allTypeColumns as columns, allTypesTable as tableOf } from './helpers.js';

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
