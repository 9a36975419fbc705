// A decoder exported the way Hugging Face exports them (input_ids, attention_mask, position_ids,
// past_key_values.*, use_cache_branch -> logits, present.*) precomputes with no input mapping in
// the recipe: kennis feeds an empty past, positions 0..T-1 and the no-cache branch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { TeacherError } from '../../src/core/errors/index.js';
import { GraphBuilder } from '../../src/core/onnx/index.js';
import { bindInputs, buildFeeds } from '../../src/core/runtime/index.js';
import { fixedSizeListVector } from '../../src/core/util/arrow.js';
import { batchOf, rowVector } from '../../src/data/index.js';
import { Rng } from '../../src/core/util/rng.js';
import { precompute } from '../../src/precompute/index.js';
import { randomWeight } from '../fixtures/teachers.js';
import { int64, largest, logSumExp64, ort, readCache, recipeIn, tempDir } from './helpers.js';

const V = 256;
const T = 16;
const D = 8;
const HEADS = 2;
const HEAD_DIM = 4;
const ROWS = 5;

/**
 * logits = (E[ids] + P[position_ids]) * mask @ W + (the row's sum of present.0.key) / 100 + 1000 * use_cache_branch,
 * where present.0.key = concat(past_key_values.0.key, keys of this step) on the sequence axis, so a
 * wrong position, a non-empty past or the cache branch would all change the logits.
 */
function hfDecoder(): Uint8Array {
  const rng = new Rng(8);
  const g = new GraphBuilder({ name: 'hf_style_decoder', opset: 17 });
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positions = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const pastKey = g.input('past_key_values.0.key', 'float32', ['batch_size', HEADS, 'past_sequence_length', HEAD_DIM]);
  const pastValue = g.input('past_key_values.0.value', 'float32', ['batch_size', HEADS, 'past_sequence_length', HEAD_DIM]);
  const branch = g.input('use_cache_branch', 'bool', [1]);
  const w = (dims: number[], std: number): string => { const x = randomWeight(rng, dims, std); return g.constant(x.data, x.dims, 'w'); };
  const embedded = g.op('Add', [g.op('Gather', [w([V, D], 1), ids], { axis: 0 }), g.op('Gather', [w([T, D], 1), positions], { axis: 0 })]);
  const h = g.op('Mul', [embedded, g.op('Unsqueeze', [g.op('Cast', [mask], { to: 1 }), g.int64s([-1])])]);
  const step = (): string => g.op('Transpose', [g.op('Reshape', [g.op('MatMul', [h, w([D, HEADS * HEAD_DIM], 0.5)]), g.int64s([0, 0, HEADS, HEAD_DIM])])], { perm: [0, 2, 1, 3] });
  const presentKey = g.op('Concat', [pastKey, step()], { axis: 2 });
  const presentValue = g.op('Concat', [pastValue, step()], { axis: 2 });
  let logits = g.op('MatMul', [h, w([D, V], 1)]);
  logits = g.op('Add', [logits, g.op('Div', [g.op('Reshape', [g.op('ReduceSum', [presentKey, g.int64s([1, 2, 3])], { keepdims: 1 }), g.int64s([0, 1, 1])]), g.scalar(100)])]);
  logits = g.op('Add', [logits, g.op('Mul', [g.op('Cast', [branch], { to: 1 }), g.scalar(1000)])]);
  g.output('logits', 'float32', ['batch_size', 'sequence_length', V], logits);
  g.output('present.0.key', 'float32', ['batch_size', HEADS, 'total_sequence_length', HEAD_DIM], presentKey);
  g.output('present.0.value', 'float32', ['batch_size', HEADS, 'total_sequence_length', HEAD_DIM], presentValue);
  return g.toBytes();
}

test('an HF-style decoder with past_key_values and position_ids precomputes with no mapping; top-k equals session.run with empty past', async () => {
  const dir = await tempDir('pre-hf-decoder');
  const model = hfDecoder();
  writeFileSync(path.join(dir, 'decoder.onnx'), model);
  const summary = await precompute(recipeIn(dir, {
    teacher: { path: 'decoder.onnx', batch_size: 2 },
    dataset: { name: 'moby-dick', split: 'validation', seq_len: T, limit: ROWS },
    targets: { kind: 'topk', k: 4 },
    cache: { root: 'cache', shard_rows: 4 },
  }));
  assert.equal(summary.rows, ROWS);
  const { manifest, columns } = await readCache(summary.cacheDir);
  assert.deepEqual(manifest.teacher.inputs.map((i) => i.name), ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'use_cache_branch']);

  const session = await ort.InferenceSession.create(model);
  const ids = Int32Array.from(columns.input_ids as ArrayLike<number>);
  const out = await session.run({
    input_ids: int64(ids, [ROWS, T]),
    attention_mask: int64(new Int32Array(ROWS * T).fill(1), [ROWS, T]),
    position_ids: int64(Int32Array.from({ length: ROWS * T }, (_, i) => i % T), [ROWS, T]),
    'past_key_values.0.key': new ort.Tensor('float32', new Float32Array(0), [ROWS, HEADS, 0, HEAD_DIM]),
    'past_key_values.0.value': new ort.Tensor('float32', new Float32Array(0), [ROWS, HEADS, 0, HEAD_DIM]),
    use_cache_branch: new ort.Tensor('bool', Uint8Array.of(0), [1]),
  });
  await session.release();
  const logits = out.logits!.data as Float32Array;
  const topIds = columns.topk_ids as ArrayLike<number>;
  const values = columns.topk_logits as Float32Array;
  const lse = columns.logsumexp as Float32Array;
  for (let p = 0; p < ROWS * T; p++) {
    const top = largest(logits, p * V, V, 4);
    assert.deepEqual(Array.from(values.subarray(p * 4, p * 4 + 4)), top, `position ${p}: top-k values`);
    for (let j = 0; j < 4; j++) assert.equal(logits[p * V + topIds[p * 4 + j]!], top[j], `position ${p}: top-k id ${j}`);
    assert.ok(Math.abs(lse[p]! - logSumExp64(logits, p * V, V)) < 1e-4, `position ${p}: logsumexp`);
  }
  // the recipe can still override a generated input: positions from the token column are other logits
  const overridden = await precompute(recipeIn(dir, {
    teacher: { path: 'decoder.onnx', batch_size: 2, inputs: { position_ids: { column: 'labels' } } },
    dataset: { name: 'moby-dick', split: 'validation', seq_len: T, limit: ROWS },
    targets: { kind: 'topk', k: 4 },
    cache: { root: 'cache', shard_rows: 4 },
  })).catch((e: unknown) => e as Error);
  // byte labels index a 16-row position table out of range: onnxruntime refuses, which shows the mapping took effect
  assert.ok(overridden instanceof Error && /position_ids|indices/.test(overridden.message), String(overridden));
});

test('generated inputs: positions per row, an empty past, the no-cache branch; a past with unknown head sizes is one clear error', () => {
  const sig = (name: string, type: string, ...shape: (number | string)[]) => ({ name, type, shape });
  const batch = batchOf([['input_ids', fixedSizeListVector(new Int32Array(3 * 4), [4], 'int32')], ['row', rowVector(0, 3)]]);
  const bindings = bindInputs([
    sig('input_ids', 'int64', 'b', 's'), sig('position_ids', 'int32', 'b', 's'), sig('past_key_values.3.value', 'float16', 'b', 8, 'past', 64), sig('use_cache_branch', 'bool', 1),
  ], batch.schema, undefined, true);
  const feeds = buildFeeds(batch, bindings);
  assert.deepEqual(feeds.position_ids, { type: 'int32', data: Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]), dims: [3, 4] });
  assert.deepEqual(feeds['past_key_values.3.value'], { type: 'float16', data: new Uint16Array(0), dims: [3, 8, 0, 64] });
  assert.deepEqual(feeds.use_cache_branch, { type: 'bool', data: Uint8Array.of(0), dims: [1] });
  assert.throws(() => bindInputs([sig('input_ids', 'int64', 'b', 's'), sig('past_key_values.0.key', 'float32', 'b', 'heads', 'past', 'head_dim')], batch.schema, undefined, true),
    (e: Error) => e instanceof TeacherError && /teacher input 'past_key_values\.0\.key' has shape \[b,heads,past,head_dim\]; kennis feeds an empty past only when every dim but the batch and the past length is fixed/.test(e.message));
});
