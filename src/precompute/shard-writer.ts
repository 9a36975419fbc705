import { Worker } from 'node:worker_threads';
import type { ManifestDraft, ShardEntry, WorkerId } from '../cache/index.js';
import { CacheError, DatasetError, KennisError, RecipeError, TeacherError, TrainError, fileError } from '../core/errors/index.js';
import { transferList, type ShardPayload } from './transfer.js';
import { workerCode } from '../core/util/worker.js';
import type { SerializedError, WorkerReply, WorkerRequest } from './shard-worker.js';

const ERRORS: Record<string, new (message: string) => Error> = { KennisError, RecipeError, DatasetError, TeacherError, CacheError, TrainError };

type Op = WorkerRequest extends infer R ? (R extends { op: infer O } ? O : never) : never;
type Pending = { resolve: (reply: Extract<WorkerReply, { ok: true }>) => void; reject: (err: Error) => void };


// One finished run's thread is kept (unref'd, so it never holds the process open) for the next
// run in this process: starting a thread means loading arrow, parquet-wasm and zod again.
let idle: Worker | undefined;
// request ids are unique per process, so a reused thread can never answer a former owner's request
let nextId = 0;

function takeWorker(): Worker {
  const w = idle ?? new Worker(workerCode(import.meta.url, 'shard-worker'), { eval: true });
  idle = undefined;
  w.ref();
  return w;
}

/** The error the writer thread raised, as the class it was (a FileError rebuilt by the same translation). */
function deserializeError(e: SerializedError): Error {
  if (e.file && e.code) return fileError(Object.assign(new Error(e.message), { code: e.code, path: e.file.path, syscall: e.file.syscall }), e.file.context) as Error;
  const Ctor = ERRORS[e.name];
  return Ctor ? new Ctor(e.message) : Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}

/**
 * A CacheWriter running on a worker thread: writeShard hands the shard's buffers over (no copy)
 * and resolves once the shard is recorded in the manifest, so encoding never blocks the thread
 * that feeds the teacher.
 */
export class ShardWriterThread {
  private readonly pending = new Map<number, Pending>();
  private recorded: ShardEntry[] = [];
  private first = 0;
  private dead: Error | undefined;

  private readonly listeners = {
    message: (reply: WorkerReply): void => this.receive(reply),
    error: (err: unknown): void => this.die(err instanceof Error ? err : new Error(String(err))),
    exit: (code: number): void => this.die(new CacheError(`the cache writer thread exited (code ${code}) before answering; re-run to resume`)),
  };

  private constructor(private readonly worker: Worker, private readonly onWarning: (message: string) => void) {
    worker.on('message', this.listeners.message);
    worker.on('error', this.listeners.error);
    worker.on('exit', this.listeners.exit);
  }

  /** Starts the thread and opens (or resumes) the cache in `dir`, or only `worker`'s shard range of it; see CacheWriter.open. */
  static async open(dir: string, draft: ManifestDraft, onWarning: (message: string) => void, worker?: WorkerId): Promise<ShardWriterThread> {
    const thread = new ShardWriterThread(takeWorker(), onWarning);
    try {
      const reply = await thread.request({ op: 'open', dir, draft, ...(worker ? { worker } : {}) });
      thread.recorded = reply.shards ?? [];
      thread.first = reply.first ?? 0;
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
    const reply = await this.request({ op: 'write', index, payload }, transferList(payload));
    this.recorded = [...this.recorded, reply.entry!].sort((a, b) => a.firstRow - b.firstRow);
    return reply.entry!;
  }

  /** Marks the cache complete and releases the lock. */
  async finish(): Promise<void> {
    await this.request({ op: 'finish' });
  }

  /** Releases the lock (if still held) and frees the thread; safe after finish or a failure. */
  async close(): Promise<void> {
    let reusable = false;
    try {
      if (!this.dead) await this.request({ op: 'close' });
      reusable = !this.dead && this.pending.size === 0;
    } finally {
      this.worker.off('message', this.listeners.message).off('error', this.listeners.error).off('exit', this.listeners.exit);
      this.dead ??= new CacheError('the cache writer is closed; open the cache again to write more');
      if (reusable && idle === undefined) {
        this.worker.unref();
        idle = this.worker;
      } else {
        await this.worker.terminate();
      }
    }
  }

  private request(msg: { op: Op } & Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Extract<WorkerReply, { ok: true }>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private receive(reply: WorkerReply): void {
    if ('warning' in reply) return this.onWarning(reply.warning);
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (reply.ok) return waiter.resolve(reply);
    waiter.reject(deserializeError(reply.error));
  }

  private die(err: Error): void {
    this.dead ??= err;
    for (const waiter of this.pending.values()) waiter.reject(this.dead);
    this.pending.clear();
  }
}
