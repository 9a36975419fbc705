import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttributeType, DataType, decodeModel, encodeModel, tensorFromArray, tensorToArray, type ModelProto,
} from '../../src/core/onnx/index.js';
import { TeacherError } from '../../src/core/errors/index.js';
import { mlpClassifier } from '../fixtures/teachers.js';
import { floatTensor, runOnce } from './run.js';

const utf8 = new TextEncoder();

/** A model touching every kind of field the schema declares, with values that stress int64 and proto2 presence. */
function richModel(): ModelProto {
  const body = {
    name: 'body',
    node: [{ input: ['a'], output: ['b'], opType: 'Identity', name: 'inner' }],
    input: [{ name: 'a', type: { tensorType: { elemType: DataType.FLOAT } } }],
    output: [{ name: 'b', type: { tensorType: { elemType: DataType.FLOAT } } }],
  };
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    producerName: 'kennis-test', producerVersion: '0', domain: 'x.y', modelVersion: 2n ** 60n, docString: 'doc',
    metadataProps: [{ key: 'k', value: 'v' }],
    graph: {
      name: 'g',
      node: [{
        input: ['x', ''], output: ['y'], name: 'n0', opType: 'Custom', domain: 'com.microsoft',
        attribute: [
          { name: 'i', type: AttributeType.INT, i: -5 },
          { name: 'big', type: AttributeType.INT, i: 2n ** 63n - 1n },
          { name: 'zero', type: AttributeType.INT, i: 0 },
          { name: 'f', type: AttributeType.FLOAT, f: 0.25 },
          { name: 'ints', type: AttributeType.INTS, ints: [1, -2, -(2n ** 62n)] },
          { name: 'floats', type: AttributeType.FLOATS, floats: [0.5, -1.5] },
          { name: 's', type: AttributeType.STRING, s: utf8.encode('hello') },
          { name: 'g', type: AttributeType.GRAPH, g: body },
        ],
      }],
      initializer: [
        tensorFromArray('w', Float32Array.of(1, 2, 3, 4), [2, 2]),
        { name: 'iv', dataType: DataType.INT64, dims: [3], int64Data: [1, -1, 2n ** 55n] },
        { name: 'fv', dataType: DataType.FLOAT, dims: [2], floatData: [0.5, 2] },
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 0 }, { dimValue: 7 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, {}] } } } }],
      valueInfo: [{ name: 'v', type: { sequenceType: { elemType: { tensorType: { elemType: DataType.INT32 } } } } }],
    },
    functions: [{ name: 'fn', domain: 'local', input: ['p'], output: ['q'], attribute: ['alpha'], node: [{ input: ['p'], output: ['q'], opType: 'Relu' }] }],
  };
}

test('decode(encode(x)) returns x, including int64 beyond 2^53, negative ints and dim_value 0', () => {
  const model = richModel();
  const back = decodeModel(encodeModel(model));
  assert.deepStrictEqual(back, model);
  // proto2 presence: an explicit 0 must stay a fixed dimension, not become "unknown"
  assert.deepStrictEqual(back.graph!.input![0]!.type!.tensorType!.shape!.dim![1], { dimValue: 0 });
  assert.equal(back.graph!.node![0]!.attribute![1]!.i, 2n ** 63n - 1n);
});

test('fields the schema does not name survive decode + encode', () => {
  const base = encodeModel({ irVersion: 8, producerName: 'p' });
  // field 99, varint 42: tag (99 << 3 | 0) = 792 = 0x98 0x06
  const extra = Uint8Array.of(0x98, 0x06, 42);
  const withUnknown = new Uint8Array([...base, ...extra]);
  const reencoded = encodeModel(decodeModel(withUnknown));
  assert.equal(reencoded.length, withUnknown.length);
  assert.deepStrictEqual([...reencoded.subarray(reencoded.length - 3)], [...extra]);
  assert.deepStrictEqual(decodeModel(reencoded), { irVersion: 8, producerName: 'p' });
});

test('a decoded and re-encoded builder model is byte-identical and runs the same in onnxruntime', async () => {
  const { bytes } = mlpClassifier({ inputs: 12, hidden: [8], classes: 4, seed: 3 });
  const again = encodeModel(decodeModel(bytes));
  assert.deepStrictEqual(Buffer.from(again), Buffer.from(bytes));
  const x = floatTensor(Array.from({ length: 24 }, (_, i) => Math.sin(i)), [2, 12]);
  const a = await runOnce(bytes, { image: x });
  const b = await runOnce(again, { image: x });
  assert.deepStrictEqual(a.outputs.logits!.data, b.outputs.logits!.data);
});

test('tensors round-trip through raw_data and the typed *_data fields', () => {
  const cases = [
    Float32Array.of(1.5, -2, 3e-8), Float64Array.of(Math.PI, -1), Int32Array.of(-7, 8), BigInt64Array.of(-(2n ** 62n), 5n),
    Uint8Array.of(0, 255), Int8Array.of(-128, 127), Uint16Array.of(65535, 1),
  ];
  for (const data of cases) {
    const t = decodeModel(encodeModel({ graph: { initializer: [tensorFromArray('t', data, [data.length])] } })).graph!.initializer![0]!;
    assert.deepStrictEqual(tensorToArray(t), data);
  }
  const half = tensorFromArray('h', Uint16Array.of(0x3c00), [1], 'float16');
  assert.equal(half.dataType, DataType.FLOAT16);
  assert.deepStrictEqual(tensorToArray({ name: 'f', dataType: DataType.FLOAT, dims: [2], floatData: [0.5, 2] }), Float32Array.of(0.5, 2));
  assert.deepStrictEqual(tensorToArray({ name: 'i', dataType: DataType.INT64, dims: [2], int64Data: [3, -(2n ** 60n)] }), BigInt64Array.of(3n, -(2n ** 60n)));
  assert.throws(() => tensorFromArray('bad', Float32Array.of(1, 2, 3), [2, 2]), /expected 4 values for shape \[2,2\], got 3/);
});

test('bytes that are not a ModelProto raise a TeacherError', () => {
  assert.throws(() => decodeModel(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0x0f)), TeacherError);
});
