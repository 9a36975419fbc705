import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Field, Int32, List, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { DuckDBInstance } from '@duckdb/node-api';
import { DatasetError } from '../../src/core/errors/index.js';
import { fixedSizeListVector, primitiveVector } from '../../src/core/util/index.js';
import { openDataset } from '../../src/data/index.js';
import { collect, column } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kennis-datasets-'));
const N = 23;
// small exact values: k/8 is exact in float32
const image = Float32Array.from({ length: N * 6 }, (_, i) => (i % 17) / 8);
const label = Int32Array.from({ length: N }, (_, i) => (i * 7) % 5);
const tokens = Array.from({ length: N }, (_, i) => [i, i + 1, i + 2]);
const names = Array.from({ length: N }, (_, i) => `r${i}`);
const splits = Array.from({ length: N }, (_, i) => (i % 4 === 0 ? 'test' : 'train'));

function sourceTable(): Table {
  return new Table({
    image: fixedSizeListVector(image, [6], 'float32'),
    label: primitiveVector(label, 'int32'),
    tokens: vectorFromArray(tokens, new List(new Field('item', new Int32(), true))),
    name: vectorFromArray(names, new Utf8()),
    split: vectorFromArray(splits, new Utf8()),
  });
}

function writeAll(): { parquet: string; arrowFile: string; arrowStream: string; jsonl: string } {
  const table = sourceTable();
  const paths = { parquet: join(dir, 'd.parquet'), arrowFile: join(dir, 'd.arrow'), arrowStream: join(dir, 'd.arrows'), jsonl: join(dir, 'd.jsonl') };
  writeFileSync(paths.parquet, writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream'))));
  writeFileSync(paths.arrowFile, tableToIPC(table, 'file'));
  writeFileSync(paths.arrowStream, tableToIPC(table, 'stream'));
  const lines = names.map((name, i) => JSON.stringify({
    image: Array.from(image.subarray(i * 6, i * 6 + 6)), label: label[i], tokens: tokens[i], name, split: splits[i],
  }));
  writeFileSync(paths.jsonl, `${lines.join('\n')}\n`);
  return paths;
}
const paths = writeAll();

test('file datasets: parquet, arrow file/stream and jsonl read back exactly', async () => {
  for (const [kind, path] of Object.entries(paths)) {
    const ds = await openDataset({ name: 'file', path, label: 'label', dtypes: kind === 'jsonl' ? { tokens: 'int32' } : undefined });
    assert.equal(ds.numRows, N, kind);
    assert.equal(ds.split, 'all');
    assert.equal(ds.labelColumn, 'label');
    assert.equal(ds.numClasses, Math.max(...label) + 1);
    const types = Object.fromEntries(ds.schema.fields.map((f) => [f.name, String(f.type)]));
    assert.equal(types.image, 'FixedSizeList[6]<Float32>', kind);
    assert.equal(types.label, 'Int32', kind);
    assert.equal(types.tokens, 'FixedSizeList[3]<Int32>', kind);
    assert.equal(types.row, 'Int32', kind);
    const batches = await collect(ds, { batchSize: 5 });
    assert.deepEqual(batches.map((b) => b.numRows), [5, 5, 5, 5, 3]);
    assert.deepEqual(column(batches, 'image'), Array.from(image), kind);
    assert.deepEqual(column(batches, 'label'), Array.from(label), kind);
    assert.deepEqual(column(batches, 'tokens'), tokens.flat(), kind);
    assert.deepEqual(column(batches, 'row'), Array.from({ length: N }, (_, i) => i));
    assert.deepEqual(batches.flatMap((b) => b.getChild('name')!.toArray() as string[]), names, kind);
    assert.deepEqual(batches.flatMap((b) => b.getChild('split')!.toArray() as string[]), splits, kind);
  }
});

test('file datasets: column selection, renaming, splitColumn, limit, dtypes', async () => {
  const ds = await openDataset({
    name: 'file', path: paths.parquet, split: 'test', splitColumn: 'split', columns: { x: 'image', y: 'label' }, label: 'y', limit: 5,
  });
  assert.deepEqual(ds.schema.fields.map((f) => f.name), ['x', 'y', 'row']);
  const testRows = splits.flatMap((s, i) => (s === 'test' ? [i] : []));
  assert.equal(ds.numRows, 5);
  const batches = await collect(ds, { batchSize: 2 });
  assert.deepEqual(column(batches, 'y'), testRows.slice(0, 5).map((i) => label[i]!));
  assert.deepEqual(column(batches, 'x'), testRows.slice(0, 5).flatMap((i) => Array.from(image.subarray(i * 6, i * 6 + 6))));
  assert.deepEqual(column(batches, 'row'), [0, 1, 2, 3, 4]);

  const picked = await openDataset({ name: 'file', path: paths.jsonl, columns: ['image'], label: 'label', dtypes: { image: 'float64' } });
  assert.deepEqual(picked.schema.fields.map((f) => `${f.name}:${String(f.type)}`), ['image:FixedSizeList[6]<Float64>', 'label:Int32', 'row:Int32']);
  assert.deepEqual(column(await collect(picked, { batchSize: 100 }), 'image'), Array.from(image));

  await assert.rejects(openDataset({ name: 'file', path: paths.arrowFile, split: 'validation', splitColumn: 'split' }),
    (e: unknown) => e instanceof DatasetError && /split 'validation'/.test(e.message) && /train/.test(e.message) && /test/.test(e.message));
});

test('file datasets: a missing column names the column, the file and its columns', async () => {
  for (const path of [paths.parquet, paths.jsonl]) {
    await assert.rejects(openDataset({ name: 'file', path, columns: { pixels: 'pixels' } }), (e: unknown) => {
      assert.ok(e instanceof DatasetError);
      assert.match(e.message, /'pixels'/);
      assert.ok(e.message.includes(path), e.message);
      assert.match(e.message, /image, label, tokens, name, split/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  }
  await assert.rejects(openDataset({ name: 'file', path: paths.arrowFile, label: 'target' }), /'target'.*image, label/);
  await assert.rejects(openDataset({ name: 'file', path: join(dir, 'nope.parquet') }), /cannot be read/);
  await assert.rejects(openDataset({ name: 'file', path: join(dir, 'd.csv') }), /dataset.format/);
});

test('file datasets: jsonl nested arrays, int dtype checks, ragged lists', async () => {
  const path = join(dir, 'nested.jsonl');
  writeFileSync(path, '{"m": [[1, 2], [3, 4.5]], "c": 2}\n\n{"m": [[5, 6], [7, 8]], "c": 0}\n');
  const ds = await openDataset({ name: 'file', path, label: 'c' });
  assert.equal(String(ds.schema.fields[0]!.type), 'FixedSizeList[2]<FixedSizeList[2]<Float32>>');
  const batches = await collect(ds, { batchSize: 10 });
  assert.deepEqual(column(batches, 'm'), [1, 2, 3, 4.5, 5, 6, 7, 8]);
  assert.deepEqual(column(batches, 'c'), [2, 0]);
  await assert.rejects(openDataset({ name: 'file', path, dtypes: { m: 'int32' } }), /line 1.*'m'.*integers/);
  writeFileSync(join(dir, 'ragged.jsonl'), '{"m": [1, 2]}\n{"m": [1]}\n');
  await assert.rejects(openDataset({ name: 'file', path: join(dir, 'ragged.jsonl') }), /line 2.*shape \[2\]/);

  // ragged Arrow lists stay List; equal-length ones became FixedSizeList above
  const ragged = join(dir, 'ragged.arrow');
  writeFileSync(ragged, tableToIPC(new Table({ t: vectorFromArray([[1], [2, 3]], new List(new Field('item', new Int32(), true))) })));
  const r = await openDataset({ name: 'file', path: ragged });
  assert.match(String(r.schema.fields[0]!.type), /^List/);
  const [b] = await collect(r, { batchSize: 2 });
  assert.deepEqual(Array.from(b!.getChild('t')!.get(1)!), [2, 3]);
});

test('file datasets: multi-chunk Arrow tables come back as one contiguous column', async () => {
  const path = join(dir, 'chunks.arrow');
  const whole = sourceTable();
  // three record batches of 10, 10 and 3 rows
  const chunked = new Table([0, 10, 20].flatMap((at) => whole.slice(at, at + 10).batches));
  assert.equal(chunked.batches.length, 3);
  writeFileSync(path, tableToIPC(chunked, 'file'));
  const ds = await openDataset({ name: 'file', path, split: 'test', splitColumn: 'split' });
  const rows = splits.flatMap((s, i) => (s === 'test' ? [i] : []));
  const batches = await collect(ds, { batchSize: 4 });
  assert.equal(String(ds.schema.fields.find((f) => f.name === 'tokens')!.type), 'FixedSizeList[3]<Int32>');
  assert.deepEqual(column(batches, 'tokens'), rows.flatMap((i) => tokens[i]!));
  assert.deepEqual(column(batches, 'image'), rows.flatMap((i) => Array.from(image.subarray(i * 6, i * 6 + 6))));
  assert.deepEqual(batches.flatMap((b) => b.getChild('name')!.toArray() as string[]), rows.map((i) => names[i]));
});

test('file datasets: a Parquet file written by DuckDB reads like DuckDB reads it', async () => {
  const path = join(dir, 'duck.parquet');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (SELECT i::INTEGER AS label, [i * 0.5, i * 1.5, 2.0]::FLOAT[] AS x, CASE WHEN i % 3 = 0 THEN 'test' ELSE 'train' END AS part
      FROM range(40) t(i)) TO '${path}' (FORMAT parquet)`);
    const ref = (await conn.runAndReadAll(`SELECT label, x FROM '${path}' WHERE part = 'train'`)).getRowObjectsJS() as Array<{ label: number; x: number[] }>;
    const ds = await openDataset({ name: 'file', path, split: 'train', splitColumn: 'part', label: 'label' });
    assert.equal(ds.numRows, ref.length);
    assert.equal(String(ds.schema.fields.find((f) => f.name === 'x')!.type), 'FixedSizeList[3]<Float32>');
    const batches = await collect(ds, { batchSize: 8 });
    assert.deepEqual(column(batches, 'label'), ref.map((r) => r.label));
    assert.deepEqual(column(batches, 'x'), ref.flatMap((r) => r.x));
    assert.deepEqual(ds.schema.fields.map((f) => f.name), ['label', 'x', 'row']);
  } finally {
    conn.closeSync();
  }
});
