// Narrow stored columns (MNIST pixels as bytes, byte ids as uint8): the manifest records them, the
// loader gives back exactly the values the dataset gave, cache.input_dtype=as_fed keeps them as
// fed, and shards encoded on several threads are byte-identical to those encoded on one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CacheError } from '../../src/core/errors/index.js';
import { decodeStoredColumn, encodeShard, encodeStoredColumn, readManifest, type Manifest, type StoredColumn, type StoredColumns } from '../../src/cache/index.js';
import { openDataset, type Dataset } from '../../src/data/index.js';
import { precompute, shardPayload, shardTable, type BatchOutput } from '../../src/precompute/index.js';
import type { TargetSpec } from '../../src/cache/targets/index.js';
import type { RecordBatch } from 'apache-arrow';
import { CacheLoader } from '../../src/train/loader/index.js';
import { flatValues, type NumericArray } from '../../src/core/util/arrow.js';
import { mlpClassifier, sequenceModel } from '../fixtures/teachers.js';
import { readCache, recipeIn, shardHashes, tempDir } from './helpers.js';

/** Every row of `columns` as the loader gives it (2 decode threads, or 0: on this thread), keyed by dataset row. */
async function loadedRows(dir: string, manifest: Manifest, columns: string[], decodeThreads: number): Promise<Map<number, NumericArray[]>> {
  const loader = new CacheLoader(dir, manifest, { columns: [...columns, 'row'], batchSize: 97, shuffleBuffer: 64, seed: 3, decodeThreads });
  const rows = new Map<number, NumericArray[]>();
  for await (const batch of loader.epoch(0)) {
    const row = batch.columns.row!;
    for (let r = 0; r < batch.size; r++) {
      rows.set(Number(row[r]), columns.map((c) => {
        const all = batch.columns[c]!;
        const per = all.length / batch.size;
        return all.slice(r * per, (r + 1) * per);
      }));
    }
  }
  return rows;
}

/** The dataset's own values of `columns`, by row. */
async function datasetRows(dataset: Dataset, columns: string[]): Promise<Map<number, NumericArray[]>> {
  const rows = new Map<number, NumericArray[]>();
  let at = 0;
  for await (const batch of dataset.batches({ batchSize: 256 })) {
    const values = columns.map((c) => flatValues(batch.getChild(c)!));
    for (let r = 0; r < batch.numRows; r++) rows.set(at + r, values.map((v) => v.slice(r * (v.length / batch.numRows), (r + 1) * (v.length / batch.numRows))));
    at += batch.numRows;
  }
  return rows;
}

function assertSameRows(got: Map<number, NumericArray[]>, want: Map<number, NumericArray[]>, what: string): void {
  assert.equal(got.size, want.size, `${what}: rows`);
  for (const [row, values] of want) {
    const g = got.get(row)!;
    values.forEach((v, c) => {
      assert.equal(g[c]!.constructor, v.constructor, `${what}: row ${row} column ${c} element type`);
      assert.deepEqual(g[c], v, `${what}: row ${row} column ${c}`);
    });
  }
}

test('MNIST pixels are stored as bytes and the loader decodes them to the float32 values the dataset gives', async () => {
  const dir = await tempDir('pre-stored');
  writeFileSync(path.join(dir, 'mlp.onnx'), mlpClassifier({ seed: 5, hidden: [32] }).bytes);
  const raw = (inputDtype: string, root: string) => ({
    teacher: { path: 'mlp.onnx', batch_size: 100 },
    dataset: { name: 'mnist', split: 'train', limit: 500 },
    targets: { kind: 'full', dtype: 'float32' },
    cache: { root, shard_rows: 200, input_dtype: inputDtype },
  });
  const natural = await precompute(recipeIn(dir, raw('natural', 'natural')));
  const asFed = await precompute(recipeIn(dir, raw('as_fed', 'as-fed')));
  assert.notEqual(natural.key, asFed.key, 'the stored dtype is part of the cache key');
  const m = await readManifest(natural.cacheDir);
  const old = await readManifest(asFed.cacheDir);
  assert.equal(m.schema.find((f) => f.name === 'image')!.type, 'FixedSizeList[784]<Uint8>');
  assert.equal(old.schema.find((f) => f.name === 'image')!.type, 'FixedSizeList[784]<Float32>');
  assert.equal(old.dataset.storedColumns, undefined, 'as_fed writes a cache like those written before stored columns');
  const stored = m.dataset.storedColumns!['image']!;
  assert.deepEqual({ dtype: stored.dtype, stored: stored.stored, levels: stored.levels!.length }, { dtype: 'float32', stored: 'uint8', levels: 256 });
  assert.ok(natural.bytes < asFed.bytes, `byte pixels take fewer bytes (${natural.bytes} vs ${asFed.bytes})`);

  const dataset = await openDataset({ name: 'mnist', split: 'train', limit: 500 });
  const want = await datasetRows(dataset, ['image', 'label']);
  // the stored codes index the dataset's values, independently of the loader
  const { columns } = await readCache(natural.cacheDir, { stored: true });
  const levels = Float32Array.from(stored.levels!);
  const codes = columns['image'] as Uint8Array;
  const pixels = flatValues((await dataset.batches({ batchSize: 500 })[Symbol.asyncIterator]().next()).value!.getChild('image')!);
  assert.deepEqual(codes.length, pixels.length);
  for (let i = 0; i < codes.length; i++) if (levels[codes[i]!] !== pixels[i]) assert.fail(`value ${i}: code ${codes[i]} is ${levels[codes[i]!]}, the dataset gives ${pixels[i]}`);
  for (const threads of [2, 0]) {
    assertSameRows(await loadedRows(natural.cacheDir, m, ['image', 'label'], threads), want, `natural cache, ${threads} decode threads`);
    assertSameRows(await loadedRows(asFed.cacheDir, old, ['image', 'label'], threads), want, `as_fed (old-style) cache, ${threads} decode threads`);
  }
  // the targets do not depend on how inputs are stored
  assert.deepEqual((await readCache(natural.cacheDir)).columns['logits'], (await readCache(asFed.cacheDir)).columns['logits']);
});

test('byte-level token ids are stored as uint8 and the loader gives back the int32 ids', async () => {
  const dir = await tempDir('pre-stored-seq');
  const T = 16;
  writeFileSync(path.join(dir, 'seq.onnx'), sequenceModel({ vocab: 256, dModel: 16, layers: 1, heads: 2, maxSeq: T, seed: 4 }).bytes);
  const spec = { name: 'moby-dick', split: 'train', seq_len: T, limit: 150 } as const;
  const s = await precompute(recipeIn(dir, {
    teacher: { path: 'seq.onnx', batch_size: 25 },
    dataset: spec,
    targets: { kind: 'topk', k: 4, dtype: 'float16' },
    cache: { root: 'cache', shard_rows: 64 },
  }));
  const m = await readManifest(s.cacheDir);
  assert.equal(m.schema.find((f) => f.name === 'input_ids')!.type, `FixedSizeList[${T}]<Uint8>`);
  assert.equal(m.schema.find((f) => f.name === 'labels')!.type, `FixedSizeList[${T}]<Uint8>`);
  const want = await datasetRows(await openDataset({ name: 'moby-dick', split: 'train', seqLen: T, limit: 150 }), ['input_ids', 'labels']);
  assertSameRows(await loadedRows(s.cacheDir, m, ['input_ids', 'labels'], 2), want, 'token ids');
});

test('shards encoded on three threads are byte-identical to shards encoded on one', async () => {
  const dir = await tempDir('pre-encoders');
  writeFileSync(path.join(dir, 'mlp.onnx'), mlpClassifier({ seed: 6, hidden: [32] }).bytes);
  const run = (threads: number, format: string) => precompute(recipeIn(dir, {
    teacher: { path: 'mlp.onnx', batch_size: 50 },
    dataset: { name: 'mnist', split: 'train', limit: 700 },
    targets: { kind: 'topk', k: 4, dtype: 'float16' },
    cache: { root: `cache-${threads}-${format}`, shard_rows: 100, encode_threads: threads, format },
  }));
  for (const format of ['parquet', 'arrow']) {
    const one = await run(1, format);
    const three = await run(3, format);
    assert.equal(one.key, three.key, 'the thread count is not part of the cache key');
    assert.equal(one.shards, 7);
    assert.deepEqual(shardHashes(three.cacheDir), shardHashes(one.cacheDir), format);
    assert.deepEqual((await readManifest(three.cacheDir)).shards, (await readManifest(one.cacheDir)).shards, format);
  }
});

test('stored codes round-trip, and a value outside the declared levels or range is a CacheError naming the column', () => {
  const levels = [0, 0.004, 0.5, 1];
  const values = Float32Array.from([1, 0, 0.004, 0.5, 0.5, 0]);
  const column: StoredColumn = { dtype: 'float32', stored: 'uint8', levels: [...Float32Array.from(levels)] };
  const codes = encodeStoredColumn(values, column, 'image');
  assert.deepEqual([...codes], [3, 0, 1, 2, 2, 0]);
  assert.deepEqual(decodeStoredColumn(codes, column), values);
  assert.throws(() => encodeStoredColumn(Float32Array.from([0.25]), column, 'image'), (e: unknown) => e instanceof CacheError && /'image' holds 0.25/.test(e.message));
  const ids = Int32Array.from([0, 255, 17]);
  assert.deepEqual(decodeStoredColumn(encodeStoredColumn(ids, { dtype: 'int32', stored: 'uint8' }, 'input_ids'), { dtype: 'int32', stored: 'uint8' }), ids);
  assert.throws(() => encodeStoredColumn(Int32Array.from([256]), { dtype: 'int32', stored: 'uint8' }, 'input_ids'), CacheError);
});

test("MNIST's own pixel codes give the shard the bytes that coding its float32 pixels gives", async () => {
  const dataset = await openDataset({ name: 'mnist', split: 'validation' });
  const narrow = dataset.narrowColumns!['image']!;
  const stored: StoredColumns = { image: { dtype: 'float32', stored: narrow.dtype, levels: [...narrow.levels!] } };
  const spec: TargetSpec = { kind: 'full', vocab: 10, valueDtype: 'float32', idDtype: 'uint8' };
  const [start, end] = [300, 700];
  const parts: BatchOutput[] = [];
  for await (const batch of dataset.batches({ batchSize: 150, start, end }) as AsyncIterable<RecordBatch>) {
    const logits = Float32Array.from({ length: batch.numRows * 10 }, (_, i) => Math.sin(start + i));
    parts.push({ columns: Object.fromEntries(batch.schema.fields.map((f) => [f.name, batch.getChild(f.name)!])), outputs: { logits: { type: 'float32', data: logits, dims: [batch.numRows, 10] } } });
  }
  const codes = narrow.codes!(start, end);
  const pixels = flatValues(parts[0]!.columns['image']!);
  for (let i = 0; i < pixels.length; i++) if (narrow.levels![codes[i]!] !== pixels[i]) assert.fail(`pixel ${i}: code ${codes[i]} is level ${narrow.levels![codes[i]!]}, the batch holds ${pixels[i]}`);
  const given = shardTable(shardPayload(parts, stored, { image: codes }), spec);
  const coded = shardTable(shardPayload(parts, stored), spec);
  assert.equal(String(given.schema.fields.find((f) => f.name === 'image')!.type), 'FixedSizeList[784]<Uint8>');
  for (const format of ['parquet', 'arrow'] as const) assert.deepEqual(encodeShard(given, format), encodeShard(coded, format), format);
});
