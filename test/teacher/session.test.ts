import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { TeacherError } from '../../src/core/errors/index.js';
import { Teacher } from '../../src/core/runtime/index.js';
import { mlpClassifier, sequenceModel } from '../fixtures/teachers.js';
import { Rng } from '../../src/core/util/rng.js';

test('Teacher reads its signature from the model and returns the outputs of a direct session.run', async () => {
  const model = mlpClassifier({ seed: 101, inputs: 12, hidden: [8], classes: 5 });
  const rng = new Rng(1);
  const x = Float32Array.from({ length: 4 * 12 }, () => rng.normal());
  const session = await ort.InferenceSession.create(model.bytes);
  let expected: Float32Array;
  try {
    expected = (await session.run({ image: new ort.Tensor('float32', x, [4, 12]) })).logits!.data as Float32Array;
  } finally {
    await session.release();
  }
  const teacher = await Teacher.create(model.bytes, 'mlp.onnx');
  try {
    assert.deepEqual(teacher.inputs, [{ name: 'image', type: 'float32', shape: ['N', 12] }]);
    assert.deepEqual(teacher.outputs, [{ name: 'logits', type: 'float32', shape: ['N', 5] }]);
    const out = await teacher.run({ image: { type: 'float32', data: x, dims: [4, 12] } }, ['logits']);
    assert.deepEqual(Object.keys(out), ['logits']);
    assert.deepEqual(out.logits!.dims, [4, 5]);
    assert.deepEqual(out.logits!.data, expected);
  } finally {
    await teacher.release();
  }
});

test('bytes onnxruntime cannot load are a one-line TeacherError naming the teacher', async () => {
  const model = mlpClassifier({ seed: 102, inputs: 12, hidden: [8], classes: 5 }).bytes;
  for (const bytes of [Uint8Array.from([8, 7, 18, 4, 1, 2, 3]), model.subarray(0, model.length >> 1)]) {
    await assert.rejects(Teacher.create(bytes, 'broken.onnx'), (e: Error) =>
      e instanceof TeacherError && /^teacher 'broken\.onnx' could not be loaded by onnxruntime \(.+\); check that it is a complete ONNX model file$/.test(e.message) && !e.message.includes('\n'));
  }
});

test('a failing run is a one-line TeacherError naming the batch and the feeds', async () => {
  const teacher = await Teacher.create(sequenceModel({ vocab: 10, dModel: 8, seed: 103 }).bytes, 'lm.onnx');
  try {
    const ids = BigInt64Array.from([1, 2, 30, 4], BigInt); // 30 is outside the vocabulary
    await assert.rejects(teacher.run({ input_ids: { type: 'int64', data: ids, dims: [1, 4] }, attention_mask: { type: 'int64', data: new BigInt64Array(4).fill(1n), dims: [1, 4] } }, ['logits'], 'dataset rows 7..7'),
      (e: Error) => e instanceof TeacherError && !e.message.includes('\n')
        && /^teacher 'lm\.onnx' failed on dataset rows 7\.\.7 \(.*\); check that these rows fit the teacher's inputs \(input_ids: int64 \[1,4\]; attention_mask: int64 \[1,4\]\)$/.test(e.message));
    // the session still works after a failed run
    const out = await teacher.run({ input_ids: { type: 'int64', data: BigInt64Array.from([1, 2, 3, 4], BigInt), dims: [1, 4] }, attention_mask: { type: 'int64', data: new BigInt64Array(4).fill(1n), dims: [1, 4] } });
    assert.deepEqual(out.logits!.dims, [1, 4, 10]);
  } finally {
    await teacher.release();
  }
});
