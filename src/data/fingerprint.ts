import { createHash } from 'node:crypto';

/** Bumped when the preprocessing of any dataset changes, so old fingerprints stop matching. */
export const FINGERPRINT_VERSION = 'kennis-datasets/1';

/** Values that may appear in fingerprinted options. */
export type OptionValue = string | number | boolean | null | undefined | OptionValue[] | { [key: string]: OptionValue };

/** sha256 hex over byte chunks, e.g. a source file or a dataset's raw arrays. */
export function sha256Hex(chunks: Iterable<Uint8Array | ArrayBufferView>): string {
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  return hash.digest('hex');
}

/**
 * The dataset fingerprint: sha256 hex over the content hash and the resolved preprocessing
 * options. Options are serialized with sorted keys and undefined fields dropped, so equal
 * options always give equal fingerprints regardless of key order.
 */
export function datasetFingerprint(contentHash: string, options: { [key: string]: OptionValue }): string {
  const hash = createHash('sha256');
  hash.update(`${FINGERPRINT_VERSION}\n${contentHash}\n${canonicalJson(options)}`);
  return hash.digest('hex');
}

/** JSON with object keys sorted recursively and undefined fields dropped. */
export function canonicalJson(value: OptionValue): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
}
