import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CacheWriter, MANIFEST_FILE, readManifest, readShards, verifyCache, type Manifest } from '../../src/cache/index.js';
import { sha256Bytes } from '../../src/core/util/fs.js';
import { encodeShard } from '../../src/cache/index.js';
import { classDraft, classRows, classTable } from './helpers.js';
import { tempDir } from './tmp.js';

const ROWS = 12;
const SHARD_ROWS = 4;

let pristine: string | undefined;
/** A copy of one complete 3-shard parquet cache, so each test can damage its own. */
async function freshCache(): Promise<string> {
  if (!pristine) {
    pristine = await tempDir('pristine');
    const w = await CacheWriter.open(pristine, classDraft(ROWS, SHARD_ROWS));
    for (let i = 0; i < 3; i++) await w.writeShard(i, classTable(classRows(i * SHARD_ROWS, SHARD_ROWS)));
    await w.finish();
  }
  const dir = await tempDir('verify');
  await cp(pristine, dir, { recursive: true });
  return dir;
}

async function editManifest(dir: string, edit: (m: Manifest) => void): Promise<void> {
  const file = path.join(dir, MANIFEST_FILE);
  const m = JSON.parse(await readFile(file, 'utf8')) as Manifest;
  edit(m);
  await writeFile(file, JSON.stringify(m));
}

test('an intact cache verifies ok', async () => {
  const report = await verifyCache(await freshCache());
  assert.equal(report.ok, true, report.message);
  assert.equal(report.shardsChecked, 3);
  assert.equal(report.rows, ROWS);
  assert.deepEqual(report.problems, []);
});

test('a flipped byte is reported as a sha256 mismatch naming the shard', async () => {
  const dir = await freshCache();
  const file = path.join(dir, 'part-00001.parquet');
  const bytes = await readFile(file);
  bytes[100]! ^= 0x01;
  await writeFile(file, bytes);
  const report = await verifyCache(dir);
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems.map((p) => p.file), ['part-00001.parquet']);
  assert.match(report.problems[0]!.problem, /sha256/);
  assert.match(report.message, /shard 'part-00001\.parquet' has sha256 [0-9a-f]{12}…, expected/);
  assert.ok(!report.message.includes('\n'));
  await assert.rejects(async () => { for await (const _ of readShards(dir, { verify: true })) void _; }, { name: 'CacheError', message: /shard 'part-00001\.parquet' has sha256/ });
});

test('a truncated shard is reported by its size', async () => {
  const dir = await freshCache();
  const m = await readManifest(dir);
  await truncate(path.join(dir, 'part-00002.parquet'), 50);
  const report = await verifyCache(dir);
  assert.deepEqual(report.problems, [{ file: 'part-00002.parquet', problem: `has 50 bytes, expected ${m.shards[2]!.bytes}` }]);
  await assert.rejects(async () => { for await (const _ of readShards(dir)) void _; }, { name: 'CacheError', message: /part-00002\.parquet' has 50 bytes/ });
});

test('a deleted shard is reported missing', async () => {
  const dir = await freshCache();
  await unlink(path.join(dir, 'part-00000.parquet'));
  const report = await verifyCache(dir);
  assert.deepEqual(report.problems, [{ file: 'part-00000.parquet', problem: 'is missing' }]);
  assert.match(report.message, /shard 'part-00000\.parquet' is missing/);
});

test('a shard holding a different number of rows than recorded is reported, even with a matching sha256', async () => {
  const dir = await freshCache();
  // a valid shard of 3 rows recorded (size and hash consistent) as 4 rows
  const bytes = encodeShard(classTable(classRows(4, 3)), 'parquet');
  await writeFile(path.join(dir, 'part-00001.parquet'), bytes);
  await editManifest(dir, (m) => { m.shards[1]!.bytes = bytes.length; m.shards[1]!.sha256 = sha256Bytes(bytes); });
  const report = await verifyCache(dir);
  assert.deepEqual(report.problems, [{ file: 'part-00001.parquet', problem: 'holds 3 rows, expected 4' }]);
});

test('a complete manifest whose shards do not cover the dataset is reported', async () => {
  const dir = await freshCache();
  await editManifest(dir, (m) => { m.shards.pop(); });
  const report = await verifyCache(dir);
  assert.deepEqual(report.problems, [{ file: MANIFEST_FILE, problem: 'records 8 rows in shards, expected 12 (dataset rows)' }]);
});

test('a shard whose schema differs from the manifest is reported', async () => {
  const dir = await freshCache();
  await editManifest(dir, (m) => { m.schema[3]!.type = 'FixedSizeList[10]<Float16>'; });
  const report = await verifyCache(dir);
  // the manifest contradicts its own target spec (float32 logits), and each of the 3 shards the schema
  assert.equal(report.problems.length, 4);
  assert.deepEqual(report.problems[0], { file: 'manifest.json', problem: "targets (full, vocab 10, float32/uint8) call for column 'logits' of type FixedSizeList[10]<Float32>, but the schema has FixedSizeList[10]<Float16>" });
  assert.match(report.problems[1]!.problem, /expected column 3 'logits' FixedSizeList\[10\]<Float16>, got 'logits' FixedSizeList\[10\]<Float32>/);
});

for (const [bad, why] of [['../x', "contains a path separator|contains '\\.\\.'"], ['/etc/passwd', 'is an absolute path'], ['a\\b.parquet', 'contains a path separator'], ['..', "contains '\\.\\.'"], ['', 'is empty']] as const) {
  test(`a manifest entry '${bad}' is rejected naming the entry`, async () => {
    const dir = await freshCache();
    await editManifest(dir, (m) => { m.shards[1]!.file = bad; });
    await assert.rejects(readManifest(dir), (err: Error) => {
      assert.equal(err.name, 'CacheError');
      assert.match(err.message, new RegExp(`shards\\[1\\] file '${bad.replace(/[.\\/]/g, '\\$&')}' (${why})`));
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    const report = await verifyCache(dir);
    assert.equal(report.ok, false);
    assert.equal(report.problems[0]!.file, MANIFEST_FILE);
  });
}

test('a shard that is a symlink out of the cache is rejected; one within the cache is accepted', async () => {
  const dir = await freshCache();
  const outside = await tempDir('outside');
  await cp(path.join(dir, 'part-00000.parquet'), path.join(outside, 'stolen.parquet'));
  await unlink(path.join(dir, 'part-00000.parquet'));
  await symlink(path.join(outside, 'stolen.parquet'), path.join(dir, 'part-00000.parquet'));
  await assert.rejects(readManifest(dir), { name: 'CacheError', message: /shards\[0\] file 'part-00000\.parquet' is a symlink to '.*stolen\.parquet' outside the cache directory/ });

  const inside = await freshCache();
  await mkdir(path.join(inside, 'sub'));
  await cp(path.join(inside, 'part-00000.parquet'), path.join(inside, 'sub', 'real.parquet'));
  await unlink(path.join(inside, 'part-00000.parquet'));
  await symlink(path.join('sub', 'real.parquet'), path.join(inside, 'part-00000.parquet'));
  const report = await verifyCache(inside);
  assert.equal(report.ok, true, report.message);
});

test('an invalid manifest is a one-line CacheError naming the field', async () => {
  const dir = await freshCache();
  await editManifest(dir, (m) => { m.shards[0]!.sha256 = 'xyz'; });
  await assert.rejects(readManifest(dir), { name: 'CacheError', message: /manifest\.json' does not fit the kennis manifest schema at shards\.0\.sha256/ });
  await writeFile(path.join(dir, MANIFEST_FILE), '{not json');
  await assert.rejects(readManifest(dir), { name: 'CacheError', message: /is not valid JSON/ });
  await assert.rejects(readManifest(path.join(dir, 'nope')), { name: 'CacheError', message: /no cache at .*manifest\.json is missing/ });
  assert.equal(await readManifest(path.join(dir, 'nope'), { allowMissing: true }), undefined);
});
