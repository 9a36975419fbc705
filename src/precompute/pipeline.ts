import type { RecordBatch } from 'apache-arrow';
import pLimit from 'p-limit';
import type { Dataset } from '../data/index.js';
import type { TargetSpec } from '../cache/targets/index.js';
import type { InputBinding, Teacher } from '../core/runtime/index.js';
import { teacherBatch, type BatchOutput } from './batch.js';
import type { ShardWriterThread } from './shard-writer.js';

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
  /** Called once shard `index` with `rows` rows is recorded. */
  onShard: (index: number, rows: number) => void;
}

/**
 * Runs the teacher over every shard from writer.nextShardIndex() on and writes each shard as
 * soon as its batches are done. Teacher batches of the next shard are already queued while a
 * shard is encoded on the writer's threads, so the teacher does not wait for writes; at most
 * one shard per encoder thread plus the one being computed are held in memory. Returns the rows computed.
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
  try {
    for (let shard = first; shard * o.shardRows < total; shard++) {
      const start = shard * o.shardRows;
      const end = Math.min(start + o.shardRows, total);
      const parts: Promise<BatchOutput>[] = [];
      for await (const batch of o.dataset.batches({ batchSize: o.batchSize, start, end })) parts.push(run(batch));
      const write = Promise.all(parts)
        .then((outputs) => o.writer.writeShard(shard, outputs))
        .then(() => o.onShard(shard, end - start));
      write.catch(() => undefined); // awaited below; must not count as unhandled while it waits its turn
      writes.push(write);
      if (writes.length > o.writer.threads) await writes.shift();
    }
    await Promise.all(writes);
  } catch (err) {
    failed = true;
    await Promise.allSettled([...running]);
    throw err;
  }
  return total - Math.min(total, first * o.shardRows);
}
