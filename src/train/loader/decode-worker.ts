/**
 * Worker thread of DecodePool: reads, checks and decodes one shard per request and sends back
 * copies of the requested columns' flat values as the dataset gave them (narrow stored columns
 * decoded), transferred, so the copy is the only one made.
 */
import { columnValues, inspectShard, type Manifest, type ShardInspection } from '../../cache/index.js';
import { CacheError } from '../../core/errors/index.js';
import { valuesPerRow, type NumericArray } from '../../core/util/arrow.js';
import { serve, withTransfer, type Transfer } from '../../core/workers/index.js';

/** The requested columns of a decoded shard, in the order they were requested. */
export interface DecodedColumns {
  values: NumericArray[];
  per: number[];
}

/** One shard to decode. */
export interface DecodeRequest {
  dir: string;
  manifest: Manifest;
  index: number;
  verify: boolean;
  columns: readonly string[];
}

export const handlers = serve({
  /** Decodes the shard; a bad shard is a CacheError naming it. */
  async decode(req: DecodeRequest): Promise<Transfer<DecodedColumns>> {
    const result: ShardInspection = await inspectShard(req.dir, req.manifest, req.index, req.verify)
      .catch((err: unknown) => ({ problem: `cannot be decoded (${String((err as Error)?.message ?? err).split('\n')[0]})` }));
    if (result.problem !== undefined) throw new CacheError(`cache '${req.dir}' shard '${req.manifest.shards[req.index]!.file}' ${result.problem}; re-run \`kennis precompute\` to rewrite it`);
    const values = [];
    const per = [];
    for (const name of req.columns) {
      const column = columnValues(result.table, name, req.manifest);
      // slice: a view may share its buffer with other columns, and only whole buffers transfer
      values.push(column.copied ? column.values : column.values.slice());
      per.push(valuesPerRow(result.table.getChild(name)!.type));
    }
    return withTransfer({ values, per }, values.map((v) => v.buffer as ArrayBuffer));
  },
});
