import path from 'node:path';
import type * as arrow from 'apache-arrow';
import { CacheError, FileError } from '../core/errors/index.js';
import { TARGET_COLUMNS } from './targets/spec.js';
import { makeDir, sha256Bytes, writeFileAtomic } from '../core/util/fs.js';
import type { Manifest, ShardEntry } from './manifest.js';
import { writeManifest } from './manifest-io.js';
import { acquireLock, type CacheLock } from './lock.js';
import { shardFileName } from './paths.js';
import { formatWorker, writerLayout, type WorkerId, type WriterLayout } from './workers.js';
import { checkDraft, resumeOrStart, sweep, type ManifestDraft, type ResumeCheck } from './resume.js';
import { describeSchema, encodeShard, type SchemaField, type ShardFormat } from './shard-io.js';
import { sameSchema, schemaDiff } from './schema-check.js';
import type { PackedColumns } from './packed.js';

export type { ManifestDraft, ResumeCheck } from './resume.js';

/** Options of CacheWriter.open. */
export interface CacheWriterOptions {
  /** Receives one-line warnings: stale lock taken over, shards dropped or rewritten on resume. */
  onWarning?: (message: string) => void;
  /** How recorded shards are checked before resuming: full sha256 (default) or file size only. */
  resumeCheck?: ResumeCheck;
  /** Write only this worker's shard range, recorded in its own manifest under its own lock (see writerLayout). */
  worker?: WorkerId;
}

/** How a cache write failing on a full or read-only disk is continued: the manifest keeps the shards already written. */
const RESUMABLE = { rerun: 'rerun precompute (it resumes)' };

interface Waiter { resolve: () => void; reject: (err: unknown) => void }

/**
 * Writes the shards of one cache directory, resumably. Shard i holds rows
 * [i*shardRows, min((i+1)*shardRows, dataset.rows)). Shard files may be written concurrently
 * and in any order, but each is recorded in manifest.json in index order, so the manifest's
 * shard list is always a verified prefix that a later run resumes from. With options.worker
 * the writer owns only that worker's contiguous shard range and records it in the worker's
 * manifest (a prefix of the range), so workers on other machines never touch each other's files.
 */
export class CacheWriter {
  private failure: unknown;
  private closed = false;
  private readonly pending = new Set<number>();
  private readonly waiters = new Map<number, Waiter>();

  private constructor(readonly dir: string, private current: Manifest, private readonly lock: CacheLock, readonly layout: WriterLayout) {}

  /**
   * Opens `dir` for writing: takes the lock, then either starts from the draft or resumes an
   * existing manifest with the same key (keeping the longest prefix of shards whose size and
   * sha256 still match, and deleting shard files the manifest does not list).
   */
  static async open(dir: string, draft: ManifestDraft, options: CacheWriterOptions = {}): Promise<CacheWriter> {
    const warn = options.onWarning ?? (() => undefined);
    const fresh = checkDraft(draft);
    const layout = writerLayout(fresh.dataset.rows, fresh.shardRows, options.worker);
    await makeDir(dir, { action: 'creating cache directory', setting: 'cache.root or cache.dir' });
    const lock = await acquireLock(dir, warn, { file: layout.lockFile });
    try {
      const manifest = await resumeOrStart(dir, fresh, warn, options.resumeCheck ?? 'sha256', layout);
      await sweep(dir, manifest, warn, layout);
      return new CacheWriter(dir, manifest, lock, layout);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** The manifest as last written (read-only view). */
  get manifest(): Readonly<Manifest> { return this.current; }

  /** Whether the cache (a worker: its range) is marked complete (then nothing more can be written). */
  get complete(): boolean { return this.current.complete; }

  /** Rows held by the recorded shards. */
  get completedRows(): number { return this.current.shards.reduce((n, s) => n + s.rows, 0); }

  /** Number of shards the finished cache holds. */
  get shardCount(): number { return Math.ceil(this.current.dataset.rows / this.current.shardRows); }

  /** The recorded shards, in index order. */
  shards(): readonly ShardEntry[] { return this.current.shards; }

  /** Index of the first shard not yet recorded: where a resumed run continues (a worker: within its range). */
  nextShardIndex(): number { return this.layout.firstShard + this.current.shards.length; }

  /** Rows this writer must record before finish(): the whole dataset, or the worker's range. */
  get targetRows(): number {
    const { firstShard, endShard } = this.layout;
    return Math.max(0, Math.min(endShard * this.current.shardRows, this.current.dataset.rows) - firstShard * this.current.shardRows);
  }

  /** Dataset rows that shard `index` must hold. */
  shardRange(index: number): { firstRow: number; rows: number } {
    const firstRow = index * this.current.shardRows;
    return { firstRow, rows: Math.max(0, Math.min(this.current.shardRows, this.current.dataset.rows - firstRow)) };
  }

  /**
   * Encodes `table` as shard `index` and writes it atomically; resolves once the shard is
   * recorded in the manifest, which waits for all lower shards. A failure while writing stops
   * the writer (later shards are rejected) because the manifest could no longer grow as a prefix.
   */
  async writeShard(index: number, table: arrow.Table): Promise<ShardEntry> {
    this.checkWritable(index, rowsOf(table));
    let shard: EncodedShard;
    try {
      shard = encodeShardFile(table, this.current.shardFormat, this.current.packedColumns);
    } catch (err) {
      this.fail(err);
      throw err;
    }
    return this.writeEncoded(index, shard);
  }

  /**
   * writeShard for a shard already encoded (by encodeShardFile, perhaps on another thread): the
   * same checks, write and ordered recording.
   */
  async writeEncoded(index: number, shard: EncodedShard): Promise<ShardEntry> {
    this.checkWritable(index, shard);
    this.pending.add(index);
    try {
      const file = shardFileName(index, this.current.shardFormat);
      await writeFileAtomic(path.join(this.dir, file), shard.bytes, RESUMABLE);
      const entry: ShardEntry = { file, firstRow: this.shardRange(index).firstRow, rows: shard.rows, bytes: shard.bytes.length, sha256: shard.sha256 };
      await this.turn(index);
      await this.commit(index, entry, shard.fields);
      return entry;
    } catch (err) {
      this.fail(err);
      throw err;
    } finally {
      this.pending.delete(index);
    }
  }

  /** Marks the cache complete (all rows written) and releases the lock. */
  async finish(): Promise<Manifest> {
    if (this.failure !== undefined) throw new CacheError(`cache writer for '${this.dir}' stopped after an earlier error; re-run to resume`);
    if (this.pending.size > 0) throw new CacheError(`finish() called while shards ${[...this.pending].sort((a, b) => a - b).join(',')} of '${this.dir}' are still being written; await writeShard first`);
    if (!this.closed && !this.current.complete) {
      const rows = this.completedRows;
      if (rows !== this.targetRows) {
        throw new CacheError(`cache '${this.dir}'${this.owner()} holds ${rows} of ${this.targetRows} rows; write shards ${this.nextShardIndex()}..${this.layout.endShard - 1} before finish()`);
      }
      const done = { ...this.current, complete: true };
      await writeManifest(this.dir, done, this.layout.manifestFile, RESUMABLE);
      this.current = done;
    }
    await this.close();
    return this.current;
  }

  /** Releases the lock without marking the cache complete (abort); pending shards are rejected. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.rejectWaiters(new CacheError(`cache writer for '${this.dir}' was closed before this shard was recorded; re-run to resume`));
    }
    await this.lock.release();
  }

  private checkWritable(index: number, table: ShardRows): void {
    const where = `shard ${index} of cache '${this.dir}'`;
    if (this.closed) throw new CacheError(`${where}: the writer is closed; open the cache again to write more`);
    if (this.current.complete) throw new CacheError(`${where}: the cache is already complete; use another cache dir to write a new one`);
    if (this.failure !== undefined) throw new CacheError(`${where}: the writer stopped after an earlier error; re-run to resume`);
    const { firstShard, endShard } = this.layout;
    if (!Number.isInteger(index) || index < firstShard || index >= endShard) {
      throw new CacheError(`${where}: expected an index in ${firstShard}..${endShard - 1}${this.owner()} (${this.current.dataset.rows} rows in shards of ${this.current.shardRows}), got ${index}`);
    }
    if (index < this.nextShardIndex()) throw new CacheError(`${where} is already written; resume at nextShardIndex() = ${this.nextShardIndex()}`);
    if (this.pending.has(index)) throw new CacheError(`${where} is already being written`);
    const { firstRow, rows } = this.shardRange(index);
    if (table.rows !== rows) throw new CacheError(`${where}: expected ${rows} rows (rows ${firstRow}..${firstRow + rows - 1}), got ${table.rows}`);
    const row = table.rowRange;
    if (row && (row[0] !== firstRow || row[1] !== firstRow + rows - 1)) {
      throw new CacheError(`${where}: expected column 'row' to run ${firstRow}..${firstRow + rows - 1}, got ${String(row[0])}..${String(row[1])}`);
    }
  }

  /** Resolves when every shard below `index` is recorded. */
  private turn(index: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.stoppedError(index));
    if (this.closed) return Promise.reject(new CacheError(`cache writer for '${this.dir}' was closed before shard ${index} was recorded; re-run to resume`));
    if (index === this.nextShardIndex()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.set(index, { resolve, reject }));
  }

  private async commit(index: number, entry: ShardEntry, fields: SchemaField[]): Promise<void> {
    let schema = this.current.schema;
    if (schema.length === 0) {
      checkColumns(this.current, fields, `shard ${index} of cache '${this.dir}'`);
      schema = fields;
    } else if (!sameSchema(schema, fields)) {
      throw new CacheError(`shard ${index} of cache '${this.dir}': ${schemaDiff(schema, fields)}; every shard must have the manifest's schema`);
    }
    const next = { ...this.current, schema, shards: [...this.current.shards, entry] };
    await writeManifest(this.dir, next, this.layout.manifestFile, RESUMABLE);
    this.current = next;
    const waiter = this.waiters.get(index + 1);
    if (waiter) {
      this.waiters.delete(index + 1);
      waiter.resolve();
    }
  }

  /** ` (worker 3/4)` for messages of a worker's writer. */
  private owner(): string {
    return this.layout.worker ? ` (worker ${formatWorker(this.layout.worker)})` : '';
  }

  private fail(err: unknown): void {
    // an index-level mistake (checkWritable) never reaches here; any later error breaks the prefix
    this.failure ??= err;
    this.rejectWaiters(undefined);
  }

  private rejectWaiters(err: unknown): void {
    for (const [index, waiter] of this.waiters) waiter.reject(err ?? this.stoppedError(index));
    this.waiters.clear();
  }

  private stoppedError(index: number): Error {
    // a full or read-only disk is the one line the user needs, whichever shard meets it first
    if (this.failure instanceof FileError) return this.failure;
    const cause = this.failure instanceof Error ? this.failure.message : String(this.failure);
    return new CacheError(`shard ${index} of cache '${this.dir}' was not recorded: the writer stopped after an earlier error (${cause}); re-run to resume`);
  }
}

/** What the writer checks of a shard before writing it: its row count and the first and last value of its `row` column. */
export interface ShardRows {
  rows: number;
  rowRange?: [unknown, unknown];
}

/** A shard encoded as its file: what CacheWriter.writeEncoded writes and records. */
export interface EncodedShard extends ShardRows {
  bytes: Uint8Array;
  sha256: string;
  fields: SchemaField[];
}

function rowsOf(table: arrow.Table): ShardRows {
  const row = table.getChild('row');
  return { rows: table.numRows, ...(row ? { rowRange: [row.get(0), row.get(table.numRows - 1)] as [unknown, unknown] } : {}) };
}

/**
 * Encodes `table` as a shard file of `format` (the columns of `packed` packed), with what the
 * writer records of it (the schema of the lists, as readers get them back); pure, so any thread may run it.
 */
export function encodeShardFile(table: arrow.Table, format: ShardFormat, packed: PackedColumns = {}): EncodedShard {
  const bytes = encodeShard(table, format, packed);
  return { ...rowsOf(table), bytes, sha256: sha256Bytes(bytes), fields: describeSchema(table.schema) };
}

/** The first shard must carry the columns the manifest promises. */
function checkColumns(m: Manifest, fields: SchemaField[], where: string): void {
  const names = new Set(fields.map((f) => f.name));
  const wanted = [...m.dataset.inputColumns, ...(m.dataset.labelColumn ? [m.dataset.labelColumn] : []), ...TARGET_COLUMNS[m.targets.kind]];
  const missing = wanted.filter((n) => !names.has(n));
  if (missing.length > 0) {
    throw new CacheError(`${where}: expected columns ${missing.map((n) => `'${n}'`).join(', ')} (inputs, label and ${m.targets.kind} targets), got ${[...names].join(', ')}`);
  }
}
