import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAtomicTempFile, sha256Bytes, sha256File, writeFileAtomic } from '../../src/core/util/fs.js';
import { Rng } from '../../src/core/util/rng.js';
import { tempDir } from '../cache/tmp.js';

test('writeFileAtomic creates and replaces a file and leaves no temp file', async () => {
  const dir = await tempDir('fs');
  const file = path.join(dir, 'm.json');
  await writeFileAtomic(file, 'first');
  assert.equal(await readFile(file, 'utf8'), 'first');
  const bytes = new Uint8Array(1000).map((_, i) => i % 251);
  await writeFileAtomic(file, bytes);
  assert.deepEqual(new Uint8Array(await readFile(file)), bytes);
  assert.deepEqual(await readdir(dir), ['m.json']);
});

test('concurrent writeFileAtomic calls to one file end with one complete content', async () => {
  const dir = await tempDir('fs');
  const file = path.join(dir, 'x');
  const contents = Array.from({ length: 8 }, (_, i) => String(i).repeat(10000));
  await Promise.all(contents.map((c) => writeFileAtomic(file, c)));
  assert.ok(contents.includes(await readFile(file, 'utf8')));
  assert.deepEqual(await readdir(dir), ['x']);
});

test('isAtomicTempFile recognizes only the temp names writeFileAtomic uses', () => {
  assert.ok(isAtomicTempFile('.part-00001.parquet.kennis-tmp-123-4'));
  assert.ok(!isAtomicTempFile('part-00001.parquet'));
  assert.ok(!isAtomicTempFile('.lock'));
});

test('sha256File streams a multi-chunk file to the same digest as hashing it whole', async () => {
  const dir = await tempDir('fs');
  const file = path.join(dir, 'big');
  const rng = new Rng(3);
  const bytes = new Uint8Array(300_000).map(() => rng.int(256));
  await writeFile(file, bytes);
  const want = createHash('sha256').update(bytes).digest('hex');
  assert.equal(await sha256File(file), want);
  assert.equal(sha256Bytes(bytes), want);
  assert.equal(sha256Bytes(''), createHash('sha256').update(new Uint8Array(0)).digest('hex'));
});
