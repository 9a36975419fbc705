import { DatasetError } from '../core/errors/index.js';
import type { Split } from './dataset.js';

/** Throws a DatasetError unless `value` is undefined or a positive integer; `field` names the recipe key. */
export function checkPositiveInt(value: number | undefined, field: string, what: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
    throw new DatasetError(`${what}: expected ${field} to be a positive integer, got ${value}`);
  }
}

/** Rows kept by `limit`: the first min(limit, available) rows. */
export function limitRows(available: number, limit: number | undefined): number {
  return limit === undefined ? available : Math.min(available, limit);
}

/** The splits every dataset accepts. */
export const SPLITS = ['train', 'validation', 'test', 'all'] as const satisfies readonly Split[];

/** Throws a DatasetError unless `split` is one of SPLITS. */
export function checkSplit(split: unknown, what: string): asserts split is Split {
  if (!(SPLITS as readonly unknown[]).includes(split)) {
    throw new DatasetError(`${what}: expected split to be one of ${SPLITS.join(', ')}, got ${JSON.stringify(split)}`);
  }
}
