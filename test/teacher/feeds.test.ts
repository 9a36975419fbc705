import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TensorSignature } from '../../src/cache/index.js';
import { batchOf, rowVector } from '../../src/data/index.js';
import { TeacherError } from '../../src/core/errors/index.js';
import { bindInputs, buildFeeds } from '../../src/core/runtime/index.js';
import { fixedSizeListVector, primitiveVector } from '../../src/core/util/arrow.js';

const N = 3;
const image = Float32Array.from({ length: N * 6 }, (_, i) => i / 10);
const tokens = Int32Array.from({ length: N * 4 }, (_, i) => (i * 37) % 256);
const batch = batchOf([
  ['image', fixedSizeListVector(image, [6], 'float32')],
  ['input_ids', fixedSizeListVector(tokens, [4], 'int32')],
  ['label', primitiveVector(Int32Array.from([1, 2, 3]), 'int32')],
  ['row', rowVector(10, 10 + N)],
]);
const sig = (name: string, type: string, ...shape: (number | string)[]): TensorSignature => ({ name, type, shape });

test('same-name columns feed the inputs; int32 token ids become int64 and the model row shape reshapes the image', () => {
  const bindings = bindInputs([sig('image', 'float32', 'N', 2, 3), sig('input_ids', 'int64', 'batch', 'sequence')], batch.schema, undefined, true);
  assert.deepEqual(bindings, [
    { input: 'image', column: 'image', rowShape: [2, 3], type: 'float32' },
    { input: 'input_ids', column: 'input_ids', rowShape: [4], type: 'int64' },
  ]);
  const feeds = buildFeeds(batch, bindings);
  assert.deepEqual(feeds.image!.dims, [N, 2, 3]);
  assert.deepEqual(Array.from(feeds.image!.data as Float32Array), Array.from(image));
  assert.equal(feeds.input_ids!.type, 'int64');
  assert.deepEqual(feeds.input_ids!.dims, [N, 4]);
  assert.deepEqual(Array.from(feeds.input_ids!.data as BigInt64Array), Array.from(tokens, (t) => BigInt(t)));
});

test('teacher.inputs maps a differently named input to a column with a reshape, and an attention_mask is all ones', () => {
  const bindings = bindInputs(
    [sig('pixels', 'float32', 'N', 1, 2, 3), sig('ids', 'int64', 'b', 's'), sig('attention_mask', 'int64', 'b', 's')], batch.schema,
    { pixels: { column: 'image', shape: [1, 2, 3] }, ids: { column: 'input_ids' } }, true,
  );
  const feeds = buildFeeds(batch, bindings);
  assert.deepEqual(feeds.pixels!.dims, [N, 1, 2, 3]);
  assert.deepEqual(feeds.attention_mask!.dims, [N, 4], 'the mask takes the token column shape');
  assert.deepEqual(Array.from(feeds.attention_mask!.data as BigInt64Array), Array(N * 4).fill(1n));
  assert.throws(() => bindInputs([sig('ids', 'int64', 'b', 's'), sig('attention_mask', 'int64', 'b', 's')], batch.schema, { ids: { column: 'input_ids' } }, false),
    (e: Error) => e instanceof TeacherError && /teacher input 'attention_mask' has no dataset column; map it with teacher\.inputs\.attention_mask\.column=<one of image, input_ids, label>/.test(e.message));
});

test('inputs that do not fit are one-line TeacherErrors that name the input, the column and the fix', () => {
  const cases: [TensorSignature[], Parameters<typeof bindInputs>[2], RegExp][] = [
    [[sig('image', 'float32', 'N', 6)], { img: { column: 'image' } }, /teacher\.inputs names 'img', which the model does not have; the model expects image: float32 \[N,6\]/],
    [[sig('image', 'float32', 'N', 6)], { image: { column: 'pixels' } }, /teacher\.inputs\.image\.column is 'pixels', which the dataset does not have; its columns are image, input_ids, label/],
    [[sig('image', 'float32', 'N', 6)], { image: { column: 'image', shape: [3, 3] } }, /teacher\.inputs\.image\.shape \[3,3\] holds 9 values but column 'image' has 6 values per row/],
    [[sig('image', 'float32', 'N', 7)], undefined, /teacher input 'image' expects \[N,7\] but column 'image' has 6 values per row/],
    [[sig('image', 'float32', 'N', 2, 3)], { image: { column: 'image', shape: [3, 2] } }, /teacher input 'image' expects \[N,2,3\], got per-row shape \[3,2\] from column 'image'/],
    [[sig('flag', 'bool', 'N')], undefined, /teacher input 'flag' has type bool; kennis feeds float32, int64 or int32 inputs/],
    [[sig('x', 'float32', 'N', 6)], undefined, /teacher input 'x' has no dataset column; map it with teacher\.inputs\.x\.column=/],
  ];
  for (const [inputs, mapping, message] of cases) {
    assert.throws(() => bindInputs(inputs, batch.schema, mapping, true), (e: Error) => e instanceof TeacherError && message.test(e.message) && !e.message.includes('\n'), String(message));
  }
});
