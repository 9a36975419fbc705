// Worker thread of ShardWriterThread. The pool's first thread owns the CacheWriter, which writes
// the encoded files and records them in the manifest in index order; the others encode shards
// (target columns, narrow input codes, Parquet or Arrow IPC, sha256) beside the teacher.
import { CacheWriter, encodeShardFile } from '../cache/index.js';
import type { EncodedShard, ManifestDraft, PackedColumns, ShardEntry, ShardFormat, WorkerId } from '../cache/index.js';
import type { TargetSpec } from '../cache/targets/index.js';
import { lowerThreadPriority, serve, withTransfer, type RequestContext, type Transfer } from '../core/workers/index.js';
import { shardTable, type ShardPayload } from './transfer.js';

let writer: CacheWriter | undefined;

/**
 * Nice levels the writer's threads run below the teacher's threads. With a CPU teacher they share
 * the cores: an onnxruntime thread that wakes then gets its core back at once instead of waiting
 * out an encoder's time slice (the teacher's runs, timed as bench:phases times them, took 211-217
 * ms for MNIST beside nice-10 encoders, 225-237 ms at nice 0); with a GPU teacher nothing contends
 * and the encoders run at full speed. Not lower: under load from other processes a nice-19 thread
 * all but stops.
 */
const ENCODER_NICE = 10;
lowerThreadPriority(ENCODER_NICE);

/** What encoding a shard needs besides its payload. */
export interface ShardLayout {
  spec: TargetSpec;
  format: ShardFormat;
  packed: PackedColumns;
}

export const handlers = serve({
  /** Opens (or resumes) the cache; warnings go back as notifications. */
  async open(req: { dir: string; draft: ManifestDraft; worker?: WorkerId }, context: RequestContext): Promise<{ shards: ShardEntry[]; first: number }> {
    writer = await CacheWriter.open(req.dir, req.draft, { onWarning: (warning) => context.notify(warning), ...(req.worker ? { worker: req.worker } : {}) });
    return { shards: [...writer.shards()], first: writer.layout.firstShard };
  },
  /** Makes the shard's table and encodes it as its file. */
  encode(req: { payload: ShardPayload; layout: ShardLayout }): Transfer<EncodedShard> {
    const shard = encodeShardFile(shardTable(req.payload, req.layout.spec), req.layout.format, req.layout.packed);
    return withTransfer(shard, [shard.bytes.buffer as ArrayBuffer]);
  },
  /** Writes an encoded shard and records it (the CacheWriter's thread only). */
  write(req: { index: number; shard: EncodedShard }): Promise<ShardEntry> {
    return writer!.writeEncoded(req.index, req.shard);
  },
  async finish(): Promise<void> {
    await writer!.finish();
  },
  async close(): Promise<void> {
    await writer?.close();
    writer = undefined;
  },
});
