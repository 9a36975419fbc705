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

/** A shard written and waiting for its turn in the manifest. */
interface Ready { entry: ShardEntry; fields: SchemaField[]; resolve: () => void; reject: (err: unknown) => void }

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
  /** Shards written and waiting to be recorded, by index. */
  private readonly ready = new Map<number, Ready>();
  private committing = false;

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
      // the manifest that records the shard is written into the same directory and syncs it
      await writeFileAtomic(path.join(this.dir, file), shard.bytes, RESUMABLE, { syncDir: false });
      const entry: ShardEntry = { file, firstRow: this.shardRange(index).firstRow, rows: shard.rows, bytes: shard.bytes.length, sha256: shard.sha256 };
      await this.record(index, entry, shard.fields);
      return entry;
    } catch (err) {
      this.fail(err);
      throw err;
    } finally {
      this.pending.delete(index);
    }
  }

  /** Marks the cache complete (all rows written; recording the last shard already did) and releases the lock. */
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
      this.rejectReady(new CacheError(`cache writer for '${this.dir}' was closed before this shard was recorded; re-run to resume`));
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

  /**
   * Resolves once shard `index` is recorded in the manifest, which waits for every lower shard.
   * Shards that are ready together (encoded in parallel, or while a manifest write was under way)
   * are recorded by one manifest write, not one each.
   */
  private record(index: number, entry: ShardEntry, fields: SchemaField[]): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.stoppedError(index));
    if (this.closed) return Promise.reject(new CacheError(`cache writer for '${this.dir}' was closed before shard ${index} was recorded; re-run to resume`));
    const recorded = new Promise<void>((resolve, reject) => this.ready.set(index, { entry, fields, resolve, reject }));
    void this.commitReady();
    return recorded;
  }

  /** Writes the manifest with the ready shards that continue it, until none does; one call at a time. */
  private async commitReady(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      for (let group = this.takeReady(); group.length > 0; group = this.takeReady()) {
        let schema = this.current.schema;
        const shards = [...this.current.shards];
        let refused: [Ready, unknown] | undefined;
        for (const [index, ready] of group) {
          try {
            schema = this.checkedSchema(schema, index, ready.fields);
          } catch (err) {
            refused = [ready, err];
            break;
          }
          shards.push(ready.entry);
        }
        const recorded = group.slice(0, shards.length - this.current.shards.length).map(([, r]) => r);
        if (recorded.length > 0) {
          // the write that records the last shard also marks the cache complete, so finish() has no manifest left to write
          const complete = shards.reduce((n, e) => n + e.rows, 0) === this.targetRows;
          const next = { ...this.current, schema, shards, ...(complete ? { complete } : {}) };
          try {
            await writeManifest(this.dir, next, this.layout.manifestFile, RESUMABLE);
          } catch (err) {
            this.fail(err);
            group.forEach(([index, r], i) => r.reject(i === 0 ? err : this.stoppedError(index)));
            return;
          }
          this.current = next;
          for (const r of recorded) r.resolve();
        }
        if (refused) {
          // the shards after the refused one can no longer be recorded as a prefix
          const [ready, err] = refused;
          this.fail(err);
          for (const [index, r] of group.slice(recorded.length)) r.reject(r === ready ? err : this.stoppedError(index));
          return;
        }
      }
    } finally {
      this.committing = false;
    }
  }

  /** The ready shards from nextShardIndex() on without a gap, taken out of `ready`. */
  private takeReady(): [number, Ready][] {
    const group: [number, Ready][] = [];
    for (let i = this.nextShardIndex(); this.ready.has(i); i++) {
      group.push([i, this.ready.get(i)!]);
      this.ready.delete(i);
    }
    return group;
  }

  /** The manifest's schema once shard `index` with `fields` is recorded, or the CacheError why it cannot be. */
  private checkedSchema(schema: SchemaField[], index: number, fields: SchemaField[]): SchemaField[] {
    if (schema.length === 0) {
      checkColumns(this.current, fields, `shard ${index} of cache '${this.dir}'`);
      return fields;
    }
    if (!sameSchema(schema, fields)) throw new CacheError(`shard ${index} of cache '${this.dir}': ${schemaDiff(schema, fields)}; every shard must have the manifest's schema`);
    return schema;
  }

  /** ` (worker 3/4)` for messages of a worker's writer. */
  private owner(): string {
    return this.layout.worker ? ` (worker ${formatWorker(this.layout.worker)})` : '';
  }

  private fail(err: unknown): void {
    // an index-level mistake (checkWritable) never reaches here; any later error breaks the prefix
    this.failure ??= err;
    this.rejectReady(undefined);
  }

  private rejectReady(err: unknown): void {
    for (const [index, ready] of this.ready) ready.reject(err ?? this.stoppedError(index));
    this.ready.clear();
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
