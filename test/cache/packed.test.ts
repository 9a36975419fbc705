// Packed list columns (cache.layout=packed): one FixedSizeBinary value per row holding the row's
// values little-endian and row-major, turned back into exactly the lists that were written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as arrow from 'apache-arrow';
import { CacheWriter, decodeShard, encodeShard, packColumns, readManifest, readShards, unpackColumns, verifyCache, writeManifest, type PackedColumns, type ShardFormat } from '../../src/cache/index.js';
import { CacheError } from '../../src/core/errors/index.js';
import { flatValues, type NumericArray } from '../../src/core/util/arrow.js';
import { toFloat16Bits } from '../../src/core/util/float16.js';
import { ALL_TYPES_ROWS as N, allTypeColumns, allTypesTable, half64, seqTopkDraft, seqTopkRows, seqTopkTable, type Col } from './helpers.js';
import { tempDir } from './tmp.js';

/** Every list column of `cols` packed. */
function packedOf(cols: Col[]): PackedColumns {
  return Object.fromEntries(cols.filter((c) => c.shape.length > 0).map((c) => [c.name, { element: c.element as PackedColumns[string]['element'], shape: c.shape }]));
}

/** A value as float64, independently of the array type: float16 bits by the IEEE 754 definition. */
function float64Of(c: Col, v: number | bigint): number {
  return c.element === 'float16' ? half64(Number(v)) : Number(v);
}

/** Row `r`'s values of `c`, little-endian, written one by one with DataView (an independent statement of the packed layout). */
function littleEndianRow(c: Col, r: number): Uint8Array {
  const per = c.shape.reduce((a, b) => a * b, 1);
  const size = c.values.BYTES_PER_ELEMENT;
  const view = new DataView(new ArrayBuffer(per * size));
  for (let j = 0; j < per; j++) {
    const v = c.values[r * per + j]!;
    const at = j * size;
    switch (c.element) {
      case 'float32': view.setFloat32(at, v as number, true); break;
      case 'float64': view.setFloat64(at, v as number, true); break;
      case 'float16': case 'uint16': view.setUint16(at, v as number, true); break;
      case 'int16': view.setInt16(at, v as number, true); break;
      case 'uint32': view.setUint32(at, v as number, true); break;
      case 'int32': view.setInt32(at, v as number, true); break;
      case 'uint8': view.setUint8(at, v as number); break;
      case 'int8': view.setInt8(at, v as number); break;
      case 'int64': view.setBigInt64(at, v as bigint, true); break;
    }
  }
  return new Uint8Array(view.buffer);
}

function assertSameValues(got: NumericArray, c: Col, what: string): void {
  assert.equal(got.constructor, c.values.constructor, `${what}: array type`);
  assert.equal(got.length, c.values.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const a = float64Of(c, got[i]!);
    const b = float64Of(c, c.values[i]!);
    // Object.is: NaN equals NaN, and -0 must stay -0
    if (!Object.is(a, b)) assert.fail(`${what}: value ${i} is ${a}, wrote ${b}`);
  }
}

for (const format of ['parquet', 'arrow'] as ShardFormat[]) {
  test(`${format}: packed list columns are one FixedSizeBinary value per row of little-endian bytes and unpack to the values written (float64 comparison)`, () => {
    const cols = allTypeColumns();
    const packed = packedOf(cols);
    const file = decodeShard(encodeShard(allTypesTable(cols), format, packed), format);
    for (const c of cols) {
      const v = file.getChild(c.name)!;
      if (c.shape.length === 0) { assert.equal(String(v.type), String(allTypesTable(cols).getChild(c.name)!.type), c.name); continue; }
      const width = c.shape.reduce((a, b) => a * b, c.values.BYTES_PER_ELEMENT);
      assert.equal(String(v.type), `FixedSizeBinary[${width}]`, c.name);
      for (const r of [0, 1, N - 1]) assert.deepEqual(v.get(r), littleEndianRow(c, r), `${c.name} row ${r}`);
    }
    const unpacked = unpackColumns(file, packed);
    assert.equal(unpacked.problem, undefined);
    for (const c of cols) {
      assert.equal(String(unpacked.table!.getChild(c.name)!.type), String(allTypesTable(cols).getChild(c.name)!.type), `${c.name} type`);
      assertSameValues(flatValues(unpacked.table!.getChild(c.name)!), c, c.name);
    }
  });

  test(`${format}: packed encoding is deterministic and independent of chunking and slicing`, () => {
    const cols = allTypeColumns();
    const packed = packedOf(cols);
    const whole = encodeShard(allTypesTable(cols), format, packed);
    const chunked = new arrow.Table([...allTypesTable(cols, 0, 10).batches, ...allTypesTable(cols, 10, N).batches]);
    assert.deepEqual(encodeShard(chunked, format, packed), whole);
    // a slice of a larger table packs only its own rows
    const middle = allTypesTable(cols).slice(10, 25);
    const copied = allTypesTable(cols.map((c) => {
      const per = c.shape.reduce((a, b) => a * b, 1);
      return { ...c, values: c.values.slice(10 * per, 25 * per) as NumericArray };
    }), 0, 15);
    assert.deepEqual(encodeShard(middle, format, packed), encodeShard(copied, format, packed));
  });
}

test('packed bytes at an offset not aligned for the element type are copied, not misread', () => {
  const values = Float32Array.from({ length: 12 }, (_, i) => i * 1.5 - 4);
  const bytes = new Uint8Array(values.byteLength + 1).subarray(1);
  bytes.set(new Uint8Array(values.buffer));
  const vector = arrow.makeVector(arrow.makeData({ type: new arrow.FixedSizeBinary(16), length: 3, nullCount: 0, data: bytes }));
  const { table, problem } = unpackColumns(new arrow.Table({ x: vector }), { x: { element: 'float32', shape: [4] } });
  assert.equal(problem, undefined);
  assert.deepEqual(flatValues(table!.getChild('x')!), values);
});

test('packing refuses a column that is not the declared lists, and a declared column that is missing, with a CacheError naming it', () => {
  const t = allTypesTable(allTypeColumns());
  assert.throws(() => packColumns(t, { image: { element: 'float32', shape: [4] } }), (e: unknown) => e instanceof CacheError && /column 'image' has type FixedSizeList\[5\]<Float32>, but the cache stores it packed as FixedSizeList\[4\]<Float32>/.test(e.message));
  assert.throws(() => packColumns(t, { pixels: { element: 'uint8', shape: [4] } }), (e: unknown) => e instanceof CacheError && /no column 'pixels'/.test(e.message));
  const file = decodeShard(encodeShard(t, 'arrow', { image: { element: 'float32', shape: [5] } }), 'arrow');
  assert.match(unpackColumns(file, { image: { element: 'float64', shape: [5] } }).problem!, /column 'image' of type FixedSizeBinary\[20\], expected FixedSizeBinary\[40\]/);
  assert.match(unpackColumns(file, { ids8: { element: 'uint8', shape: [4] } }).problem!, /column 'ids8' of type FixedSizeList\[4\]<Uint8>, expected FixedSizeBinary\[4\]/);
});

test('a CacheWriter with packedColumns records them, readShards gives back the lists, and a manifest that misstates them fails verify naming the column', async () => {
  const dir = await tempDir('packed');
  const packed: PackedColumns = {
    input_ids: { element: 'int32', shape: [4] }, labels: { element: 'int32', shape: [4] },
    topk_ids: { element: 'uint8', shape: [4, 3] }, topk_logits: { element: 'float16', shape: [4, 3] }, logsumexp: { element: 'float32', shape: [4] },
  };
  const w = await CacheWriter.open(dir, { ...seqTopkDraft(10, 4), packedColumns: packed });
  const src = seqTopkRows(0, 10, toFloat16Bits);
  for (let i = 0; i < 3; i++) {
    const { firstRow, rows } = w.shardRange(i);
    await w.writeShard(i, seqTopkTable(seqTopkRows(firstRow, rows, toFloat16Bits)));
  }
  const m = await w.finish();
  assert.deepEqual(m.packedColumns, packed);
  // the manifest's schema is the lists readers get, as in a cache of lists
  assert.deepEqual(m.schema.map((f) => f.type), ['FixedSizeList[4]<Int32>', 'FixedSizeList[4]<Int32>', 'Int32', 'FixedSizeList[4]<FixedSizeList[3]<Uint8>>', 'FixedSizeList[4]<FixedSizeList[3]<Float16>>', 'FixedSizeList[4]<Float32>']);
  const got: Record<string, number[]> = {};
  for await (const { table } of readShards(dir, { verify: true })) {
    for (const f of table.schema.fields) (got[f.name] ??= []).push(...Array.from(flatValues(table.getChild(f.name)!), Number));
  }
  const want = { input_ids: src.inputIds, labels: src.labels, row: src.row, topk_ids: src.topkIds, topk_logits: src.topkLogits, logsumexp: src.logsumexp };
  for (const [name, values] of Object.entries(want)) assert.deepEqual(got[name], Array.from(values, Number), name);
  assert.equal((await verifyCache(dir)).ok, true);

  await writeManifest(dir, { ...m, packedColumns: { ...packed, topk_logits: { element: 'float32', shape: [4, 3] } } });
  const report = await verifyCache(dir);
  assert.equal(report.ok, false);
  assert.match(report.message, /column 'topk_logits' of type FixedSizeBinary\[24\], expected FixedSizeBinary\[48\] \(the manifest stores it packed as FixedSizeList\[4\]<FixedSizeList\[3\]<Float32>>\)/);
  const { packedColumns: _, ...lists } = await readManifest(dir);
  await writeManifest(dir, lists);
  assert.match((await verifyCache(dir)).message, /does not have the manifest's schema/);
});
