/**
 * Worker thread of DecodePool: reads, checks and decodes one shard per request and sends back
 * copies of the requested columns' flat values (transferred, so the copy is the only one made).
 */
import { parentPort } from 'node:worker_threads';
import { inspectShard } from '../../cache/index.js';
import { flatValues, valuesPerRow } from '../../core/util/arrow.js';
import type { DecodeReply, DecodeRequest } from './decode-pool.js';

const port = parentPort!;
port.on('message', (req: DecodeRequest) => {
  void answer(req).then(
    (reply) => port.postMessage(reply, reply.values?.map((v) => v.buffer as ArrayBuffer) ?? []),
    (err: unknown) => port.postMessage({ id: req.id, problem: `cannot be decoded (${String((err as Error)?.message ?? err).split('\n')[0]})` } satisfies DecodeReply),
  );
});

async function answer(req: DecodeRequest): Promise<DecodeReply> {
  const result = await inspectShard(req.dir, req.manifest, req.index, req.verify);
  if (result.problem !== undefined) return { id: req.id, problem: result.problem };
  const values = [];
  const per = [];
  for (const name of req.columns) {
    const col = result.table.getChild(name)!;
    // slice: a view may share its buffer with other columns, and only whole buffers transfer
    values.push(flatValues(col).slice());
    per.push(valuesPerRow(col.type));
  }
  return { id: req.id, values, per };
}
