import { CacheError } from '../../core/errors/index.js';
import { flatValues, type NumericArray } from '../../core/util/arrow.js';
import { fromFloat16Bits } from '../../core/util/float16.js';
import { decodeStoredColumn, readManifest, readShard, type Manifest } from '../../cache/index.js';
import { loadTokenizer } from '../../data/index.js';

/** One candidate token of the teacher at a position. */
export interface CandidateView {
  /** Token id. */
  id: number;
  /** The token as text (undefined without a tokenizer). */
  text?: string;
  /** Teacher probability at T=1 (sampled caches: the share of the draws). */
  prob: number;
}

/** One position of a row: the token read, the next token, and what the teacher predicted there. */
export interface PositionView {
  /** Position in the window. */
  position: number;
  /** Input token. */
  input: { id: number; text?: string };
  /** The next token (the label), when the cache stores labels; ignored positions (padding) are absent. */
  next?: { id: number; text?: string; prob?: number };
  /** The teacher's top candidates, most likely first. */
  candidates: CandidateView[];
  /** topk: probability outside the stored k (from the exact logsumexp). */
  tailMass?: number;
}

/** A cache row read as text. */
export interface CacheRowView {
  /** Cache directory. */
  dir: string;
  /** Row index within the cache. */
  row: number;
  /** Rows in the cache. */
  rows: number;
  /** Target kind and its size (k or samples). */
  targets: { kind: Manifest['targets']['kind']; vocab: number; k?: number; samples?: number };
  /** The tokenizer the tokens are decoded with: `bytes`, a package or a path; undefined: ids only. */
  tokenizer?: string;
  /** The row's input tokens decoded as one text. */
  text?: string;
  /** Per position (one position for classification caches). */
  positions: PositionView[];
}

/** Options of showCacheRow. */
export interface CacheShowOptions {
  /** Row to show; default 0. */
  row?: number;
  /** Candidates per position; default 5 (at most k for topk caches). */
  top?: number;
  /** Decode with this tokenizer (a tokenizer.json path or package) instead of the one the manifest records. */
  tokenizer?: string;
}

type Decoder = (ids: ArrayLike<number>) => string;

/** Bytes as text: one byte shows as its character (or \xNN), a window as UTF-8. */
function byteDecoder(ids: ArrayLike<number>): string {
  if (ids.length === 1) {
    const b = ids[0]!;
    return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : b === 0x0a ? '\n' : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return Buffer.from(Array.from(ids)).toString('utf8');
}

function decoderFor(manifest: Manifest, dir: string, override: string | undefined): { name?: string; decode?: Decoder } {
  const recorded = manifest.dataset.tokenizer;
  if (override !== undefined) return { name: override, decode: override === 'bytes' ? byteDecoder : loadTokenizer(override).decode };
  if (!recorded) return {};
  if (recorded.name === 'bytes') return { name: 'bytes', decode: byteDecoder };
  const tokenizer = loadTokenizer(recorded.name);
  if (recorded.fingerprint !== undefined && tokenizer.fingerprint !== recorded.fingerprint) {
    throw new CacheError(`tokenizer '${recorded.name}' (${tokenizer.file}) is not the one cache '${dir}' was written with (fingerprint ${tokenizer.fingerprint.slice(0, 12)}…, the cache's ${recorded.fingerprint.slice(0, 12)}…); pass --tokenizer with the tokenizer.json it used`);
  }
  return { name: recorded.name, decode: tokenizer.decode };
}

/** The values of a cache column of one row's span [from, to), float16 bits decoded. */
function floats(values: NumericArray, manifest: Manifest): Float32Array {
  return manifest.targets.valueDtype === 'float16' ? fromFloat16Bits(values as Uint16Array) : Float32Array.from(values as ArrayLike<number>);
}

/**
 * A cache row as text: each position's token, the next token, and the teacher's top candidates
 * with their probabilities, decoded with the tokenizer the manifest records (checked by its
 * fingerprint). Reads only the shard that holds the row.
 */
export async function showCacheRow(dir: string, options: CacheShowOptions = {}): Promise<CacheRowView> {
  const manifest = await readManifest(dir);
  const rows = manifest.shards.reduce((n, s) => n + s.rows, 0);
  const row = options.row ?? 0;
  if (!Number.isInteger(row) || row < 0 || row >= rows) throw new CacheError(`cache '${dir}' has ${rows} rows; expected --row in 0..${rows - 1}, got ${row}`);
  const top = options.top ?? 5;
  if (!Number.isInteger(top) || top < 1) throw new CacheError(`expected --top to be a positive integer, got ${top}`);
  const index = manifest.shards.findIndex((s) => row >= s.firstRow && row < s.firstRow + s.rows);
  const { table } = await readShard(dir, manifest, index);
  const at = row - manifest.shards[index]!.firstRow;
  const { kind, vocab, k, samples } = manifest.targets;
  const P = manifest.targets.seqLen ?? 1;
  const column = (name: string): NumericArray | undefined => {
    const child = table.getChild(name);
    if (child === null) return undefined;
    const all = flatValues(child);
    const per = all.length / table.numRows;
    const values = all.subarray(at * per, (at + 1) * per) as NumericArray;
    const stored = manifest.dataset.storedColumns?.[name];
    return stored ? decodeStoredColumn(values, stored) : values;
  };
  const { name: tokenizer, decode } = decoderFor(manifest, dir, options.tokenizer);
  // a token's text after the token before it: SentencePiece decoders drop the leading space of a text's first token
  const text = (id: number, before?: number): string | undefined => {
    if (!decode) return undefined;
    if (before === undefined) return decode([id]);
    const prefix = decode([before]);
    const both = decode([before, id]);
    return both.startsWith(prefix) ? both.slice(prefix.length) : decode([id]);
  };
  const inputName = manifest.dataset.inputColumns[0];
  const inputs = inputName !== undefined && P > 1 ? column(inputName) : undefined;
  const labels = manifest.dataset.labelColumn !== undefined ? column(manifest.dataset.labelColumn) : undefined;

  const positions: PositionView[] = [];
  for (let p = 0; p < P; p++) {
    let candidates: CandidateView[];
    let tailMass: number | undefined;
    let probOf: (id: number) => number | undefined;
    if (kind === 'topk') {
      const ids = Array.from(column('topk_ids')!.subarray(p * k!, (p + 1) * k!) as ArrayLike<number>, Number);
      const logits = floats(column('topk_logits')!.subarray(p * k!, (p + 1) * k!) as NumericArray, manifest);
      const lse = (column('logsumexp') as Float32Array)[p]!;
      const probs = Array.from(logits, (l) => Math.exp(l - lse));
      candidates = probs.slice(0, top).map((prob, j) => ({ id: ids[j]!, prob }));
      tailMass = Math.max(0, 1 - probs.reduce((a, b) => a + b, 0));
      probOf = (id) => { const j = ids.indexOf(id); return j >= 0 ? probs[j] : undefined; };
    } else if (kind === 'full') {
      const logits = floats(column('logits')!.subarray(p * vocab, (p + 1) * vocab) as NumericArray, manifest);
      let max = -Infinity;
      for (const l of logits) max = Math.max(max, l);
      let sum = 0;
      for (const l of logits) sum += Math.exp(l - max);
      const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!).slice(0, top);
      probOf = (id) => Math.exp(logits[id]! - max) / sum;
      candidates = order.map((id) => ({ id, prob: probOf(id)! }));
    } else {
      const ids = column('sample_ids')!.subarray(p * samples!, (p + 1) * samples!);
      const counts = column('sample_counts')!.subarray(p * samples!, (p + 1) * samples!);
      const drawn: CandidateView[] = Array.from(ids as ArrayLike<number>, (id, j) => ({ id: Number(id), prob: Number(counts[j]) / samples! })).filter((c) => c.prob > 0);
      candidates = drawn.sort((a, b) => b.prob - a.prob || a.id - b.id).slice(0, top);
      probOf = (id) => drawn.find((c) => c.id === id)?.prob ?? 0;
    }
    const current = inputs ? Number(inputs[p]) : undefined;
    if (P > 1) for (const c of candidates) { const t = text(c.id, current); if (t !== undefined) c.text = t; }
    const view: PositionView = { position: p, input: { id: current ?? row }, candidates, ...(tailMass !== undefined ? { tailMass } : {}) };
    if (current !== undefined) { const t = text(current, p > 0 ? Number(inputs![p - 1]) : undefined); if (t !== undefined) view.input.text = t; }
    const label = labels ? Number(labels[p]) : undefined;
    if (label !== undefined && label >= 0 && label < vocab) {
      const prob = probOf(label);
      const t = P > 1 ? text(label, current) : undefined;
      view.next = { id: label, ...(t !== undefined ? { text: t } : {}), ...(prob !== undefined ? { prob } : {}) };
    }
    positions.push(view);
  }
  return {
    dir, row, rows,
    targets: { kind, vocab, ...(k !== undefined ? { k } : {}), ...(samples !== undefined ? { samples } : {}) },
    ...(tokenizer !== undefined ? { tokenizer } : {}),
    ...(inputs && decode ? { text: decode(Array.from(inputs, Number)) } : {}),
    positions,
  };
}

/** A CacheRowView as aligned text lines: position, token, next token (with its teacher probability), candidates. */
export function formatCacheRow(view: CacheRowView): string {
  const t = view.targets;
  const show = (id: number, text: string | undefined): string => (text !== undefined ? JSON.stringify(text) : `#${id}`);
  const size = t.kind === 'topk' ? ` k=${t.k}` : t.kind === 'sampled' ? ` samples=${t.samples}` : '';
  const lines = [`cache ${view.dir}: row ${view.row} of ${view.rows}, ${t.kind}${size} targets over ${t.vocab} tokens${view.tokenizer ? `, tokenizer ${view.tokenizer}` : ''}`];
  if (view.text !== undefined) lines.push(`text: ${JSON.stringify(view.text)}`);
  const cells = view.positions.map((p) => [
    String(p.position),
    show(p.input.id, p.input.text),
    p.next ? `${show(p.next.id, p.next.text)}${p.next.prob !== undefined ? ` ${p.next.prob.toFixed(3)}` : ''}` : '-',
    p.candidates.map((c) => `${show(c.id, c.text)} ${c.prob.toFixed(3)}`).join('  ') + (p.tailMass !== undefined ? `  | tail ${p.tailMass.toFixed(3)}` : ''),
  ]);
  const header = ['pos', 'token', 'next (teacher p)', 'teacher top candidates'];
  const widths = header.slice(0, 3).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]): string => [...c.slice(0, 3).map((x, i) => x.padEnd(widths[i]!)), c[3]!].join('  ');
  return [...lines, fmt(header), ...cells.map(fmt)].join('\n');
}
