import type { RecordBatch } from 'apache-arrow';
import pLimit from 'p-limit';
import type { Dataset } from '../data/index.js';
import type { TargetSpec } from '../cache/targets/index.js';
import type { InputBinding, Teacher } from '../core/runtime/index.js';
import { teacherBatch, type BatchOutput } from './batch.js';
import type { ShardWriterThread } from './shard-writer.js';
import type { StoredCodes } from './transfer.js';
import type { StoredColumns } from '../cache/index.js';

/** What runShards needs. */
export interface PipelineOptions {
  /** Rows to run over. */
  dataset: Dataset;
  /** The teacher with its soft-target head. */
  teacher: Teacher;
  /** How dataset columns feed the teacher. */
  bindings: readonly InputBinding[];
  /** The targets the head computes. */
  spec: TargetSpec;
  /** Where shards go; its nextShardIndex() is where the run starts. */
  writer: ShardWriterThread;
  /** Rows per shard. */
  shardRows: number;
  /** Rows per teacher call. */
  batchSize: number;
  /** Teacher calls in flight. */
  concurrency: number;
  /** Bytes one shard holds from its teacher outputs until it is written (an upper estimate, see shardBytesEstimate). */
  shardBytes: number;
  /** Called once shard `index` with `rows` rows is recorded. */
  onShard: (index: number, rows: number) => void;
}

/** Memory that shards waiting for the writer may hold, so the teacher runs on while a write is slow. */
export const WRITE_AHEAD_BYTES = 256 * 2 ** 20;

/** Shards the teacher may run ahead of the writer, whatever their size. */
export const MAX_SHARDS_AHEAD = 16;

/**
 * Shards in flight (computed or being computed, not yet written): as many as WRITE_AHEAD_BYTES
 * holds, at most MAX_SHARDS_AHEAD, and at least one per encoder thread plus the one being computed.
 */
export function shardsAhead(shardBytes: number, threads: number): number {
  return Math.max(threads + 1, Math.min(MAX_SHARDS_AHEAD, Math.floor(WRITE_AHEAD_BYTES / Math.max(1, shardBytes))));
}

/**
 * Runs the teacher over every shard from writer.nextShardIndex() on and writes each shard as
 * soon as its batches are done. The teacher runs up to shardsAhead() shards ahead of the writer,
 * so a write slowed by a busy disk or an encoder thread that lost its core does not stall it
 * (with one shard of lookahead it waited on every other write here). Returns the rows computed.
 */
export async function runShards(o: PipelineOptions): Promise<number> {
  const total = o.dataset.numRows;
  const first = o.writer.nextShardIndex();
  const limit = pLimit(o.concurrency);
  const running = new Set<Promise<unknown>>();
  let failed = false;
  const run = (batch: RecordBatch): Promise<BatchOutput> => {
    const p = limit(() => {
      // after a failure, queued batches end at once so the session can be released
      if (failed) throw new Error('precompute stopped after an earlier error');
      return teacherBatch(o.teacher, batch, o.bindings, o.spec);
    });
    running.add(p);
    void p.then(() => running.delete(p), () => running.delete(p));
    return p;
  };
  const writes: Promise<void>[] = [];
  const ahead = shardsAhead(o.shardBytes, o.writer.threads);
  try {
    for (let shard = first; shard * o.shardRows < total; shard++) {
      const start = shard * o.shardRows;
      const end = Math.min(start + o.shardRows, total);
      const parts: Promise<BatchOutput>[] = [];
      for await (const batch of o.dataset.batches({ batchSize: o.batchSize, start, end })) parts.push(run(batch));
      const write = Promise.all(parts)
        .then((outputs) => o.writer.writeShard(shard, outputs, storedCodes(o.dataset, o.writer.storedColumns, start, end)))
        .then(() => o.onShard(shard, end - start));
      write.catch(() => undefined); // awaited below; must not count as unhandled while it waits its turn
      writes.push(write);
      if (writes.length >= ahead) await writes.shift();
    }
    await Promise.all(writes);
  } catch (err) {
    failed = true;
    await Promise.allSettled([...running]);
    throw err;
  }
  return total - Math.min(total, first * o.shardRows);
}

/** The codes of rows [start, end) of the stored columns whose codes the dataset holds. */
export function storedCodes(dataset: Dataset, stored: StoredColumns, start: number, end: number): StoredCodes {
  const codes: StoredCodes = {};
  for (const [name, column] of Object.entries(stored)) {
    const narrow = dataset.narrowColumns?.[name];
    if (narrow?.codes && narrow.dtype === column.stored) codes[name] = narrow.codes(start, end);
  }
  return codes;
}
