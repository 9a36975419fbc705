// DuckDB as a second reader of precomputed Parquet shards: the same values as kennis's readShards,
// packed list columns as blobs of bytes (decoded in SQL as docs/cache-format.md shows), and with
// cache.layout=lists as DuckDB's own lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { duckdbQuery } from '../fixtures/duckdb.js';
import { readShards } from '../../src/cache/index.js';
import { precompute } from '../../src/precompute/index.js';
import { flatValues } from '../../src/core/util/arrow.js';
import { mlpClassifier, sequenceModel } from '../fixtures/teachers.js';
import { recipeIn, tempDir } from './helpers.js';

const query = duckdbQuery;

const quoted = (file: string): string => `'${file.replaceAll("'", "''")}'`;

/** The SQL that turns a packed blob of bytes into DuckDB's list of UTINYINT (docs/cache-format.md). */
const bytesOf = (column: string): string => `list_transform(range(octet_length(${column})), i -> ('0x' || substr(hex(${column}), 2 * i + 1, 2))::UTINYINT)`;

test('DuckDB reads label and logsumexp of a packed classification shard, and its packed pixels and topk_ids as bytes, as readShards returns them', async () => {
  const dir = await tempDir('pre-duck');
  writeFileSync(path.join(dir, 'mlp.onnx'), mlpClassifier({ seed: 81 }).bytes);
  const k = 5;
  const s = await precompute(recipeIn(dir, {
    teacher: { path: 'mlp.onnx', batch_size: 64 },
    dataset: { name: 'mnist', split: 'train', limit: 300 },
    targets: { kind: 'topk', k, dtype: 'float16' },
    cache: { root: 'cache', shard_rows: 128 },
  }));
  const first = quoted(path.join(s.cacheDir, 'part-00000.parquet'));
  const types = await query(`select column_name, column_type from (describe select * from read_parquet(${first}))`);
  assert.deepEqual(Object.fromEntries(types.map((t) => [t['column_name'], t['column_type']])),
    { image: 'BLOB', label: 'INTEGER', row: 'INTEGER', topk_ids: 'BLOB', topk_logits: 'BLOB', logsumexp: 'FLOAT' });
  let checked = 0;
  for await (const { entry, table } of readShards(s.cacheDir)) {
    const image = flatValues(table.getChild('image')!);
    const ids = flatValues(table.getChild('topk_ids')!);
    const lse = flatValues(table.getChild('logsumexp')!);
    const label = flatValues(table.getChild('label')!);
    const rows = await query(`select "row", label, ${bytesOf('image')} as image, ${bytesOf('topk_ids')} as topk_ids, logsumexp from read_parquet(${quoted(path.join(s.cacheDir, entry.file))}) order by "row"`);
    assert.equal(rows.length, entry.rows);
    for (const [i, r] of rows.entries()) {
      assert.equal(r['row'], entry.firstRow + i);
      assert.equal(r['label'], label[i]);
      assert.deepEqual(r['image'], Array.from(image.subarray(i * 784, (i + 1) * 784) as Uint8Array));
      assert.deepEqual(r['topk_ids'], Array.from(ids.subarray(i * k, (i + 1) * k) as Uint8Array));
      assert.equal(r['logsumexp'], lse[i]);
      checked++;
    }
  }
  assert.equal(checked, 300);
});

test('DuckDB reads per-token topk_ids and logsumexp of a cache.layout=lists sequence cache as its own lists, as readShards returns them', async () => {
  const dir = await tempDir('pre-duck-seq');
  writeFileSync(path.join(dir, 'lm.onnx'), sequenceModel({ vocab: 256, dModel: 16, seed: 82 }).bytes);
  const k = 3;
  const T = 8;
  const s = await precompute(recipeIn(dir, {
    teacher: { path: 'lm.onnx', batch_size: 8 },
    dataset: { name: 'moby-dick', split: 'train', seq_len: T, limit: 40 },
    targets: { kind: 'topk', k },
    cache: { root: 'cache', shard_rows: 16, layout: 'lists' },
  }));
  const [agg] = await query(`select count(*)::integer as n, sum(list_sum(logsumexp)::double) as lse from read_parquet(${quoted(path.join(s.cacheDir, 'part-*.parquet'))})`);
  let lseSum = 0;
  for await (const { entry, table } of readShards(s.cacheDir)) {
    const ids = flatValues(table.getChild('topk_ids')!) as Uint8Array;
    const lse = flatValues(table.getChild('logsumexp')!) as Float32Array;
    for (const v of lse) lseSum += v;
    const rows = await query(`select topk_ids, logsumexp from read_parquet(${quoted(path.join(s.cacheDir, entry.file))}) order by "row"`);
    for (const [i, r] of rows.entries()) {
      assert.deepEqual(r['topk_ids'], Array.from({ length: T }, (_, t) => Array.from(ids.subarray((i * T + t) * k, (i * T + t + 1) * k))));
      assert.deepEqual(r['logsumexp'], Array.from(lse.subarray(i * T, (i + 1) * T)));
    }
  }
  assert.equal(agg!['n'], 40);
  assert.ok(Math.abs((agg!['lse'] as number) - lseSum) <= 1e-6 * Math.abs(lseSum), `DuckDB sum ${agg!['lse']} vs ${lseSum}`);
});
