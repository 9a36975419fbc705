import type { ManifestDraft, ShardEntry, WorkerId } from '../cache/index.js';
import { CacheError } from '../core/errors/index.js';
import { ThreadPool, type RequestOf, type ResponseOf } from '../core/workers/index.js';
import { transferList, type ShardPayload } from './transfer.js';
import type { handlers } from './shard-worker.js';

type WriterPool = ThreadPool<typeof handlers>;

// One finished run's thread is kept (idle threads never hold the process open) for the next run
// in this process: starting a thread means loading arrow, parquet-wasm and zod again.
let idle: WriterPool | undefined;

function takePool(): WriterPool {
  const pool = idle ?? ThreadPool.start<typeof handlers>(import.meta.url, 'shard-worker', {
    size: 1,
    exitError: (code) => new CacheError(`the cache writer thread exited (code ${code}) before answering; re-run to resume`),
  });
  idle = undefined;
  return pool;
}

/**
 * A CacheWriter running on a worker thread: writeShard hands the shard's buffers over (no copy)
 * and resolves once the shard is recorded in the manifest, so encoding never blocks the thread
 * that feeds the teacher.
 */
export class ShardWriterThread {
  private recorded: ShardEntry[] = [];
  private first = 0;
  private closed = false;

  private constructor(private readonly pool: WriterPool) {}

  /** Starts the thread and opens (or resumes) the cache in `dir`, or only `worker`'s shard range of it; see CacheWriter.open. */
  static async open(dir: string, draft: ManifestDraft, onWarning: (message: string) => void, worker?: WorkerId): Promise<ShardWriterThread> {
    const thread = new ShardWriterThread(takePool());
    try {
      const reply = await thread.pool.call('open', { dir, draft, ...(worker ? { worker } : {}) }, { onNotify: (w) => onWarning(w as string) });
      thread.recorded = reply.shards;
      thread.first = reply.first;
    } catch (err) {
      await thread.close();
      throw err;
    }
    return thread;
  }

  /** The shards recorded in the manifest, in index order. */
  shards(): readonly ShardEntry[] { return this.recorded; }

  /** Index of the first shard not yet recorded: where a resumed run continues (a worker: within its range). */
  nextShardIndex(): number { return this.first + this.recorded.length; }

  /**
   * Makes shard `index`'s target columns and writes it, on the writer thread; the payload's
   * buffers move there and are unusable here afterwards.
   */
  async writeShard(index: number, payload: ShardPayload): Promise<ShardEntry> {
    const entry = await this.call('write', { index, payload }, transferList(payload));
    this.recorded = [...this.recorded, entry].sort((a, b) => a.firstRow - b.firstRow);
    return entry;
  }

  /** Marks the cache complete and releases the lock. */
  async finish(): Promise<void> {
    await this.call('finish', undefined);
  }

  /** Releases the lock (if still held) and frees the thread; safe after finish or a failure. */
  async close(): Promise<void> {
    if (this.closed) return;
    let reusable = false;
    try {
      if (!this.pool.failed) await this.pool.call('close', undefined);
      reusable = !this.pool.failed && this.pool.inFlight === 0;
    } finally {
      this.closed = true;
      if (reusable && idle === undefined) idle = this.pool;
      else await this.pool.close();
    }
  }

  private call<K extends 'write' | 'finish'>(op: K, request: RequestOf<typeof handlers, K>, transfer: ArrayBuffer[] = []): Promise<ResponseOf<typeof handlers, K>> {
    if (this.closed) return Promise.reject(new CacheError('the cache writer is closed; open the cache again to write more'));
    return this.pool.call(op, request, { transfer });
  }
}
