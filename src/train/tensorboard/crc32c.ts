import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC-32C (Castagnoli), as TFRecord framing uses; pass a previous result as `crc` to continue over more bytes. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  return nativeCrc32c(bytes, crc) >>> 0;
}

/** The masked CRC TFRecord stores: rotate right by 15 and add 0xa282ead8 (mod 2^32). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}
