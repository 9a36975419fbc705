import type { Manifest } from '../../cache/index.js';
import { CacheError } from '../../core/errors/index.js';
import { ThreadPool } from '../../core/workers/index.js';
import type { DecodedColumns, handlers } from './decode-worker.js';

export type { DecodedColumns } from './decode-worker.js';

/**
 * Worker threads that read, check and decode shards, so that Parquet decoding (~40 ms per 1000
 * MNIST rows) neither blocks the training thread nor limits the loader to one core. The threads
 * are shared by every loader in the process and never keep it alive while idle.
 */
export class DecodePool {
  private static shared: DecodePool | undefined;

  private constructor(private readonly pool: ThreadPool<typeof handlers>) {}

  /** The process-wide pool of `size` threads (created on first use, and again after a thread died). */
  static get(size: number): DecodePool {
    if (DecodePool.shared?.pool.failed) DecodePool.shared = undefined;
    DecodePool.shared ??= new DecodePool(ThreadPool.start(import.meta.url, 'decode-worker', {
      size,
      exitError: (code) => new CacheError(`a shard decoding thread exited (code ${code}); re-run the command`),
    }));
    return DecodePool.shared;
  }

  /** Decodes shard `index` of the cache in `dir` on a free thread; a bad shard rejects with a CacheError naming it. */
  decode(dir: string, manifest: Manifest, index: number, columns: readonly string[], verify: boolean): Promise<DecodedColumns> {
    return this.pool.call('decode', { dir, manifest, index, columns, verify });
  }
}
