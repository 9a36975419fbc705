import { inflateSync } from 'node:zlib';

/** A decoded 8-bit PNG: RGBA pixels, row-major. */
export interface DecodedPng {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** width * height * 4 bytes of RGBA. */
  rgba: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** Bytes per pixel by PNG color type (8-bit channels): gray, RGB, gray+alpha, RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** Decodes a non-interlaced 8-bit gray/RGB/RGBA PNG (what Chromium screenshots are): inflate IDAT, undo the per-row filters. */
export function decodePng(png: Uint8Array): DecodedPng {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  SIGNATURE.forEach((b, i) => {
    if (buf[i] !== b) throw new Error(`expected PNG signature byte ${i} = ${b}, got ${buf[i]}`);
  });
  let width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0;
  const idat: Buffer[] = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bitDepth = data[8]!;
      colorType = data[9]!;
      interlace = data[12]!;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len; // length + type + data + crc
  }
  const bpp = CHANNELS[colorType];
  if (bitDepth !== 8 || bpp === undefined || interlace !== 0) {
    throw new Error(`expected an 8-bit non-interlaced gray/RGB/RGBA PNG, got bit depth ${bitDepth}, color type ${colorType}, interlace ${interlace}`);
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  if (raw.length !== height * (stride + 1)) throw new Error(`expected ${height * (stride + 1)} inflated bytes, got ${raw.length}`);
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride; // previous row; y = 0 reads zeros
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? pixels[row + x - bpp]! : 0;
      const b = y > 0 ? pixels[prev + x]! : 0;
      const c = x >= bpp && y > 0 ? pixels[prev + x - bpp]! : 0;
      const v = raw[src + x]!;
      let pred: number;
      if (filter === 0) pred = 0;
      else if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) pred = paeth(a, b, c);
      else throw new Error(`expected PNG filter type 0-4, got ${filter} in row ${y}`);
      pixels[row + x] = (v + pred) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const p = pixels.subarray(i * bpp, i * bpp + bpp);
    const [r, g, b, alpha] = bpp >= 3 ? [p[0]!, p[1]!, p[2]!, bpp === 4 ? p[3]! : 255] : [p[0]!, p[0]!, p[0]!, bpp === 2 ? p[1]! : 255];
    rgba.set([r, g, b, alpha], i * 4);
  }
  return { width, height, rgba };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
