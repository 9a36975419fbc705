import { createHash } from 'node:crypto';
import type { RecordBatch } from 'apache-arrow';
import { flatValues, type NumericArray } from '../../src/core/util/index.js';
import type { BatchOptions, Dataset } from '../../src/data/index.js';

/** Every batch of a dataset range, collected. */
export async function collect(ds: Dataset, options: BatchOptions): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of ds.batches(options)) out.push(b);
  return out;
}

/** A column's flat values over all batches, as plain numbers. */
export function column(batches: RecordBatch[], name: string): number[] {
  const out: number[] = [];
  for (const b of batches) {
    const child = b.getChild(name);
    if (child === null) throw new Error(`batch lacks column '${name}'`);
    for (const v of flatValues(child) as NumericArray) out.push(Number(v));
  }
  return out;
}

/** sha1 hex of a typed array's bytes. */
export function hashBytes(values: ArrayBufferView): string {
  return createHash('sha1').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex');
}
