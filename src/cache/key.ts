import type { TargetSpec } from './targets/spec.js';
import { sha256Bytes } from '../core/util/fs.js';

/** What a cache's content depends on. */
export interface CacheKeyInput {
  /** sha256 hex of the teacher ONNX file. */
  teacherSha256: string;
  /** Dataset fingerprint (content and preprocessing). */
  datasetFingerprint: string;
  /** The resolved soft-target description. */
  targetSpec: TargetSpec;
  /** Anything else the cache's bytes depend on (teacher output name, shard format, ...); JSON-able. */
  extra?: unknown;
}

/**
 * JSON with object keys sorted at every level and undefined members dropped, so that equal
 * values give equal text regardless of key order.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError(`expected a finite number in canonical JSON, got ${value}`);
    if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') throw new TypeError(`expected a JSON value, got a ${typeof value}`);
    return JSON.stringify(value);
  }
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return canonicalJson(withJson.toJSON());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The cache key: sha256 hex of canonicalJson({ datasetFingerprint, targetSpec, teacherSha256 }),
 * with an `extra` member only when input.extra is defined.
 */
export function cacheKey(input: CacheKeyInput): string {
  const { teacherSha256, datasetFingerprint, targetSpec, extra } = input;
  return sha256Bytes(canonicalJson({ teacherSha256, datasetFingerprint, targetSpec, extra }));
}
