import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table } from 'apache-arrow';
import { CacheWriter, readManifest } from '../../src/cache/index.js';
import { CacheLoader } from '../../src/train/loader/index.js';
import { CacheError } from '../../src/core/errors/index.js';
import { fixedSizeListVector, primitiveVector } from '../../src/core/util/arrow.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A cache of `shards` x `shardRows` rows whose `x` row r holds r repeated `width` times. */
async function makeCache(shards: number, shardRows: number, width: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-loader-'));
  const rows = shards * shardRows;
  const writer = await CacheWriter.open(dir, {
    key: 'a'.repeat(64),
    teacher: { file: 't.onnx', sha256: 'b'.repeat(64), inputs: [], outputs: [], outputKind: 'logits' },
    dataset: { name: 'synthetic', fingerprint: 'c', split: 'train', rows, labelColumn: 'label', inputColumns: ['x'] },
    targets: { kind: 'full', vocab: 4, valueDtype: 'float32', idDtype: 'uint8' },
    shardFormat: 'parquet', shardRows, tool: { name: 'kennis', version: 'test' },
  });
  try {
    for (let s = 0; s < shards; s++) {
      const r0 = s * shardRows;
      const x = new Float32Array(shardRows * width);
      const rowIds = new Int32Array(shardRows);
      for (let i = 0; i < shardRows; i++) { x.fill(r0 + i, i * width, (i + 1) * width); rowIds[i] = r0 + i; }
      const logits = new Float32Array(shardRows * 4).map((_, i) => (i % 4) + r0 + Math.floor(i / 4));
      await writer.writeShard(s, new Table({
        x: fixedSizeListVector(x, [width], 'float32'),
        label: primitiveVector(Int32Array.from(rowIds, (r) => r % 4), 'int32'),
        row: primitiveVector(rowIds, 'int32'),
        logits: fixedSizeListVector(logits, [4], 'float32'),
      }));
    }
    await writer.finish();
  } finally {
    await writer.close();
  }
  return dir;
}

async function epochRows(loader: CacheLoader, epoch: number, skip = 0): Promise<number[][]> {
  const batches: number[][] = [];
  for await (const b of loader.epoch(epoch, skip)) {
    const x = b.columns.x as Float32Array;
    const width = x.length / b.size;
    const rows: number[] = [];
    for (let i = 0; i < b.size; i++) {
      // every value of a row equals its row id: rows are copied whole and not mixed up
      const v = x[i * width]!;
      for (let j = 1; j < width; j++) assert.equal(x[i * width + j], v);
      rows.push(v);
    }
    batches.push(rows);
  }
  return batches;
}

test('an epoch yields every row exactly once, shuffled across shards, reproducibly', async () => {
  const dir = await makeCache(6, 50, 3);
  const manifest = await readManifest(dir);
  const loader = new CacheLoader(dir, manifest, { columns: ['x', 'label', 'logits'], batchSize: 32, shuffleBuffer: 64, seed: 7 });
  const e0 = await epochRows(loader, 0);
  assert.equal(e0.length, loader.batchesPerEpoch);
  assert.deepEqual(e0.flat().sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i));
  assert.deepEqual(await epochRows(loader, 0), e0, 'same epoch, same order');
  assert.notDeepEqual(await epochRows(loader, 1), e0, 'next epoch, new order');
  const shardsInFirstBatch = new Set(e0[0]!.map((r) => Math.floor(r / 50)));
  assert.ok(shardsInFirstBatch.size >= 2, `expected rows of several shards in one batch, got shards ${[...shardsInFirstBatch]}`);
  assert.deepEqual(await epochRows(loader, 0, 3), e0.slice(3), 'skipping batches resumes mid-epoch');
});

test('labels and targets travel with their rows', async () => {
  const dir = await makeCache(3, 40, 2);
  const loader = new CacheLoader(dir, await readManifest(dir), { columns: ['x', 'label', 'logits'], batchSize: 16, shuffleBuffer: 50, seed: 1 });
  for await (const b of loader.epoch(0)) {
    const x = b.columns.x as Float32Array;
    for (let i = 0; i < b.size; i++) {
      const r = x[i * 2]!;
      assert.equal(b.columns.label![i], r % 4);
      assert.deepEqual(Array.from((b.columns.logits as Float32Array).subarray(i * 4, i * 4 + 4)), [0, 1, 2, 3].map((k) => k + r));
    }
  }
});

test('a missing column is refused with the columns the cache has', async () => {
  const dir = await makeCache(1, 10, 2);
  const manifest = await readManifest(dir);
  assert.throws(() => new CacheLoader(dir, manifest, { columns: ['input_ids'], batchSize: 4, shuffleBuffer: 4, seed: 0 }), /has no column 'input_ids'; its shards hold x, label, row, logits/);
});

test('memory stays bounded by the buffer, not the cache size', async () => {
  // 24 shards x 500 rows x 2048 floats = 98 MB of rows; the buffer holds 256 rows (2 MB)
  const dir = await makeCache(24, 500, 2048);
  const loader = new CacheLoader(dir, await readManifest(dir), { columns: ['x'], batchSize: 64, shuffleBuffer: 256, seed: 3 });
  // a real collection before each reading, so the figure is what the loader retains, not GC lag
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().arrayBuffers;
  let peak = 0;
  let rows = 0;
  for await (const b of loader.epoch(0)) {
    rows += b.size;
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
  }
  assert.equal(rows, 12000);
  const cacheBytes = 12000 * 2048 * 4;
  // buffer (2 MB) + the shard in use + the two being decoded ahead (4 MB each; their columns
  // arrive here by transfer) + parquet-wasm's heap, which grows once and is never returned:
  // bounded, and far below the cache
  assert.ok(peak < cacheBytes / 2, `expected peak array memory well under the cache's ${cacheBytes} bytes, got ${peak}`);
});

test('decoding on worker threads yields exactly the batches of decoding in-thread, and names a corrupt shard', async () => {
  const dir = await makeCache(5, 40, 3);
  const manifest = await readManifest(dir);
  const collect = async (decodeThreads: number) => {
    const loader = new CacheLoader(dir, manifest, { columns: ['x', 'label', 'logits'], batchSize: 16, shuffleBuffer: 50, seed: 7, decodeThreads });
    const out: number[][] = [];
    for await (const b of loader.epoch(1)) out.push(...Object.values(b.columns).map((c) => Array.from(c as Float32Array)));
    return out;
  };
  const inThread = await collect(0);
  assert.equal(inThread.length, 13 * 3);
  assert.deepEqual(await collect(2), inThread);
  // flip bytes in the middle of shard 3 (same size): only the sha256 check can see it
  const entry = manifest.shards[3]!;
  const file = join(dir, entry.file);
  const bytes = readFileSync(file);
  bytes[bytes.length >> 1]! ^= 0xff;
  writeFileSync(file, bytes);
  const loader = new CacheLoader(dir, manifest, { columns: ['x'], batchSize: 16, shuffleBuffer: 1, seed: 0, verify: true, decodeThreads: 2 });
  await assert.rejects(async () => { for await (const b of loader.epoch(0)) void b; }, (e: unknown) => e instanceof CacheError && e.message.includes(entry.file) && /sha256/.test(e.message));
});
