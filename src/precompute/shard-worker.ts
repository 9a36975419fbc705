// Worker thread of ShardWriterThread: owns the CacheWriter, so making the target columns,
// Parquet encoding, hashing and writes run beside the teacher instead of between its batches.
import { CacheWriter } from '../cache/index.js';
import type { ManifestDraft, ShardEntry, WorkerId } from '../cache/index.js';
import type { TargetSpec } from '../cache/targets/index.js';
import { serve, type RequestContext } from '../core/workers/index.js';
import { shardTable, type ShardPayload } from './transfer.js';

let writer: CacheWriter | undefined;
let spec: TargetSpec | undefined;

export const handlers = serve({
  /** Opens (or resumes) the cache; warnings go back as notifications. */
  async open(req: { dir: string; draft: ManifestDraft; worker?: WorkerId }, context: RequestContext): Promise<{ shards: ShardEntry[]; first: number }> {
    spec = req.draft.targets;
    writer = await CacheWriter.open(req.dir, req.draft, { onWarning: (warning) => context.notify(warning), ...(req.worker ? { worker: req.worker } : {}) });
    return { shards: [...writer.shards()], first: writer.layout.firstShard };
  },
  write(req: { index: number; payload: ShardPayload }): Promise<ShardEntry> {
    return writer!.writeShard(req.index, shardTable(req.payload, spec!));
  },
  async finish(): Promise<void> {
    await writer!.finish();
  },
  async close(): Promise<void> {
    await writer?.close();
  },
});
