import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatasetError } from '../../src/core/errors/index.js';
import { BUILTIN_DATASETS, openDataset, type DatasetSpec } from '../../src/data/index.js';
import { collect, column } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kennis-open-'));
const fp = async (spec: DatasetSpec): Promise<string> => (await openDataset(spec)).fingerprint;

test('fingerprint: stable for equal specs, different when an option or the content changes', async () => {
  const base = await fp({ name: 'moby-dick', split: 'train', seqLen: 32 });
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.equal(await fp({ name: 'moby-dick', split: 'train', seqLen: 32 }), base);
  // the default stride is seqLen, so spelling it out is the same preprocessing
  assert.equal(await fp({ name: 'moby-dick', split: 'train', seqLen: 32, stride: 32 }), base);
  const variants = [
    await fp({ name: 'moby-dick', split: 'validation', seqLen: 32 }),
    await fp({ name: 'moby-dick', split: 'train', seqLen: 33 }),
    await fp({ name: 'moby-dick', split: 'train', seqLen: 32, stride: 16 }),
    await fp({ name: 'moby-dick', split: 'train', seqLen: 32, limit: 10 }),
    await fp({ name: 'sotu', split: 'train', seqLen: 32 }),
    await fp({ name: 'mnist', split: 'train' }),
    await fp({ name: 'mnist', split: 'test' }),
    await fp({ name: 'mnist', split: 'train', limit: 100 }),
    await fp({ name: 'mnist', split: 'train', limit: 101 }),
  ];
  assert.equal(new Set([base, ...variants]).size, variants.length + 1);
  assert.equal(await fp({ name: 'mnist', split: 'train', limit: 100 }), variants[7]);

  const a = join(dir, 'a.jsonl');
  writeFileSync(a, '{"x": [1, 2], "y": 0}\n{"x": [3, 4], "y": 1}\n');
  const fileBase = await fp({ name: 'file', path: a });
  const moved = join(dir, 'moved.jsonl');
  copyFileSync(a, moved);
  assert.equal(await fp({ name: 'file', path: moved }), fileBase, 'the fingerprint is of the content, not the path');
  const fileVariants = [
    await fp({ name: 'file', path: a, label: 'y' }),
    await fp({ name: 'file', path: a, columns: ['x'] }),
    await fp({ name: 'file', path: a, columns: { z: 'x' } }),
    await fp({ name: 'file', path: a, limit: 1 }),
    await fp({ name: 'file', path: a, split: 'train' }),
    await fp({ name: 'file', path: a, dtypes: { x: 'float64' } }),
  ];
  writeFileSync(moved, '{"x": [1, 2], "y": 0}\n{"x": [3, 5], "y": 1}\n');
  fileVariants.push(await fp({ name: 'file', path: moved }));
  assert.equal(new Set([fileBase, ...fileVariants]).size, fileVariants.length + 1);
});

test('fingerprint: equal in a fresh process', async () => {
  const here = await fp({ name: 'sotu', split: 'test', seqLen: 64, stride: 10 });
  const index = fileURLToPath(new URL('../../src/data/index.ts', import.meta.url));
  const script = `const { openDataset } = await import(${JSON.stringify(index)});
    process.stdout.write((await openDataset({ name: 'sotu', split: 'test', seqLen: 64, stride: 10 })).fingerprint);`;
  const there = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(there, here);
});

test('batches: re-iterable with identical results; start/end select rows of the split', async () => {
  for (const spec of [{ name: 'mnist', split: 'validation' }, { name: 'moby-dick', split: 'test', seqLen: 16, stride: 5 }] as DatasetSpec[]) {
    const ds = await openDataset(spec);
    const iterable = ds.batches({ batchSize: 7, start: 13, end: 40 });
    const first = [];
    for await (const b of iterable) first.push(b);
    const second = [];
    for await (const b of iterable) second.push(b);
    assert.deepEqual(first.map((b) => b.numRows), [7, 7, 7, 6]);
    assert.equal(second.length, first.length);
    for (const name of ds.schema.fields.map((f) => f.name)) assert.deepEqual(column(second, name), column(first, name), name);
    assert.deepEqual(column(first, 'row'), Array.from({ length: 27 }, (_, i) => 13 + i));
    for (const b of first) assert.deepEqual(b.schema.fields.map(String), ds.schema.fields.map(String));
    // the same rows as a slice of one full pass
    const full = await collect(ds, { batchSize: 64, end: 40 });
    for (const name of ds.schema.fields.map((f) => f.name)) {
      const per = column(full, name).length / 40;
      assert.deepEqual(column(first, name), column(full, name).slice(13 * per, 40 * per), name);
    }
    assert.deepEqual(await collect(ds, { batchSize: 5, start: 9, end: 9 }), []);
  }
});

test('batches and openDataset: bad input is a one-line DatasetError', async () => {
  const ds = await openDataset({ name: 'mnist', split: 'test', limit: 10 });
  for (const options of [{ batchSize: 0 }, { batchSize: 2, start: -1 }, { batchSize: 2, end: 11 }, { batchSize: 2, start: 5, end: 4 }, { batchSize: 1.5 }]) {
    assert.throws(() => ds.batches(options), DatasetError, JSON.stringify(options));
  }
  await assert.rejects(openDataset({ name: 'cifar' } as unknown as DatasetSpec), (e: unknown) => {
    assert.ok(e instanceof DatasetError);
    for (const name of BUILTIN_DATASETS) assert.ok(e.message.includes(name), e.message);
    assert.match(e.message, /'cifar'/);
    return true;
  });
  await assert.rejects(openDataset({ name: 'mnist', split: 'train', limit: 0 }), DatasetError);
});
