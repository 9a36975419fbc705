import { readFile } from 'node:fs/promises';
import type * as arrow from 'apache-arrow';
import { CacheError } from '../core/errors/index.js';
import { isCode, sha256Bytes } from '../core/util/fs.js';
import type { Manifest, ShardEntry } from './manifest.js';
import { readManifest } from './manifest-io.js';
import { resolveShardPath } from './paths.js';
import { decodeShard, describeSchema } from './shard-io.js';
import { sameSchema, schemaDiff } from './schema-check.js';
import { unpackColumns } from './packed.js';

/** Options for reading shards. */
export interface ReadShardsOptions {
  /** Also check each shard's sha256 before decoding (size, rows and schema are always checked). */
  verify?: boolean;
  /** The cache's manifest if already read (otherwise it is read and validated from dir). */
  manifest?: Manifest;
  /** Shard indexes to read, in this order (e.g. shuffled per epoch); default all in manifest order. */
  order?: readonly number[];
}

/** One decoded shard. */
export interface ShardRead {
  /** Position of the shard in the manifest. */
  index: number;
  /** The manifest's entry for the shard. */
  entry: ShardEntry;
  /** The shard's rows (one record batch). */
  table: arrow.Table;
}

/** A shard that could be read and checked, or what is wrong with it. */
export type ShardInspection = { table: arrow.Table; problem?: undefined } | { table?: undefined; problem: string };

type Loaded = { bytes: Uint8Array; problem?: undefined } | { bytes?: undefined; problem: string };

/** The file bytes of shard `index`, or why they cannot be read. */
async function loadShard(dir: string, manifest: Manifest, index: number): Promise<Loaded> {
  const entry = manifest.shards[index]!;
  const full = await resolveShardPath(dir, entry.file, `shards[${index}]`);
  try {
    return { bytes: await readFile(full) };
  } catch (err) {
    if (isCode(err, 'ENOENT')) return { problem: 'is missing' };
    return { problem: `cannot be read (${(err as Error).message})` };
  }
}

/** Checks loaded shard bytes against the manifest entry and decodes them. */
function checkShard(manifest: Manifest, index: number, loaded: Loaded, hash: boolean): ShardInspection {
  if (loaded.problem !== undefined) return loaded;
  const { bytes } = loaded;
  const entry = manifest.shards[index]!;
  if (bytes.length !== entry.bytes) return { problem: `has ${bytes.length} bytes, expected ${entry.bytes}` };
  if (hash) {
    const sha = sha256Bytes(bytes);
    if (sha !== entry.sha256) return { problem: `has sha256 ${sha.slice(0, 12)}…, expected ${entry.sha256.slice(0, 12)}…` };
  }
  let decoded: arrow.Table;
  try {
    decoded = decodeShard(bytes, manifest.shardFormat);
  } catch (err) {
    return { problem: `is not a readable ${manifest.shardFormat} file (${oneLine(err)})` };
  }
  const unpacked = unpackColumns(decoded, manifest.packedColumns ?? {});
  if (unpacked.problem !== undefined) return unpacked;
  const { table } = unpacked;
  if (table.numRows !== entry.rows) return { problem: `holds ${table.numRows} rows, expected ${entry.rows}` };
  const fields = describeSchema(table.schema);
  if (!sameSchema(manifest.schema, fields)) return { problem: `does not have the manifest's schema: ${schemaDiff(manifest.schema, fields)}` };
  const row = table.getChild('row');
  if (row && entry.rows > 0 && (row.get(0) !== entry.firstRow || row.get(entry.rows - 1) !== entry.firstRow + entry.rows - 1)) {
    return { problem: `has column 'row' running ${String(row.get(0))}..${String(row.get(entry.rows - 1))}, expected ${entry.firstRow}..${entry.firstRow + entry.rows - 1}` };
  }
  return { table };
}

/**
 * Reads shard `index` of a manifest and checks it against its entry: existence, size,
 * sha256 (when `hash`), decodability, row count, schema and the `row` column's range.
 */
export async function inspectShard(dir: string, manifest: Manifest, index: number, hash: boolean): Promise<ShardInspection> {
  return checkShard(manifest, index, await loadShard(dir, manifest, index), hash);
}

function checkIndex(dir: string, manifest: Manifest, index: number): ShardEntry {
  const entry = Number.isInteger(index) ? manifest.shards[index] : undefined;
  if (!entry) throw new CacheError(`cache '${dir}' has ${manifest.shards.length} shards, expected a shard index in 0..${manifest.shards.length - 1}, got ${index}`);
  return entry;
}

function toRead(dir: string, index: number, entry: ShardEntry, result: ShardInspection): ShardRead {
  if (result.problem !== undefined) throw new CacheError(`cache '${dir}' shard '${entry.file}' ${result.problem}; re-run \`kennis precompute\` to rewrite it`);
  return { index, entry, table: result.table };
}

/** Reads and checks one shard; a bad shard is a CacheError naming it. */
export async function readShard(dir: string, manifest: Manifest, index: number, options: Pick<ReadShardsOptions, 'verify'> = {}): Promise<ShardRead> {
  const entry = checkIndex(dir, manifest, index);
  return toRead(dir, index, entry, await inspectShard(dir, manifest, index, options.verify ?? false));
}

/**
 * The shards of a cache, one decoded table at a time, in manifest order or `options.order`.
 * The next shard's file is read while the current one is consumed; a bad shard is a CacheError.
 */
export async function* readShards(dir: string, options: ReadShardsOptions = {}): AsyncGenerator<ShardRead> {
  const manifest = options.manifest ?? (await readManifest(dir));
  const order = options.order ?? manifest.shards.map((_, i) => i);
  const entries = order.map((i) => checkIndex(dir, manifest, i));
  const load = (n: number): Promise<Loaded> | undefined => {
    if (n >= order.length) return undefined;
    const p = loadShard(dir, manifest, order[n]!);
    p.catch(() => undefined); // observed when awaited; a consumer that stops early must not see an unhandled rejection
    return p;
  };
  let next = load(0);
  for (let n = 0; n < order.length; n++) {
    const loaded = await next!;
    next = load(n + 1);
    yield toRead(dir, order[n]!, entries[n]!, checkShard(manifest, order[n]!, loaded, options.verify ?? false));
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
