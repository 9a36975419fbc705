import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/util/index.js';
import { dropoutMaskValues } from '../../src/train/nn/index.js';

test('fillUint32 draws the nextUint32 sequence and leaves the state where nextUint32 would', () => {
  for (const seed of [0, 1, 0xdeadbeef]) {
    const one = new Rng(seed), bulk = new Rng(seed);
    const want = Array.from({ length: 1001 }, () => one.nextUint32());
    assert.deepEqual(Array.from(bulk.fillUint32(new Uint32Array(1001))), want);
    assert.deepEqual(bulk.state(), one.state());
  }
});

test('dropout masks drop exactly the draws below the rate (next() < rate), scaled by 1 / (1 - rate)', () => {
  for (const rate of [0.1, 0.5, 1 / 3]) {
    const rng = Rng.derive(7, 3, 2);
    const mask = dropoutMaskValues(7, 3, 2, 5000, rate);
    const keep = Math.fround(1 / (1 - rate));
    mask.forEach((v, i) => assert.equal(v, rng.next() < rate ? 0 : keep, `rate ${rate} entry ${i}`));
  }
});
