import { Worker } from 'node:worker_threads';
import type { Manifest } from '../../cache/index.js';
import { CacheError } from '../../core/errors/index.js';
import type { NumericArray } from '../../core/util/arrow.js';
import { workerCode } from '../../core/util/worker.js';

/** One shard to decode on a worker. */
export interface DecodeRequest {
  id: number;
  dir: string;
  manifest: Manifest;
  index: number;
  verify: boolean;
  columns: readonly string[];
}

/** The requested columns of a decoded shard, or what is wrong with the shard. */
export interface DecodeReply {
  id: number;
  values?: NumericArray[];
  per?: number[];
  problem?: string;
}

/** The decoded columns of one shard, in the order they were requested. */
export interface DecodedColumns {
  values: NumericArray[];
  per: number[];
}

type Waiter = { resolve: (c: DecodedColumns) => void; reject: (e: Error) => void; file: string; dir: string };

/**
 * Worker threads that read, check and decode shards, so that Parquet decoding (~40 ms per 1000
 * MNIST rows) neither blocks the training thread nor limits the loader to one core. The threads
 * are shared by every loader in the process and unref'd, so they never keep it alive.
 */
export class DecodePool {
  private static shared: DecodePool | undefined;
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  private turn = 0;

  private constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(workerCode(import.meta.url, 'decode-worker'), { eval: true });
      w.unref();
      w.on('message', (reply: DecodeReply) => this.receive(reply));
      w.on('error', (err) => this.failAll(err instanceof Error ? err : new Error(String(err))));
      w.on('exit', (code) => this.failAll(new CacheError(`a shard decoding thread exited (code ${code}); re-run the command`)));
      this.workers.push(w);
    }
  }

  /** The process-wide pool of `size` threads (created on first use). */
  static get(size: number): DecodePool {
    DecodePool.shared ??= new DecodePool(size);
    return DecodePool.shared;
  }

  /** Decodes shard `index` of the cache in `dir` on the next thread; a bad shard rejects with a CacheError naming it. */
  decode(dir: string, manifest: Manifest, index: number, columns: readonly string[], verify: boolean): Promise<DecodedColumns> {
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length]!;
    return new Promise<DecodedColumns>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, file: manifest.shards[index]!.file, dir });
      // a thread with requests in flight keeps the process alive until it answers
      if (this.waiting.size === 1) for (const w of this.workers) w.ref();
      worker.postMessage({ id, dir, manifest, index, verify, columns } satisfies DecodeRequest);
    });
  }

  private receive(reply: DecodeReply): void {
    const w = this.waiting.get(reply.id);
    if (w === undefined) return;
    this.settle(reply.id);
    if (reply.problem !== undefined) w.reject(new CacheError(`cache '${w.dir}' shard '${w.file}' ${reply.problem}; re-run \`kennis precompute\` to rewrite it`));
    else w.resolve({ values: reply.values!, per: reply.per! });
  }

  private settle(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) for (const w of this.workers) w.unref();
  }

  private failAll(err: Error): void {
    for (const [id, w] of [...this.waiting]) {
      this.settle(id);
      w.reject(err);
    }
    DecodePool.shared = undefined;
  }
}
