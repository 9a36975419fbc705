import type { Table } from 'apache-arrow';
import { CacheError } from '../../core/errors/index.js';
import type { Manifest } from '../../cache/index.js';
import { columnValues, readShards } from '../../cache/index.js';
import { valuesPerRow, type NumericArray } from '../../core/util/arrow.js';
import { Rng } from '../../core/util/rng.js';
import { ShuffleBuffer } from './shuffle.js';
import { DecodePool, type DecodedColumns } from './decode-pool.js';

/** Options of a cache loader. */
export interface LoaderOptions {
  /** Columns each batch carries (inputs, labels, targets). */
  columns: readonly string[];
  /** Rows per batch; the last batch of an epoch may be shorter. */
  batchSize: number;
  /** Rows in the shuffle buffer; 1 keeps the cache order. */
  shuffleBuffer: number;
  /** Seed of the shard order and the shuffle; each epoch derives its own stream. */
  seed: number;
  /** Check every shard's sha256 as it is read. */
  verify?: boolean;
  /** Worker threads that read and decode shards ahead of use (default 2); 0 decodes on this thread. */
  decodeThreads?: number;
}

/** One training batch: each column's values for `size` rows, row-major and contiguous. */
export interface LoaderBatch {
  /** Rows in this batch. */
  size: number;
  /** Column name -> values of all rows (size * values per row). */
  columns: Record<string, NumericArray>;
}

/** The columns of one decoded shard, kept alive only while its rows are in the buffer. */
type ShardColumns = DecodedColumns;

/**
 * Streams a cache's shards as shuffled training batches: shards are read and decoded ahead of use
 * on worker threads (one per thread in flight), rows are mixed across shard boundaries by a seeded
 * buffer, and at most the buffer plus 1 + decodeThreads shards are in memory. Re-iterable:
 * `epoch(e)` replays the same order for the same e.
 */
export class CacheLoader {
  constructor(private readonly dir: string, private readonly manifest: Manifest, private readonly options: LoaderOptions) {
    const names = new Set(manifest.schema.map((f) => f.name));
    for (const c of options.columns) {
      if (!names.has(c)) throw new CacheError(`cache ${dir} has no column '${c}'; its shards hold ${[...names].join(', ')}`);
    }
  }

  /** Rows per epoch. */
  get rows(): number {
    return this.manifest.shards.reduce((n, s) => n + s.rows, 0);
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return Math.ceil(this.rows / this.options.batchSize);
  }

  /** Yields the batches of epoch `epoch`, skipping the first `skip` (to resume mid-epoch). */
  async *epoch(epoch: number, skip = 0): AsyncGenerator<LoaderBatch> {
    const rng = Rng.derive(this.options.seed, epoch);
    const order = rng.shuffle(this.manifest.shards.map((_, i) => i));
    const buffer = new ShuffleBuffer<[ShardColumns, number]>(this.options.shuffleBuffer, rng);
    const pending: [ShardColumns, number][] = [];
    let emitted = 0;
    const take = (row: [ShardColumns, number] | undefined): LoaderBatch | undefined => {
      if (row) pending.push(row);
      if (pending.length < this.options.batchSize) return undefined;
      return this.assemble(pending.splice(0, pending.length));
    };
    for await (const [shard, rows] of this.shards(order)) {
      for (let r = 0; r < rows; r++) {
        const batch = take(buffer.push([shard, r]));
        if (batch && emitted++ >= skip) yield batch;
      }
    }
    for (const row of buffer.drain()) {
      const batch = take(row);
      if (batch && emitted++ >= skip) yield batch;
    }
    if (pending.length > 0 && emitted++ >= skip) yield this.assemble(pending);
  }

  /** The shards in `order` with their row counts, decoded on the pool's threads (or here). */
  private async *shards(order: readonly number[]): AsyncGenerator<[ShardColumns, number]> {
    const verify = this.options.verify ?? false;
    const threads = this.options.decodeThreads ?? 2;
    if (threads === 0) {
      for await (const { table } of readShards(this.dir, { order, verify, manifest: this.manifest })) yield [this.columnsOf(table), table.numRows];
      return;
    }
    const pool = DecodePool.get(threads);
    const request = (n: number): Promise<ShardColumns> | undefined => {
      if (n >= order.length) return undefined;
      const p = pool.decode(this.dir, this.manifest, order[n]!, this.options.columns, verify);
      p.catch(() => undefined); // observed when awaited; a consumer that stops early must not see an unhandled rejection
      return p;
    };
    const ahead = Array.from({ length: threads }, (_, n) => request(n));
    for (let n = 0; n < order.length; n++) {
      const shard = await ahead.shift()!;
      ahead.push(request(n + threads));
      yield [shard, this.manifest.shards[order[n]!]!.rows];
    }
  }

  private columnsOf(table: Table): ShardColumns {
    const values: NumericArray[] = [];
    const per: number[] = [];
    for (const name of this.options.columns) {
      values.push(columnValues(table, name, this.manifest).values);
      per.push(valuesPerRow(table.getChild(name)!.type));
    }
    return { values, per };
  }

  private assemble(rows: readonly [ShardColumns, number][]): LoaderBatch {
    const columns: Record<string, NumericArray> = {};
    this.options.columns.forEach((name, c) => {
      const first = rows[0]![0];
      const per = first.per[c]!;
      const Ctor = first.values[c]!.constructor as new (n: number) => NumericArray;
      const out = new Ctor(rows.length * per);
      rows.forEach(([shard, r], i) => {
        (out as Float32Array).set((shard.values[c] as Float32Array).subarray(r * per, (r + 1) * per), i * per);
      });
      columns[name] = out;
    });
    return { size: rows.length, columns };
  }
}
