import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LargeUtf8, Utf8 } from 'apache-arrow';
import { DatasetError } from '../core/errors/index.js';
import type { Split } from './dataset.js';
import { sha256Hex } from './fingerprint.js';
import { formatFromPath, readSource, type FileFormat } from './source.js';
import { TEXT_SEPARATOR, textSourceFiles, textSplitRange, type TextSourceName } from './text-sources.js';

/** Where the documents of a text dataset come from. */
export type TextSource =
  | { kind: 'builtin'; name: TextSourceName }
  /** A .txt file (one document), a directory of .txt files (one document each, by name), or a JSONL/Parquet/Arrow file with a text column (one document per row). */
  | { kind: 'file'; path: string; format?: FileFormat; textColumn?: string; splitColumn?: string };

/** The documents of one split, with a hash of the whole source. */
export interface SplitDocuments {
  /** Documents in order; a document cut by a split boundary counts as two. */
  texts: string[];
  /** sha256 hex of the source content (files, or the corpus). */
  contentHash: string;
  /** What selects the split's part of the source, for the fingerprint. */
  selection: string;
}

/** Extensions read as plain text, one document per file. */
const TEXT_EXTENSIONS = new Set(['.txt', '.text', '.md']);

/**
 * The documents of a split. A split column (JSONL/Parquet/Arrow) picks whole rows; otherwise the
 * split is a byte range of the documents joined with TEXT_SEPARATOR (see TEXT_SPLIT_FRACTIONS),
 * the same ranges the byte-level built-ins use, so held-out text is the same whatever the
 * tokenizer. Documents crossing a boundary are cut at the first character that starts at or
 * after it.
 */
export async function splitDocuments(source: TextSource, split: Split): Promise<SplitDocuments> {
  const { texts, contentHash, splitValues, what } = await readDocuments(source);
  if (texts.length === 0) throw new DatasetError(`${what} holds no documents; give it at least one non-empty text`);
  if (splitValues !== undefined && split !== 'all') {
    const kept = texts.filter((_, i) => splitValues[i] === split);
    if (kept.length === 0) {
      throw new DatasetError(`split '${split}' has no rows in ${what}: its split column holds ${[...new Set(splitValues)].slice(0, 10).join(', ')}; set dataset.split to one of them`);
    }
    return { texts: kept, contentHash, selection: `column:${source.kind === 'file' ? source.splitColumn : ''}=${split}` };
  }
  const cut = byteRangeDocuments(texts, split);
  return { texts: cut.texts, contentHash, selection: `bytes:${cut.from}-${cut.to}` };
}

function byteRangeDocuments(texts: readonly string[], split: Split): { texts: string[]; from: number; to: number } {
  const sep = Buffer.byteLength(TEXT_SEPARATOR);
  const bytes = texts.map((t) => Buffer.from(t, 'utf8'));
  const total = bytes.reduce((n, b) => n + b.length, 0) + sep * (bytes.length - 1);
  const [from, to] = textSplitRange(total, split);
  const out: string[] = [];
  let at = 0;
  for (const b of bytes) {
    const lo = Math.max(from - at, 0);
    const hi = Math.min(to - at, b.length);
    if (lo < hi) {
      const piece = b.subarray(charStart(b, lo), charStart(b, hi)).toString('utf8');
      if (piece.length > 0) out.push(piece);
    }
    at += b.length + sep;
  }
  return { texts: out, from, to };
}

/** The first UTF-8 character boundary at or after byte `i`. */
function charStart(b: Uint8Array, i: number): number {
  let j = i;
  while (j < b.length && (b[j]! & 0xc0) === 0x80) j++;
  return j;
}

async function readDocuments(source: TextSource): Promise<{ texts: string[]; contentHash: string; splitValues?: string[]; what: string }> {
  if (source.kind === 'builtin') {
    const files = await textSourceFiles(source.name);
    const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
    return { texts, contentHash: documentsHash(texts.map((t) => Buffer.from(t, 'utf8'))), what: `corpus '${source.name}'` };
  }
  const { path } = source;
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new DatasetError(`text dataset '${path}' cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); check dataset.path`);
  }
  if (info.isDirectory()) {
    const names = (await readdir(path)).filter((n) => TEXT_EXTENSIONS.has(extname(n).toLowerCase())).sort();
    if (names.length === 0) throw new DatasetError(`text directory '${path}' has no .txt files; put one document per .txt file there`);
    const raw = await Promise.all(names.map((n) => readFile(join(path, n))));
    return { texts: nonEmpty(raw.map((b, i) => utf8(b, join(path, names[i]!)))), contentHash: documentsHash(raw), what: `text directory '${path}'` };
  }
  const bytes = await readFile(path);
  if (source.format === undefined && TEXT_EXTENSIONS.has(extname(path).toLowerCase())) {
    return { texts: nonEmpty([utf8(bytes, path)]), contentHash: sha256Hex([bytes]), what: `text file '${path}'` };
  }
  const format = source.format ?? formatFromPath(path);
  const table = readSource(bytes, format, path);
  const column = source.textColumn ?? 'text';
  if (!table.columnNames.includes(column)) {
    throw new DatasetError(`text column '${column}' not found in ${format} file '${path}', which has columns: ${table.columnNames.join(', ')}; set dataset.text_column`);
  }
  const notText = (): DatasetError => new DatasetError(`column '${column}' of '${path}' does not hold text; set dataset.text_column to a string column (columns: ${table.columnNames.join(', ')})`);
  let vector;
  try {
    vector = table.column(column);
  } catch {
    throw notText();
  }
  if (!(vector.type instanceof Utf8 || vector.type instanceof LargeUtf8)) throw notText();
  const texts: string[] = [];
  const keep: number[] = [];
  for (let i = 0; i < vector.length; i++) {
    const t = vector.get(i) as string | null;
    if (t !== null && t.length > 0) { texts.push(t); keep.push(i); }
  }
  let splitValues: string[] | undefined;
  if (source.splitColumn !== undefined) {
    if (!table.columnNames.includes(source.splitColumn)) {
      throw new DatasetError(`split column '${source.splitColumn}' not found in '${path}', which has columns: ${table.columnNames.join(', ')}; fix dataset.split_column`);
    }
    const s = table.column(source.splitColumn);
    splitValues = keep.map((i) => String(s.get(i)));
  }
  return { texts, contentHash: sha256Hex([bytes]), ...(splitValues ? { splitValues } : {}), what: `column '${column}' of '${path}'` };
}

function utf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DatasetError(`text file '${path}' is not valid UTF-8; convert it to UTF-8`);
  }
}

function nonEmpty(texts: string[]): string[] {
  return texts.filter((t) => t.length > 0);
}

/** sha256 of documents with their lengths, so that moving a boundary between two files changes it. */
function documentsHash(docs: readonly Uint8Array[]): string {
  return sha256Hex([Buffer.from(JSON.stringify(docs.map((d) => d.length))), ...docs]);
}
