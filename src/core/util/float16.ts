/**
 * IEEE 754 binary16 conversions. Arrow stores Float16 columns as Uint16Array bit patterns;
 * these helpers convert between those patterns and float32 values.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * binary16 bits of one number, rounded to nearest, ties to even; overflow gives ±inf, NaN stays NaN.
 * x is first rounded to float32 (exact for float32 inputs, which is what kennis stores).
 */
export function float16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp32 = (b >>> 23) & 0xff;
  const mant32 = b & 0x7fffff;
  if (exp32 === 0xff) return sign | 0x7c00 | (mant32 !== 0 ? 0x200 | (mant32 >>> 13) : 0);
  const exp = exp32 - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    // below 2^-25 everything rounds to zero (2^-25 itself ties to the even zero)
    if (exp < -10) return sign;
    const m = mant32 | 0x800000;
    const shift = 14 - exp;
    return sign | roundShift(m, shift);
  }
  // a carry out of the mantissa correctly bumps the exponent (and 65520+ becomes inf)
  return sign | ((exp << 10) + roundShift(mant32, 13));
}

/** m >> shift, rounded to nearest with ties to even. */
function roundShift(m: number, shift: number): number {
  const q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

/** The float32 value of binary16 bits (exact: every binary16 value is a float32 value). */
export function float16Value(bits: number): number {
  const sign = (bits & 0x8000) << 16;
  const exp = (bits >>> 10) & 0x1f;
  let mant = bits & 0x3ff;
  if (exp === 0x1f) {
    u32[0] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
  } else if (exp === 0) {
    if (mant === 0) {
      u32[0] = sign >>> 0;
    } else {
      // normalize the subnormal: shift until the implicit bit appears
      let e = -14;
      while ((mant & 0x400) === 0) { mant <<= 1; e--; }
      u32[0] = (sign | ((e + 127) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
    }
  } else {
    u32[0] = (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  }
  return f32[0]!;
}

let table: Float32Array | undefined;

/** All 65536 binary16 values, built once (a lookup is faster than decoding bits per element). */
function valueTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) table[i] = float16Value(i);
  }
  return table;
}

/** binary16 bit patterns of float32 values (round to nearest even; inf, NaN and subnormals handled). */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float16Bits(values[i]!);
  return out;
}

/** float32 values of binary16 bit patterns. */
export function fromFloat16Bits(bits: Uint16Array): Float32Array {
  const t = valueTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]!]!;
  return out;
}
