import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { exportStudentToOnnx } from '../../src/evaluate/export/index.js';
import { DataType, decodeModel, inspectModel, tensorToArray } from '../../src/core/onnx/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import type { CnnSpec, GptSpec, MlpSpec } from '../../src/train/students/index.js';
import { Rng } from '../../src/core/util/index.js';
import { assertClose, use } from '../nn/helpers.js';
import { onnxLogits, ort, randomWeights, studentLogits } from './helpers.js';

const uniform = (rng: Rng, n: number): Float32Array => Float32Array.from({ length: n }, () => rng.next());

test('export mlp: onnxruntime equals the tfjs student for relu, gelu and tanh at two batch sizes', async () => {
  await use('cpu');
  for (const activation of ['relu', 'gelu', 'tanh'] as const) {
    const spec: MlpSpec = { arch: 'mlp', inputs: 12, hidden: [9, 7], activation, dropout: 0.2, classes: 5 };
    const weights = randomWeights(spec, 11);
    const bytes = exportStudentToOnnx(spec, weights, { inputName: 'pixels' });
    const sig = inspectModel(bytes, 'mlp');
    assert.deepEqual(sig.inputs, [{ name: 'pixels', type: 'float32', shape: ['N', 12] }]);
    assert.deepEqual(sig.outputs, [{ name: 'logits', type: 'float32', shape: ['N', 5] }]);
    for (const rows of [5, 3]) {
      const x = uniform(new Rng(rows), rows * 12);
      const got = await onnxLogits(bytes, { pixels: new ort.Tensor('float32', x, [rows, 12]) });
      assert.deepEqual(got.dims, [rows, 5]);
      const xt = tf.tensor2d(x, [rows, 12]);
      assertClose(got.data, studentLogits(spec, weights, xt), 1e-4, `mlp ${activation} rows ${rows}`);
      xt.dispose();
    }
  }
});

test('export cnn: flat NHWC input, HWIO kernels, same padding, floor pooling and NHWC flatten order match tfjs', async () => {
  await use('cpu');
  // non-square odd sizes, several channels and a spatial output > 1x1 make any layout or flatten-order slip visible
  const specs: CnnSpec[] = [
    { arch: 'cnn', inputShape: [7, 6, 2], conv: [{ filters: 3, kernel: 3, pool: 2 }, { filters: 4, kernel: 5 }], dense: [6], classes: 4 },
    { arch: 'cnn', inputShape: [8, 7, 1], conv: [{ filters: 2, kernel: 1, pool: 3 }], dense: [], classes: 3 },
  ];
  for (const [n, spec] of specs.entries()) {
    const weights = randomWeights(spec, 5 + n);
    const bytes = exportStudentToOnnx(spec, weights);
    const features = spec.inputShape[0] * spec.inputShape[1] * spec.inputShape[2];
    assert.deepEqual(inspectModel(bytes, 'cnn').inputs, [{ name: 'image', type: 'float32', shape: ['N', features] }]);
    for (const rows of [4, 1]) {
      const x = uniform(new Rng(40 + rows), rows * features);
      const got = await onnxLogits(bytes, { image: new ort.Tensor('float32', x, [rows, features]) });
      assert.deepEqual(got.dims, [rows, spec.classes]);
      const xt = tf.tensor2d(x, [rows, features]);
      assertClose(got.data, studentLogits(spec, weights, xt), 1e-4, `cnn ${n} rows ${rows}`);
      xt.dispose();
    }
  }
});

test('export gpt: Hugging Face style inputs, dynamic batch and sequence, untied and tied heads match tfjs', async () => {
  await use('cpu');
  const base: GptSpec = { arch: 'gpt', vocab: 11, dModel: 8, layers: 2, heads: 2, seqLen: 6, mlpRatio: 2, dropout: 0.1 };
  for (const tiedHead of [false, true]) {
    const spec = { ...base, tiedHead };
    const weights = randomWeights(spec, tiedHead ? 21 : 22);
    const bytes = exportStudentToOnnx(spec, weights);
    const sig = inspectModel(bytes, 'gpt');
    assert.deepEqual(sig.inputs, [
      { name: 'input_ids', type: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', type: 'int64', shape: ['batch', 'sequence'] },
    ]);
    assert.deepEqual(sig.outputs, [{ name: 'logits', type: 'float32', shape: ['batch', 'sequence', 11] }]);
    for (const T of [6, 3]) {
      const rng = new Rng(T);
      const ids = Int32Array.from({ length: 2 * T }, () => rng.int(spec.vocab));
      const got = await onnxLogits(bytes, {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [2, T]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(2 * T).fill(1n), [2, T]),
      });
      assert.deepEqual(got.dims, [2, T, 11]);
      const xt = tf.tensor2d(ids, [2, T], 'int32');
      assertClose(got.data, studentLogits(spec, weights, xt), 1e-4, `gpt tied=${tiedHead} T=${T}`);
      xt.dispose();
    }
  }
});

test('export: the float initializers are exactly the student weights under their kennis names, and bad weights are a TrainError', () => {
  const spec: GptSpec = { arch: 'gpt', vocab: 7, dModel: 4, layers: 1, heads: 2, seqLen: 5 };
  const weights = randomWeights(spec, 1);
  const bytes = exportStudentToOnnx(spec, weights);
  // float initializers of rank >= 1 are exactly the weights; int64 shape constants and float scalars are not parameters
  const inits = decodeModel(bytes).graph!.initializer!.filter((t) => t.dataType === DataType.FLOAT && (t.dims ?? []).length > 0);
  assert.deepEqual(inits.map((t) => t.name).sort(), Object.keys(weights).sort());
  for (const t of inits) assert.deepEqual(new Float32Array(tensorToArray(t) as Float32Array), weights[t.name!]!.data, t.name);
  const short = { ...weights, 'ln_f/gamma': { shape: [3], data: new Float32Array(3) } };
  assert.throws(() => exportStudentToOnnx(spec, short), (e: unknown) => e instanceof TrainError && /ln_f\/gamma.*expected shape \[4\]/.test(e.message));
  const { 'lm_head/kernel': _drop, ...missing } = weights;
  assert.throws(() => exportStudentToOnnx(spec, missing), /lack parameter 'lm_head\/kernel'/);
  assert.throws(() => exportStudentToOnnx({ ...spec, tiedHead: true }, weights), /'lm_head\/kernel', which/);
});
