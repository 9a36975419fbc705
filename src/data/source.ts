import { readParquet } from 'parquet-wasm';
import { tableFromIPC, type Table, type Vector } from 'apache-arrow';
import { extname } from 'node:path';
import { DatasetError } from '../core/errors/index.js';
import { castColumn, normalizeColumn, type ColumnDtype } from './columns.js';
import { readJsonl } from './jsonl.js';

/** On-disk formats of file datasets. */
export type FileFormat = 'parquet' | 'arrow' | 'jsonl';

const EXTENSIONS: Record<string, FileFormat> = {
  '.parquet': 'parquet', '.pq': 'parquet',
  '.arrow': 'arrow', '.arrows': 'arrow', '.ipc': 'arrow', '.feather': 'arrow',
  '.jsonl': 'jsonl', '.ndjson': 'jsonl',
};

/** The format implied by a file's extension. */
export function formatFromPath(path: string): FileFormat {
  const format = EXTENSIONS[extname(path).toLowerCase()];
  if (format === undefined) {
    throw new DatasetError(`dataset file '${path}' has no known extension (${Object.keys(EXTENSIONS).join(', ')}); set dataset.format to parquet, arrow or jsonl`);
  }
  return format;
}

/** A file's columns, read whole into memory. */
export interface SourceTable {
  /** Column names in file order. */
  readonly columnNames: readonly string[];
  /** Rows in the file. */
  readonly numRows: number;
  /**
   * One column as a single chunk, List columns of equal-length rows turned into
   * FixedSizeList. `dtype` casts numeric elements (JSONL: picks them; default float32).
   */
  column(name: string, dtype?: ColumnDtype): Vector;
}

/** Reads Parquet, Arrow IPC (file or stream) or JSONL bytes; `path` names the file in errors. */
export function readSource(bytes: Uint8Array, format: FileFormat, path: string): SourceTable {
  if (format === 'jsonl') return readJsonl(bytes, path);
  return arrowSource(format === 'parquet' ? readParquetTable(bytes, path) : readIpcTable(bytes, path), path);
}

function readParquetTable(bytes: Uint8Array, path: string): Table {
  let ipc: Uint8Array;
  try {
    // intoIPCStream consumes (frees) the wasm-side table
    ipc = readParquet(bytes).intoIPCStream();
  } catch (err) {
    throw new DatasetError(`dataset file '${path}' is not readable as Parquet (${String(err)}); check the file or set dataset.format`, { cause: err });
  }
  return tableFromIPC(ipc);
}

function readIpcTable(bytes: Uint8Array, path: string): Table {
  try {
    // tableFromIPC detects the file (ARROW1 magic) and stream encodings
    return tableFromIPC(bytes);
  } catch (err) {
    throw new DatasetError(`dataset file '${path}' is not readable as Arrow IPC (${String(err)}); check the file or set dataset.format`, { cause: err });
  }
}

function arrowSource(table: Table, path: string): SourceTable {
  return {
    columnNames: table.schema.fields.map((f) => f.name),
    numRows: table.numRows,
    column(name, dtype) {
      const child = table.getChild(name);
      if (child === null) throw new Error(`internal: column '${name}' missing from ${path}`);
      const vector = normalizeColumn(child);
      return dtype === undefined ? vector : castColumn(vector, dtype, `column '${name}' of ${path}`);
    },
  };
}
