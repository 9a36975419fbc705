import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { duckdbQuery } from '../fixtures/duckdb.js';
import { CacheWriter } from '../../src/cache/index.js';
import { toFloat16Bits } from '../../src/core/util/float16.js';
import { classDraft, classRows, classTable, half64, PIXELS, CLASSES, SEQ, TOPK, seqTopkDraft, seqTopkRows, seqTopkTable } from './helpers.js';
import { tempDir } from './tmp.js';

const query = duckdbQuery;

test('DuckDB reads nested FixedSizeList, Float16, uint8 and int32 columns of a parquet shard as written', async () => {
  const dir = await tempDir('duck');
  const w = await CacheWriter.open(dir, seqTopkDraft(6, 6));
  const src = seqTopkRows(0, 6, toFloat16Bits);
  const entry = await w.writeShard(0, seqTopkTable(src));
  await w.finish();
  const file = path.join(dir, entry.file).replaceAll("'", "''");
  const types = await query(`describe select * from read_parquet('${file}')`);
  // Parquet has no fixed-size list; DuckDB sees LIST, and reads Float16 as FLOAT
  assert.deepEqual(types.map((t) => [t['column_name'], t['column_type']]), [
    ['input_ids', 'INTEGER[]'], ['labels', 'INTEGER[]'], ['row', 'INTEGER'], ['topk_ids', 'UTINYINT[][]'], ['topk_logits', 'FLOAT[][]'], ['logsumexp', 'FLOAT[]'],
  ]);
  const rows = await query(`select * from read_parquet('${file}') order by "row"`);
  assert.equal(rows.length, 6);
  for (const [i, r] of rows.entries()) {
    assert.equal(r['row'], i);
    const slice = (flat: ArrayLike<number>, start: number, width: number) => Array.from({ length: width }, (_, j) => flat[start + j]!);
    const at = (flat: ArrayLike<number>, t: number, width: number) => slice(flat, (i * SEQ + t) * width, width);
    assert.deepEqual(r['input_ids'], slice(src.inputIds, i * SEQ, SEQ));
    assert.deepEqual(r['labels'], slice(src.labels, i * SEQ, SEQ));
    assert.deepEqual(r['logsumexp'], slice(src.logsumexp, i * SEQ, SEQ));
    assert.deepEqual(r['topk_ids'], Array.from({ length: SEQ }, (_, t) => at(src.topkIds, t, TOPK)));
    assert.deepEqual(r['topk_logits'], Array.from({ length: SEQ }, (_, t) => at(src.topkLogits, t, TOPK).map(half64)));
  }
});

test('DuckDB sums float32 FixedSizeList values of a multi-shard cache to the float64 total of the source', async () => {
  const dir = await tempDir('duck');
  const w = await CacheWriter.open(dir, classDraft(10, 4));
  for (let i = 0; i < 3; i++) {
    const { firstRow, rows } = w.shardRange(i);
    await w.writeShard(i, classTable(classRows(firstRow, rows)));
  }
  await w.finish();
  const all = classRows(0, 10);
  const glob = path.join(dir, 'part-*.parquet').replaceAll("'", "''");
  const [r] = await query(`select count(*) as n, sum(list_sum(image)::double) as img, sum(list_sum(logits)::double) as lg, sum(label) as lab from read_parquet('${glob}')`);
  let img = 0;
  let lg = 0;
  let lab = 0;
  for (let i = 0; i < 10; i++) {
    let s = 0;
    for (let j = 0; j < PIXELS; j++) s += all.image[i * PIXELS + j]!;
    img += s;
    s = 0;
    for (let c = 0; c < CLASSES; c++) s += all.logits[i * CLASSES + c]!;
    lg += s;
    lab += all.label[i]!;
  }
  assert.equal(Number(r!['n']), 10);
  assert.equal(Number(r!['lab']), lab);
  // list_sum adds float32 values in float32; allow that rounding only
  assert.ok(Math.abs((r!['img'] as number) - img) < 1e-4, `image sum ${String(r!['img'])} vs ${img}`);
  assert.ok(Math.abs((r!['lg'] as number) - lg) < 1e-4, `logits sum ${String(r!['lg'])} vs ${lg}`);
});
