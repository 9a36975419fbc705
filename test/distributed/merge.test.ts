import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  CacheWriter, MANIFEST_FILE, readManifest, serializeManifest, verifyCache, workerLockFile, workerManifestFile, workerShardRange,
  type WorkerId,
} from '../../src/cache/index.js';
import { mergeCache, mergeIfComplete } from '../../src/precompute/distributed/index.js';
import { classDraft, classRows, classTable } from '../cache/helpers.js';
import { tempDir } from '../cache/tmp.js';

const ROWS = 78;
const SHARD_ROWS = 5; // 16 shards, the last holds 3 rows: 4 workers own shards 0-3, 4-7, 8-11, 12-15

const table = (w: CacheWriter, i: number) => {
  const { firstRow, rows } = w.shardRange(i);
  return classTable(classRows(firstRow, rows));
};

/** Writes worker w's range (or only its first `limit` shards) the way `precompute --worker` does. */
async function runWorker(dir: string, worker: WorkerId, limit = Infinity): Promise<CacheWriter> {
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS), { worker });
  const end = Math.min(w.layout.endShard, w.nextShardIndex() + limit);
  for (let i = w.nextShardIndex(); i < end; i++) await w.writeShard(i, table(w, i));
  if (w.nextShardIndex() === w.layout.endShard) await w.finish();
  else await w.close();
  return w;
}

async function singleProcess(): Promise<string> {
  const dir = await tempDir('single');
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  for (let i = 0; i < w.shardCount; i++) await w.writeShard(i, table(w, i));
  await w.finish();
  return dir;
}

async function shardFiles(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const n of (await readdir(dir)).filter((f) => f.startsWith('part-')).sort()) out.set(n, await readFile(path.join(dir, n)));
  return out;
}

const withoutCreatedAt = (text: string) => text.replace(/"createdAt": "[^"]*"/, '"createdAt": "-"');

test('ranges are contiguous, disjoint, cover every shard and differ in size by at most one', () => {
  for (const [shards, count] of [[16, 4], [6, 4], [3, 5], [1, 1], [100, 7]] as const) {
    const ranges = Array.from({ length: count }, (_, index) => workerShardRange({ index, count }, shards));
    assert.equal(ranges[0]!.first, 0);
    assert.equal(ranges.at(-1)!.end, shards);
    for (let i = 1; i < count; i++) assert.equal(ranges[i]!.first, ranges[i - 1]!.end, `worker ${i} starts where ${i - 1} ends`);
    const sizes = ranges.map((r) => r.end - r.first);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes.join(',')}`);
  }
});

test('four workers, in any order, merge into the manifest and shards of a single-process run', async () => {
  const single = await singleProcess();
  const dir = await tempDir('workers');
  // each worker has its own manifest and lock: all four are open at once and never contend
  const writers = await Promise.all([3, 0, 2, 1].map((index) => CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS), { worker: { index, count: 4 } })));
  const names = await readdir(dir);
  for (let index = 0; index < 4; index++) assert.ok(names.includes(workerLockFile({ index, count: 4 })) && names.includes(workerManifestFile({ index, count: 4 })));
  await Promise.all(writers.map(async (w) => {
    for (let i = w.nextShardIndex(); i < w.layout.endShard; i++) await w.writeShard(i, table(w, i));
    await w.finish();
  }));
  const outcome = await mergeIfComplete(dir, { index: 1, count: 4 });
  assert.deepEqual(outcome, { merged: true });
  assert.equal(withoutCreatedAt(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')), withoutCreatedAt(await readFile(path.join(single, MANIFEST_FILE), 'utf8')));
  assert.deepEqual(await shardFiles(dir), await shardFiles(single));
  assert.deepEqual((await readdir(dir)).sort(), (await readdir(single)).sort(), 'worker manifests and locks are gone');
  assert.equal((await verifyCache(dir)).ok, true);
  const again = await mergeCache(dir);
  assert.equal(again.alreadyMerged, true);
  assert.equal(again.rows, ROWS);
});

test('a missing or unfinished range names the worker to rerun; rerunning it redoes only its own shards', async () => {
  const dir = await tempDir('missing');
  await runWorker(dir, { index: 0, count: 4 });
  await runWorker(dir, { index: 1, count: 4 }, 2); // crashed after shards 4 and 5
  await runWorker(dir, { index: 2, count: 4 });
  assert.deepEqual(await mergeIfComplete(dir, { index: 2, count: 4 }), {
    merged: false,
    reason: `worker 2/4 is done; waiting for 1/4, 3/4 (then the last one to finish merges, or run \`kennis cache merge ${dir}\`)`,
  });
  await assert.rejects(mergeCache(dir), {
    name: 'CacheError',
    message: `cannot merge cache '${dir}': rerun worker 1/4: shards 6-7 missing; rerun worker 3/4: shards 12-15 missing; then run \`kennis cache merge ${dir}\` again`,
  });
  assert.ok(!(await readdir(dir)).includes(MANIFEST_FILE), 'a refused merge writes nothing');
  const before = await shardFiles(dir);
  const rerun = await runWorker(dir, { index: 1, count: 4 });
  assert.equal(rerun.shards().length, 4);
  await runWorker(dir, { index: 3, count: 4 });
  const after = await shardFiles(dir);
  for (const [name, bytes] of before) assert.deepEqual(after.get(name), bytes, `${name} was kept`);
  await mergeCache(dir);
  assert.deepEqual(await shardFiles(dir), await shardFiles(await singleProcess()));
});

test('a corrupted shard fails the merge naming the shard and its worker; rerunning that worker repairs it', async () => {
  const dir = await tempDir('corrupt');
  for (let index = 0; index < 4; index++) await runWorker(dir, { index, count: 4 });
  const file = path.join(dir, 'part-00009.parquet');
  const bytes = await readFile(file);
  bytes[bytes.length >> 1]! ^= 0x01;
  await writeFile(file, bytes);
  await assert.rejects(mergeCache(dir), (e: Error) => {
    assert.equal(e.name, 'CacheError');
    assert.match(e.message, /shard 'part-00009\.parquet' has sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…: rerun worker 2\/4 to rewrite it/);
    return true;
  });
  const w = await runWorker(dir, { index: 2, count: 4 });
  assert.equal(w.shards().length, 4);
  const merged = await mergeCache(dir);
  assert.equal(merged.workers, 4);
  assert.equal((await verifyCache(dir)).ok, true);
});

test('manifests of runs with different worker counts are refused as duplicated ranges', async () => {
  const dir = await tempDir('dup');
  await runWorker(dir, { index: 0, count: 2 }, 1);
  await assert.rejects(CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS), { worker: { index: 1, count: 4 } }), {
    name: 'CacheError', message: /holds manifests of a run with 2 workers \(manifest\.worker-0-of-2\.json\); rerun with --worker i\/2/,
  });
  // copied in by hand: merge refuses rather than guess which run is right
  const m = JSON.parse(await readFile(path.join(dir, workerManifestFile({ index: 0, count: 2 })), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(dir, workerManifestFile({ index: 1, count: 4 })), JSON.stringify({ ...m, worker: { index: 1, count: 4, firstShard: 4, endShard: 8 }, shards: [] }));
  await assert.rejects(mergeCache(dir), { name: 'CacheError', message: /runs with 2 and 4 workers .*overlap \(duplicated shards\)/ });
});

test('a worker manifest that lists another worker\'s shard is a duplicated range naming the worker', async () => {
  const dir = await tempDir('dup-entry');
  for (let index = 0; index < 4; index++) await runWorker(dir, { index, count: 4 });
  const one = path.join(dir, workerManifestFile({ index: 1, count: 4 }));
  const zero = JSON.parse(await readFile(path.join(dir, workerManifestFile({ index: 0, count: 4 })), 'utf8')) as { shards: unknown[] };
  const m = JSON.parse(await readFile(one, 'utf8')) as { shards: unknown[] };
  await writeFile(one, JSON.stringify({ ...m, shards: [zero.shards[3], ...m.shards.slice(1)] }));
  await assert.rejects(mergeCache(dir), {
    name: 'CacheError',
    message: new RegExp(`worker 1/4: worker 1/4's manifest lists 'part-00003\\.parquet' as its shard 4, which is outside its shards 4-7 \\(duplicated range\\); delete '${workerManifestFile({ index: 1, count: 4 })}' and rerun worker 1/4`),
  });
});

test('single-process and distributed writers never share a directory', async () => {
  const dir = await tempDir('mixed');
  await runWorker(dir, { index: 0, count: 4 }, 1);
  await assert.rejects(CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS)), {
    name: 'CacheError', message: /is being written by 4 workers .* and is not merged; run the missing workers with --worker i\/4 and `kennis cache merge/,
  });
  await assert.rejects(readManifest(dir), { name: 'CacheError', message: /is not merged: it holds 1 worker manifests .*run `kennis cache merge/ });
  const single = await singleProcess();
  await assert.rejects(CacheWriter.open(single, classDraft(ROWS, SHARD_ROWS), { worker: { index: 2, count: 4 } }), {
    name: 'CacheError', message: /already has a manifest\.json .* worker 2\/4 has nothing to write/,
  });
  // the refused worker left the finished cache as it was
  assert.equal(serializeManifest(await readManifest(single)), await readFile(path.join(single, MANIFEST_FILE), 'utf8'));
  assert.equal((await verifyCache(single)).ok, true);
});

test("a worker's resume sweeps only its own leftovers, never another worker's shards or temp files", async () => {
  const dir = await tempDir('sweep');
  await runWorker(dir, { index: 0, count: 4 }, 1);
  await runWorker(dir, { index: 1, count: 4 }, 1);
  // worker 1 is writing shard 5 right now (its temp file), and worker 0 crashed leaving an orphan of shard 2
  const inflight = path.join(dir, '.part-00005.parquet.kennis-tmp-99999-0');
  await writeFile(inflight, 'partial');
  await writeFile(path.join(dir, 'part-00002.parquet'), 'orphan');
  await writeFile(path.join(dir, '.part-00002.parquet.kennis-tmp-99998-3'), 'partial');
  const warnings: string[] = [];
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS), { worker: { index: 0, count: 4 }, onWarning: (m) => warnings.push(m) });
  await w.close();
  const names = await readdir(dir);
  assert.ok(names.includes(path.basename(inflight)), "worker 1's temp file is left alone");
  assert.ok(names.includes('part-00004.parquet'), "worker 1's shard is left alone");
  assert.ok(!names.includes('part-00002.parquet') && !names.includes('.part-00002.parquet.kennis-tmp-99998-3'), 'its own leftovers are removed');
  assert.ok(warnings.some((m) => m.includes("removing 'part-00002.parquet'")), warnings.join('\n'));
});
