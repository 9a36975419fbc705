import { availableParallelism } from 'node:os';
import type { ManifestDraft, ShardEntry, StoredColumns, WorkerId } from '../cache/index.js';
import { CacheError } from '../core/errors/index.js';
import { ThreadPool, type RequestOf, type ResponseOf } from '../core/workers/index.js';
import { shardPayload, transferList, type StoredCodes } from './transfer.js';
import type { BatchOutput } from './batch.js';
import type { ShardLayout, handlers } from './shard-worker.js';

type WriterPool = ThreadPool<typeof handlers>;

/**
 * The thread that owns the CacheWriter and only writes; threads 1..n encode. A thread that also
 * encoded ran each write's dozen file-system callbacks between its encodes (each 5-10 ms of
 * synchronous work), so a shard encoded in 5 ms was recorded 20-30 ms later.
 */
const WRITER_THREAD = 0;

// One finished run's threads are kept (idle threads never hold the process open) for the next run
// in this process: starting a thread means loading arrow, parquet-wasm and zod again.
let idle: WriterPool | undefined;

function takePool(size: number): WriterPool {
  const pool = idle ?? ThreadPool.start<typeof handlers>(import.meta.url, 'shard-worker', {
    size,
    exitError: (code) => new CacheError(`a cache writer thread exited (code ${code}) before answering; re-run to resume`),
  });
  idle = undefined;
  pool.grow(size);
  return pool;
}

/**
 * Encoder threads for a precompute run: `requested` when set (cache.encode_threads), else the
 * cores the teacher leaves free, less one for the thread that feeds it (at least 1).
 */
export function encoderThreads(requested: number, teacherThreads: number, cpuTeacher: boolean): number {
  if (requested > 0) return requested;
  const cores = availableParallelism();
  // onnxruntime's default (0) takes every core
  const teacher = cpuTeacher ? (teacherThreads > 0 ? Math.min(teacherThreads, cores) : cores) : 0;
  return Math.max(1, cores - teacher - 1);
}

/**
 * A CacheWriter on worker threads: writeShard hands the shard's buffers to the least busy of
 * `threads` encoder threads (no copy), then the encoded file to the CacheWriter's own thread, and
 * resolves once the shard is recorded in the manifest; so neither encoding nor writing blocks the
 * thread that feeds the teacher, and shards encode in parallel when cores allow. A shard's bytes
 * do not depend on the thread that encoded it.
 */
export class ShardWriterThread {
  private recorded: ShardEntry[] = [];
  private first = 0;
  private closed = false;

  private constructor(private readonly pool: WriterPool, private readonly layout: ShardLayout, private readonly stored: StoredColumns, readonly threads: number) {}

  /** Starts the threads and opens (or resumes) the cache in `dir`, or only `worker`'s shard range of it; see CacheWriter.open. */
  static async open(dir: string, draft: ManifestDraft, onWarning: (message: string) => void, options: { worker?: WorkerId; threads?: number } = {}): Promise<ShardWriterThread> {
    const threads = Math.max(1, options.threads ?? 1);
    const layout = { spec: draft.targets, format: draft.shardFormat, packed: draft.packedColumns ?? {} };
    const thread = new ShardWriterThread(takePool(threads + 1), layout, draft.dataset.storedColumns ?? {}, threads);
    try {
      const reply = await thread.pool.call('open', { dir, draft, ...(options.worker ? { worker: options.worker } : {}) }, { thread: WRITER_THREAD, onNotify: (w) => onWarning(w as string) });
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

  /** Dataset columns the shards store as narrower codes. */
  get storedColumns(): StoredColumns { return this.stored; }

  /**
   * Joins the batches of shard `index` into one payload here (stored columns as the `codes` given,
   * if any), then codes, makes its target columns, encodes and writes it on the threads.
   */
  async writeShard(index: number, parts: readonly BatchOutput[], codes: StoredCodes = {}): Promise<ShardEntry> {
    const payload = shardPayload(parts, this.stored, codes);
    // encoders beyond `threads` in a reused pool stay idle: the run asked for this many
    const encoder = this.pool.leastBusy(this.threads + 1, 1);
    const shard = await this.call('encode', { payload, layout: this.layout }, transferList(payload), encoder);
    const entry = await this.call('write', { index, shard }, [shard.bytes.buffer as ArrayBuffer], WRITER_THREAD);
    this.recorded = [...this.recorded, entry].sort((a, b) => a.firstRow - b.firstRow);
    return entry;
  }

  /** Marks the cache complete and releases the lock. */
  async finish(): Promise<void> {
    await this.call('finish', undefined, [], WRITER_THREAD);
  }

  /** Releases the lock (if still held) and frees the threads; safe after finish or a failure. */
  async close(): Promise<void> {
    if (this.closed) return;
    let reusable = false;
    try {
      if (!this.pool.failed) await this.pool.call('close', undefined, { thread: WRITER_THREAD });
      reusable = !this.pool.failed && this.pool.inFlight === 0;
    } finally {
      this.closed = true;
      if (reusable && idle === undefined) idle = this.pool;
      else await this.pool.close();
    }
  }

  private call<K extends 'encode' | 'write' | 'finish'>(op: K, request: RequestOf<typeof handlers, K>, transfer: ArrayBuffer[], thread?: number): Promise<ResponseOf<typeof handlers, K>> {
    if (this.closed) return Promise.reject(new CacheError('the cache writer is closed; open the cache again to write more'));
    return this.pool.call(op, request, { transfer, ...(thread !== undefined ? { thread } : {}) });
  }
}
