import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromFloat16Bits, toFloat16Bits } from '../../src/core/util/float16.js';
import { Rng } from '../../src/core/util/rng.js';
import { half64 } from '../cache/helpers.js';

/** Nearest binary16 bits of a finite or infinite float64 value, ties to even, computed with float64 arithmetic. */
function nearestHalfBits(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65504 + half an ulp (16) ties to the even "next" value, inf
  const roundEven = (q: number): number => {
    const f = Math.floor(q);
    const d = q - f;
    return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  };
  if (a < 2 ** -14) return sign | roundEven(a / 2 ** -24); // subnormal grid; 1024 lands on the smallest normal
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  const n = roundEven(a / 2 ** (e - 10)); // in [1024, 2048]; 2048 carries into the exponent
  return sign | (((e + 15) << 10) + (n - 1024));
}

const isHalfNaN = (b: number) => (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;

test('fromFloat16Bits matches the IEEE definition for all 65536 patterns', () => {
  const bits = new Uint16Array(65536).map((_, i) => i);
  const values = fromFloat16Bits(bits);
  for (let i = 0; i < 65536; i++) {
    const want = half64(i);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(values[i]), `bits ${i.toString(16)}`);
    else assert.ok(Object.is(values[i], want), `bits ${i.toString(16)}: expected ${want}, got ${values[i]}`);
  }
});

test('toFloat16Bits inverts fromFloat16Bits and keeps NaN a NaN', () => {
  const bits = new Uint16Array(65536).map((_, i) => i);
  const back = toFloat16Bits(fromFloat16Bits(bits));
  for (let i = 0; i < 65536; i++) {
    if (isHalfNaN(i)) assert.ok(isHalfNaN(back[i]!), `NaN bits ${i.toString(16)} became ${back[i]!.toString(16)}`);
    else assert.equal(back[i], i);
  }
});

test('toFloat16Bits rounds to nearest even at every midpoint, next to it, and on random floats', () => {
  const xs: number[] = [0, -0, Infinity, -Infinity, 65504, 65519.99, 65520, 1e9, -1e-30, 2 ** -25, 2 ** -25 * 1.0000001, 2 ** -24, 3 * 2 ** -25, 2 ** -14];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  // midpoints between neighbouring halves are float32 values; test them and their float32 neighbours
  for (let b = 0; b < 0x7bff; b++) {
    const mid = (half64(b) + half64(b + 1)) / 2;
    f[0] = mid;
    assert.equal(f[0], mid, 'midpoint is exact in float32');
    const m = u[0]!;
    for (const bitsOf of [m - 1, m, m + 1]) {
      u[0] = bitsOf;
      xs.push(f[0]!, -f[0]!);
    }
  }
  const rng = new Rng(11);
  for (let i = 0; i < 100000; i++) {
    u[0] = rng.nextUint32();
    xs.push(f[0]!);
  }
  const input = Float32Array.from(xs);
  const got = toFloat16Bits(input);
  for (let i = 0; i < input.length; i++) {
    const x = input[i]!;
    if (Number.isNaN(x)) { assert.ok(isHalfNaN(got[i]!), `NaN ${i}`); continue; }
    const want = nearestHalfBits(x);
    if (got[i] !== want) assert.fail(`x=${x}: expected bits ${want.toString(16)}, got ${got[i]!.toString(16)}`);
  }
});
