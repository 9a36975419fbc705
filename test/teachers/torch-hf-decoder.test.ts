// A causal LM exported by torch.onnx.export the way Hugging Face exports decoders with past
// (scripts/fixtures/export-hf-decoder.py made the committed file; no test runs Python): kennis
// precomputes it with no input mapping, and its cache equals onnxruntime run directly with an
// empty past, which in turn equals the same positions computed incrementally with a real past.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { precompute } from '../../src/precompute/index.js';
import { int64, largest, logSumExp64, ort, readCache, recipeIn, tempDir } from '../precompute/helpers.js';

const FIXTURE = path.join(import.meta.dirname, '../fixtures/torch/hf-gpt2-decoder.onnx');
const V = 256, T = 16, ROWS = 5, K = 8, LAYERS = 2, HEADS = 4, HEAD_DIM = 8;

const empty = (rows: number): Record<string, ort.Tensor> => Object.fromEntries(Array.from({ length: LAYERS }, (_, i) => ['key', 'value'].map((kv) =>
  [`past_key_values.${i}.${kv}`, new ort.Tensor('float32', new Float32Array(0), [rows, HEADS, 0, HEAD_DIM])] as const)).flat());

test('a torch-exported HF-style decoder (attention_mask, position_ids, past_key_values) precomputes with no mapping and equals session.run with an empty past', async () => {
  const dir = await tempDir('torch-hf-decoder');
  copyFileSync(FIXTURE, path.join(dir, 'decoder.onnx'));
  const summary = await precompute(recipeIn(dir, {
    teacher: { path: 'decoder.onnx', batch_size: 2 },
    dataset: { name: 'moby-dick', split: 'validation', seq_len: T, limit: ROWS },
    targets: { kind: 'topk', k: K },
    cache: { root: 'cache', shard_rows: 4 },
  }));
  assert.equal(summary.rows, ROWS);
  const { manifest, columns } = await readCache(summary.cacheDir);
  assert.deepEqual(manifest.teacher.inputs.map((i) => i.name), ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);

  const session = await ort.InferenceSession.create(FIXTURE);
  try {
    const ids = Int32Array.from(columns.input_ids as ArrayLike<number>);
    const positions = (rows: number, from: number, n: number) => int64(Int32Array.from({ length: rows * n }, (_, i) => from + (i % n)), [rows, n]);
    const full = await session.run({ input_ids: int64(ids, [ROWS, T]), attention_mask: int64(new Int32Array(ROWS * T).fill(1), [ROWS, T]), position_ids: positions(ROWS, 0, T), ...empty(ROWS) });
    const logits = full.logits!.data as Float32Array;
    const topIds = columns.topk_ids as ArrayLike<number>;
    const values = columns.topk_logits as Float32Array;
    const lse = columns.logsumexp as Float32Array;
    for (let p = 0; p < ROWS * T; p++) {
      const top = largest(logits, p * V, V, K);
      assert.deepEqual(Array.from(values.subarray(p * K, p * K + K)), top, `position ${p}: top-k values`);
      for (let j = 0; j < K; j++) assert.equal(logits[p * V + topIds[p * K + j]!], top[j], `position ${p}: top-k id ${j}`);
      assert.ok(Math.abs(lse[p]! - logSumExp64(logits, p * V, V)) < 1e-4, `position ${p}: logsumexp`);
    }

    // the model's own cache path: the first 10 tokens, then the last 6 with their past, give the same last logits
    const row = ids.subarray(0, T);
    const head = await session.run({ input_ids: int64(row.subarray(0, 10), [1, 10]), attention_mask: int64(new Int32Array(10).fill(1), [1, 10]), position_ids: positions(1, 0, 10), ...empty(1) });
    const past = Object.fromEntries(Object.entries(head).filter(([n]) => n.startsWith('present.')).map(([n, t]) => [n.replace('present.', 'past_key_values.'), t]));
    const tail = await session.run({ input_ids: int64(row.subarray(10), [1, 6]), attention_mask: int64(new Int32Array(T).fill(1), [1, T]), position_ids: positions(1, 10, 6), ...past });
    const incremental = tail.logits!.data as Float32Array;
    for (let i = 0; i < 6 * V; i++) assert.ok(Math.abs(incremental[i]! - logits[10 * V + i]!) < 1e-3, `incremental logit ${i}: ${incremental[i]} vs ${logits[10 * V + i]}`);
  } finally {
    await session.release();
  }
});
