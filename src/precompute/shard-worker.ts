// Worker thread of ShardWriterThread: owns the CacheWriter, so making the target columns,
// Parquet encoding, hashing and writes run beside the teacher instead of between its batches.
import { parentPort } from 'node:worker_threads';
import { CacheWriter } from '../cache/index.js';
import type { ManifestDraft, ShardEntry, WorkerId } from '../cache/index.js';
import type { TargetSpec } from '../cache/targets/index.js';
import { shardTable, type ShardPayload } from './transfer.js';
import { FileError, type FileContext } from '../core/errors/index.js';

/** A request from the main thread. */
export type WorkerRequest =
  | { id: number; op: 'open'; dir: string; draft: ManifestDraft; worker?: WorkerId }
  | { id: number; op: 'write'; index: number; payload: ShardPayload }
  | { id: number; op: 'finish' }
  | { id: number; op: 'close' };

/** The worker's answer to request `id`, or a warning the writer raised. */
export type WorkerReply =
  | { id: number; ok: true; shards?: ShardEntry[]; first?: number; entry?: ShardEntry }
  | { id: number; ok: false; error: SerializedError }
  | { warning: string };

/** An error as it crosses from the writer thread; a FileError carries what fileError needs to rebuild it. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  file?: { path: string; syscall?: string; context: FileContext };
}

const port = parentPort!;
let writer: CacheWriter | undefined;
let spec: TargetSpec | undefined;

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  switch (req.op) {
    case 'open':
      spec = req.draft.targets;
      writer = await CacheWriter.open(req.dir, req.draft, { onWarning: (warning) => port.postMessage({ warning } satisfies WorkerReply), ...(req.worker ? { worker: req.worker } : {}) });
      return { id: req.id, ok: true, shards: [...writer.shards()], first: writer.layout.firstShard };
    case 'write':
      return { id: req.id, ok: true, entry: await writer!.writeShard(req.index, shardTable(req.payload, spec!)) };
    case 'finish':
      await writer!.finish();
      return { id: req.id, ok: true };
    case 'close':
      await writer?.close();
      return { id: req.id, ok: true };
  }
}

port.on('message', (req: WorkerRequest) => {
  handle(req).then((reply) => port.postMessage(reply), (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    const code = (e as NodeJS.ErrnoException).code;
    const file = e instanceof FileError ? { path: e.path, context: e.context, ...((e.cause as NodeJS.ErrnoException).syscall ? { syscall: (e.cause as NodeJS.ErrnoException).syscall } : {}) } : undefined;
    port.postMessage({ id: req.id, ok: false, error: { name: e.name, message: e.message, ...(code ? { code } : {}), ...(file ? { file } : {}) } } satisfies WorkerReply);
  });
});
