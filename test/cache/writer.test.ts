import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CacheWriter, LOCK_FILE, readManifest, readShards, verifyCache, type Manifest } from '../../src/cache/index.js';
import * as arrow from 'apache-arrow';
import { flatValues } from '../../src/core/util/arrow.js';
import { classDraft, classRows, classTable } from './helpers.js';
import { tempDir } from './tmp.js';

const ROWS = 23;
const SHARD_ROWS = 5; // 5 shards, the last holds 3 rows
const here = path.dirname(fileURLToPath(import.meta.url));

const shardTable = (w: CacheWriter, i: number) => {
  const { firstRow, rows } = w.shardRange(i);
  return classTable(classRows(firstRow, rows));
};

async function writeAll(dir: string, format: 'parquet' | 'arrow' = 'parquet'): Promise<Manifest> {
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS, format));
  for (let i = 0; i < w.shardCount; i++) await w.writeShard(i, shardTable(w, i));
  return w.finish();
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) out.set(name, await readFile(path.join(dir, name)));
  return out;
}

for (const format of ['parquet', 'arrow'] as const) {
  test(`${format}: a full write records every shard with its size and sha256 and reads back the same rows`, async () => {
    const dir = await tempDir('writer');
    const m = await writeAll(dir, format);
    assert.equal(m.complete, true);
    assert.deepEqual(m.shards.map((s) => [s.file, s.firstRow, s.rows]), [0, 1, 2, 3, 4].map((i) => [`part-0000${i}.${format}`, i * 5, i < 4 ? 5 : 3]));
    for (const s of m.shards) {
      const bytes = await readFile(path.join(dir, s.file));
      assert.equal(s.bytes, bytes.length);
      assert.equal(s.sha256, createHash('sha256').update(bytes).digest('hex'));
    }
    assert.deepEqual(await readManifest(dir), m);
    assert.ok(!(await readdir(dir)).includes(LOCK_FILE), 'finish releases the lock');
    const report = await verifyCache(dir);
    assert.equal(report.ok, true, report.message);
    let seen = 0;
    for await (const { index, entry, table } of readShards(dir, { verify: true })) {
      const want = classRows(entry.firstRow, entry.rows);
      assert.equal(index, seen++);
      assert.deepEqual(flatValues(table.getChild('logits')!), want.logits);
      assert.deepEqual(flatValues(table.getChild('image')!), want.image);
      assert.deepEqual(flatValues(table.getChild('label')!), want.label);
    }
    assert.equal(seen, 5);
    const picked: number[] = [];
    for await (const { index, table } of readShards(dir, { order: [3, 0, 4] })) {
      picked.push(index);
      assert.deepEqual(flatValues(table.getChild('row')!), classRows(index * SHARD_ROWS, index < 4 ? 5 : 3).row);
    }
    assert.deepEqual(picked, [3, 0, 4]);
    await assert.rejects(async () => { for await (const _ of readShards(dir, { order: [5] })) void _; }, { name: 'CacheError', message: /expected a shard index in 0\.\.4, got 5/ });
  });
}

test('a draft without format, version and createdAt gets the defaults; shards() lists the recorded entries', async () => {
  const dir = await tempDir('draft');
  const { format: _f, version: _v, createdAt: _c, ...bare } = classDraft(ROWS, SHARD_ROWS);
  const before = Date.now();
  const w = await CacheWriter.open(dir, { ...bare, createdAt: undefined });
  try {
    assert.equal(w.manifest.format, 'kennis-cache');
    assert.equal(w.manifest.version, 1);
    assert.ok(Date.parse(w.manifest.createdAt) >= before - 1000);
    const entry = await w.writeShard(0, shardTable(w, 0));
    assert.deepEqual(w.shards(), [entry]);
    assert.equal(w.completedRows, 5);
  } finally {
    await w.close();
  }
});

test('a crashed run (stale lock, orphan shard file) resumes to files byte-identical to an uninterrupted run', async () => {
  const reference = await tempDir('ref');
  await writeAll(reference);
  const dir = await tempDir('crash');
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/crash-writer.ts'), dir, String(ROWS), String(SHARD_ROWS), '2', '3'], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const names = await readdir(dir);
  assert.ok(names.includes(LOCK_FILE) && names.includes('part-00003.parquet'), `crash left ${names.join(',')}`);
  assert.equal((await readManifest(dir)).shards.length, 2);

  const warnings: string[] = [];
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS), { onWarning: (m) => warnings.push(m) });
  assert.equal(w.nextShardIndex(), 2);
  assert.equal(w.completedRows, 10);
  assert.ok(warnings.some((m) => m.includes('stale cache lock') && m.includes(`pid ${child.pid}`)), warnings.join('\n'));
  assert.ok(warnings.some((m) => m.includes("'part-00003.parquet'") && m.includes('does not record')), warnings.join('\n'));
  assert.ok(!(await readdir(dir)).includes('part-00003.parquet'), 'orphan removed before rewriting');
  for (let i = w.nextShardIndex(); i < w.shardCount; i++) await w.writeShard(i, shardTable(w, i));
  await w.finish();
  assert.deepEqual(await filesOf(dir), await filesOf(reference));
});

test('a recorded shard that no longer matches its sha256 is rewritten with every later shard', async () => {
  const dir = await tempDir('resume');
  const w0 = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  for (let i = 0; i < 4; i++) await w0.writeShard(i, shardTable(w0, i));
  await w0.close();
  const file = path.join(dir, 'part-00001.parquet');
  const bytes = await readFile(file);
  bytes[bytes.length >> 1]! ^= 0xff;
  await writeFile(file, bytes);
  // a garbage file under a shard name that the manifest does not list
  await writeFile(path.join(dir, 'part-00004.parquet'), 'not a shard');
  const warnings: string[] = [];
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS), { onWarning: (m) => warnings.push(m) });
  assert.equal(w.nextShardIndex(), 1);
  assert.ok(warnings.some((m) => m.includes("shard 1 'part-00001.parquet' does not match its sha256")), warnings.join('\n'));
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('part-')), ['part-00000.parquet']);
  assert.equal((await readManifest(dir)).shards.length, 1, 'the manifest is cut back before files are removed');
  for (let i = 1; i < w.shardCount; i++) await w.writeShard(i, shardTable(w, i));
  await w.finish();
  const reference = await tempDir('ref');
  await writeAll(reference);
  assert.deepEqual(await filesOf(dir), await filesOf(reference));
});

test('a directory with shard-named files but no manifest is refused and left untouched', async () => {
  const dir = await tempDir('foreign');
  await writeFile(path.join(dir, 'part-00000.parquet'), 'someone else\'s data');
  await assert.rejects(CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS)), { name: 'CacheError', message: /holds 1 shard-named files .* not a kennis cache/ });
  assert.deepEqual(await readdir(dir), ['part-00000.parquet']);
});

test('reopening a complete cache reports it complete and refuses more shards', async () => {
  const dir = await tempDir('complete');
  await writeAll(dir);
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  try {
    assert.equal(w.complete, true);
    assert.equal(w.nextShardIndex(), 5);
    await assert.rejects(w.writeShard(4, shardTable(w, 4)), { name: 'CacheError', message: /already complete/ });
  } finally {
    await w.close();
  }
});

test('shards written concurrently in reverse order are recorded as a growing prefix', async () => {
  const dir = await tempDir('order');
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  const recordedWhenResolved: number[][] = [];
  const writes = [4, 3, 2, 1, 0].map((i) => w.writeShard(i, shardTable(w, i)).then(async (entry) => {
    const m = await readManifest(dir);
    recordedWhenResolved.push([entry.firstRow / SHARD_ROWS, m.shards.length]);
  }));
  await Promise.all(writes);
  for (const [index, recorded] of recordedWhenResolved) assert.ok(recorded! >= index! + 1, `shard ${index} resolved with ${recorded} shards recorded`);
  const m = await w.finish();
  assert.deepEqual(m.shards.map((s) => s.file), [0, 1, 2, 3, 4].map((i) => `part-0000${i}.parquet`));
  assert.equal((await verifyCache(dir)).ok, true);
});

test('a shard with another schema ready together with good ones: the good prefix is recorded, it and later shards are refused', async () => {
  const dir = await tempDir('refused');
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  try {
    // shards 1-3 wait for shard 0; shard 2's label column is float32 instead of int32
    const other = (i: number) => {
      const t = shardTable(w, i);
      return new arrow.Table({ ...Object.fromEntries(t.schema.fields.map((f) => [f.name, t.getChild(f.name)!])), label: arrow.makeVector(Float32Array.from(flatValues(t.getChild('label')!) as Int32Array)) });
    };
    const [one, two, three] = [w.writeShard(1, shardTable(w, 1)), w.writeShard(2, other(2)), w.writeShard(3, shardTable(w, 3))];
    for (const p of [one, two, three]) p.catch(() => undefined);
    // let their files be written before shard 0 arrives
    while ((await readdir(dir)).filter((n) => n.startsWith('part-')).length < 3) await new Promise((r) => setTimeout(r, 5));
    await w.writeShard(0, shardTable(w, 0));
    await one;
    await assert.rejects(two, { name: 'CacheError', message: /shard 2 of cache .*label.*every shard must have the manifest's schema/ });
    await assert.rejects(three, { name: 'CacheError', message: /shard 3 of cache .* was not recorded: the writer stopped after an earlier error \(shard 2/ });
    assert.deepEqual((await readManifest(dir)).shards.map((s) => s.firstRow), [0, 5], 'the shards before the refused one are recorded');
    await assert.rejects(w.writeShard(4, shardTable(w, 4)), { name: 'CacheError', message: /stopped after an earlier error/ });
  } finally {
    await w.close();
  }
});

test('writer refuses wrong row counts, wrong row ranges, repeated indexes and early finish', async () => {
  const dir = await tempDir('errors');
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  try {
    await assert.rejects(w.writeShard(0, classTable(classRows(0, 4))), { name: 'CacheError', message: /shard 0 .*expected 5 rows \(rows 0\.\.4\), got 4/ });
    await assert.rejects(w.writeShard(1, classTable(classRows(0, 5))), { name: 'CacheError', message: /expected column 'row' to run 5\.\.9, got 0\.\.4/ });
    await assert.rejects(w.writeShard(5, classTable(classRows(25, 1))), { name: 'CacheError', message: /expected an index in 0\.\.4/ });
    await w.writeShard(0, shardTable(w, 0));
    await assert.rejects(w.writeShard(0, shardTable(w, 0)), { name: 'CacheError', message: /already written; resume at nextShardIndex\(\) = 1/ });
    await assert.rejects(w.finish(), { name: 'CacheError', message: /holds 5 of 23 rows; write shards 1\.\.4/ });
  } finally {
    await w.close();
  }
});

test('a shard with a different schema stops the writer and rejects the shards waiting behind it', async () => {
  const dir = await tempDir('schema');
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  try {
    await w.writeShard(0, shardTable(w, 0));
    const later = w.writeShard(2, shardTable(w, 2));
    const r = classRows(5, 5);
    const bad = classTable(r).select(['image', 'label', 'row']);
    await assert.rejects(w.writeShard(1, bad), { name: 'CacheError', message: /expected column 3 'logits' FixedSizeList\[10\]<Float32>, got only 3 columns/ });
    await assert.rejects(later, { name: 'CacheError', message: /shard 2 .*not recorded: the writer stopped/ });
    assert.equal((await readManifest(dir)).shards.length, 1);
  } finally {
    await w.close();
  }
});

test('the first shard must hold the input, label and target columns the manifest names', async () => {
  const dir = await tempDir('columns');
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  try {
    const t = classTable(classRows(0, 5)).select(['image', 'row', 'logits']);
    await assert.rejects(w.writeShard(0, t), { name: 'CacheError', message: /expected columns 'label'/ });
  } finally {
    await w.close();
  }
});

test('reopening with a different key or shard size is refused', async () => {
  const dir = await tempDir('key');
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  await w.writeShard(0, shardTable(w, 0));
  await w.close();
  await assert.rejects(CacheWriter.open(dir, classDraft(ROWS + 1, SHARD_ROWS)), { name: 'CacheError', message: /written with key .*use another cache dir/ });
  await assert.rejects(CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS + 1)), { name: 'CacheError', message: /written with shardRows 5, this run has 6/ });
  assert.ok(!(await readdir(dir)).includes(LOCK_FILE), 'a refused open releases the lock');
});

test('a second writer is refused with a message naming the lock, its pid and the fix', async () => {
  const dir = await tempDir('lock');
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  try {
    const lock = JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number; hostname: string; startedAt: string };
    assert.equal(lock.pid, process.pid);
    assert.equal(lock.hostname, os.hostname());
    assert.ok(!Number.isNaN(Date.parse(lock.startedAt)));
    await assert.rejects(CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS)), (err: Error) => {
      assert.equal(err.name, 'CacheError');
      assert.ok(err.message.includes(path.join(dir, LOCK_FILE)), err.message);
      assert.ok(err.message.includes(`pid ${process.pid}`), err.message);
      assert.match(err.message, /wait for that run to finish, or delete/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  } finally {
    await w.close();
  }
  const again = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS));
  await again.close();
});

test('a lock of a dead pid on this host is taken over with a warning; one from another host is not', async () => {
  const dir = await tempDir('stale');
  const dead = spawnSync(process.execPath, ['-e', '']);
  assert.equal(dead.status, 0);
  const lockFile = path.join(dir, LOCK_FILE);
  await writeFile(lockFile, JSON.stringify({ pid: dead.pid, hostname: os.hostname(), startedAt: '2020-01-01T00:00:00.000Z' }));
  const warnings: string[] = [];
  const w = await CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS), { onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, new RegExp(`stale cache lock .* of pid ${dead.pid} `));
  assert.equal((JSON.parse(await readFile(lockFile, 'utf8')) as { pid: number }).pid, process.pid);
  await w.close();
  assert.ok((await stat(dir)).isDirectory());

  await writeFile(lockFile, JSON.stringify({ pid: dead.pid, hostname: `not-${os.hostname()}`, startedAt: '2020-01-01T00:00:00.000Z' }));
  await assert.rejects(CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS)), { name: 'CacheError', message: new RegExp(`locked by pid ${dead.pid} on host not-`) });
  await writeFile(lockFile, '');
  await assert.rejects(CacheWriter.open(dir, classDraft(ROWS, SHARD_ROWS)), { name: 'CacheError', message: /is unreadable/ });
});
