import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { CacheError } from '../core/errors/index.js';
import { flatValues, type NumericArray } from '../core/util/arrow.js';
import { packColumns, type PackedColumns } from './packed.js';

/** On-disk format of a shard. */
export type ShardFormat = 'parquet' | 'arrow';

/** One column of a shard schema as the manifest records it. */
export interface SchemaField {
  /** Column name. */
  name: string;
  /** Arrow type string, e.g. `FixedSizeList[784]<Float32>`. */
  type: string;
}

/** The manifest's description of an Arrow schema: field names and type strings, in order. */
export function describeSchema(schema: arrow.Schema): SchemaField[] {
  return schema.fields.map((f) => ({ name: f.name, type: String(f.type) }));
}

/** Parquet writer settings of a shard (parquet-wasm sets them for the whole file: it cannot address nested columns). */
export interface ParquetSettings {
  compression: 'zstd' | 'lz4_raw' | 'snappy' | 'none';
  /** Dictionary pages (hash every value). */
  dictionary: boolean;
  /** BYTE_STREAM_SPLIT encoding (float and int columns), else PLAIN. */
  byteStreamSplit: boolean;
  /** Min/max statistics per page, per column chunk, or none. */
  statistics: 'page' | 'chunk' | 'none';
}

/**
 * The settings shards are written with, picked by `npm run bench:writer` (bytes and encode time
 * side by side). ZSTD: LZ4_RAW and SNAPPY encode faster but make shards 1.7x (MNIST) and 1.4-1.7x
 * (top-k) larger. No dictionary pages: they cost more encode time than they save bytes (logits
 * rarely repeat). No byte-stream-split, though it saves 25-30% of the bytes and encodes faster:
 * parquet-wasm can only set it for the whole file, and DuckDB (and other readers) refuse it on
 * integer columns. No statistics: kennis never reads them.
 */
export const PARQUET_SETTINGS: ParquetSettings = { compression: 'zstd', dictionary: false, byteStreamSplit: false, statistics: 'none' };

const COMPRESSION = { zstd: pq.Compression.ZSTD, lz4_raw: pq.Compression.LZ4_RAW, snappy: pq.Compression.SNAPPY, none: pq.Compression.UNCOMPRESSED } as const;
const STATISTICS = { page: pq.EnabledStatistics.Page, chunk: pq.EnabledStatistics.Chunk, none: pq.EnabledStatistics.None } as const;

/**
 * Encodes a table as one shard file, the columns of `packed` as one binary value per row (see
 * packColumns). Deterministic: the same columns give the same bytes however the table is chunked
 * (it is first gathered into one record batch), which is what makes resumed caches byte-identical
 * to uninterrupted ones.
 */
export function encodeShard(table: arrow.Table, format: ShardFormat, packed: PackedColumns = {}, parquet: ParquetSettings = PARQUET_SETTINGS): Uint8Array {
  const single = packColumns(singleBatch(table), packed);
  if (format === 'arrow') return arrow.tableToIPC(single, 'file');
  const wasmTable = pq.Table.fromIPCStream(arrow.tableToIPC(single, 'stream'));
  // writeParquet consumes (frees) both the wasm table and the properties
  const props = new pq.WriterPropertiesBuilder()
    .setCompression(COMPRESSION[parquet.compression])
    .setDictionaryEnabled(parquet.dictionary)
    .setEncoding(parquet.byteStreamSplit ? pq.Encoding.BYTE_STREAM_SPLIT : pq.Encoding.PLAIN)
    .setStatisticsEnabled(STATISTICS[parquet.statistics])
    .setMaxRowGroupSize(Math.max(1, single.numRows))
    .build();
  return pq.writeParquet(wasmTable, props);
}

/**
 * Decodes a shard file into one-batch Arrow table, packed columns still packed (unpackColumns
 * turns them back into lists). Parquet keeps FixedSizeList, FixedSizeBinary and Float16 columns
 * because parquet-wasm restores the Arrow schema it stores in the file's metadata.
 */
export function decodeShard(bytes: Uint8Array, format: ShardFormat): arrow.Table {
  if (format === 'arrow') return arrow.tableFromIPC(bytes);
  // the reader caps the batch size at the file's row count, so this yields one batch
  const wasmTable = pq.readParquet(bytes, { batchSize: 0x7fffffff });
  return arrow.tableFromIPC(wasmTable.intoIPCStream());
}

/** The table as a single record batch (zero-copy when it already is one). */
export function singleBatch(table: arrow.Table): arrow.Table {
  if (table.batches.length <= 1) return table;
  const columns: Record<string, arrow.Vector> = {};
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    if (vector.nullCount > 0) {
      throw new CacheError(`column '${field.name}' has ${vector.nullCount} nulls; cache shards hold null-free columns only`);
    }
    columns[field.name] = arrow.makeVector(rebuild(field.type, flatValues(vector), table.numRows, field.name));
  }
  const batch = new arrow.RecordBatch(table.schema, arrow.makeData({
    type: new arrow.Struct(table.schema.fields),
    length: table.numRows,
    nullCount: 0,
    children: table.schema.fields.map((f) => columns[f.name]!.data[0]!),
  }));
  return new arrow.Table([batch]);
}

/** Data of `type` (primitive or nested fixed-size list) over flat values, reusing the type objects. */
function rebuild(type: arrow.DataType, values: NumericArray, rows: number, column: string): arrow.Data {
  if (type instanceof arrow.FixedSizeList) {
    const child = rebuild(type.children[0]!.type, values, rows * type.listSize, column);
    return arrow.makeData({ type, length: rows, nullCount: 0, child });
  }
  if (!arrow.DataType.isInt(type) && !arrow.DataType.isFloat(type)) {
    throw new CacheError(`column '${column}' has type ${String(type)}; cache shards hold numeric and fixed-size-list columns only`);
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return arrow.makeData({ type, length: rows, nullCount: 0, data: values } as any);
}
