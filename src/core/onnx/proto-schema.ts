/**
 * The subset of onnx.proto (package `onnx`, proto2) kennis reads and writes, as a protobufjs JSON
 * descriptor. Field numbers follow github.com/onnx/onnx/blob/main/onnx/onnx.proto exactly; fields
 * not listed here (e.g. device configurations) survive a round trip as unknown fields.
 * Enum-typed fields are declared int32 (same varint wire format) so values stay plain numbers.
 */
import type protobuf from 'protobufjs';

type FieldJson = protobuf.IField;

const f = (type: string, id: number): FieldJson => ({ type, id });
const r = (type: string, id: number): FieldJson => ({ type, id, rule: 'repeated' });
// onnx.proto marks the numeric data arrays of TensorProto [packed = true]; others are proto2-unpacked.
const packed = (type: string, id: number): FieldJson => ({ type, id, rule: 'repeated', options: { packed: true } });

// Each type must say proto2 itself: protobufjs treats JSON descriptors as proto3 by default, which
// would drop explicitly set defaults such as dim_value = 0 and write repeated scalars packed.
const message = (fields: Record<string, FieldJson>, nested?: Record<string, protobuf.IType>): protobuf.IType =>
  (nested ? { edition: 'proto2', fields, nested } : { edition: 'proto2', fields });

export const ONNX_SCHEMA: protobuf.INamespace = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: message({ key: f('string', 1), value: f('string', 2) }),
        OperatorSetIdProto: message({ domain: f('string', 1), version: f('int64', 2) }),
        AttributeProto: message({
          name: f('string', 1), refAttrName: f('string', 21), docString: f('string', 13), type: f('int32', 20),
          f: f('float', 2), i: f('int64', 3), s: f('bytes', 4), t: f('TensorProto', 5), g: f('GraphProto', 6),
          sparseTensor: f('SparseTensorProto', 22), tp: f('TypeProto', 14),
          floats: r('float', 7), ints: r('int64', 8), strings: r('bytes', 9), tensors: r('TensorProto', 10),
          graphs: r('GraphProto', 11), sparseTensors: r('SparseTensorProto', 23), typeProtos: r('TypeProto', 15),
        }),
        ValueInfoProto: message({
          name: f('string', 1), type: f('TypeProto', 2), docString: f('string', 3),
          metadataProps: r('StringStringEntryProto', 4),
        }),
        NodeProto: message({
          input: r('string', 1), output: r('string', 2), name: f('string', 3), opType: f('string', 4),
          domain: f('string', 7), overload: f('string', 8), attribute: r('AttributeProto', 5),
          docString: f('string', 6), metadataProps: r('StringStringEntryProto', 9),
        }),
        TrainingInfoProto: message({
          initialization: f('GraphProto', 1), algorithm: f('GraphProto', 2),
          initializationBinding: r('StringStringEntryProto', 3), updateBinding: r('StringStringEntryProto', 4),
        }),
        ModelProto: message({
          irVersion: f('int64', 1), opsetImport: r('OperatorSetIdProto', 8), producerName: f('string', 2),
          producerVersion: f('string', 3), domain: f('string', 4), modelVersion: f('int64', 5),
          docString: f('string', 6), graph: f('GraphProto', 7), metadataProps: r('StringStringEntryProto', 14),
          trainingInfo: r('TrainingInfoProto', 20), functions: r('FunctionProto', 25),
        }),
        TensorAnnotation: message({
          tensorName: f('string', 1), quantParameterTensorNames: r('StringStringEntryProto', 2),
        }),
        GraphProto: message({
          node: r('NodeProto', 1), name: f('string', 2), initializer: r('TensorProto', 5),
          sparseInitializer: r('SparseTensorProto', 15), docString: f('string', 10), input: r('ValueInfoProto', 11),
          output: r('ValueInfoProto', 12), valueInfo: r('ValueInfoProto', 13),
          quantizationAnnotation: r('TensorAnnotation', 14), metadataProps: r('StringStringEntryProto', 16),
        }),
        TensorProto: message({
          dims: r('int64', 1), dataType: f('int32', 2), segment: f('Segment', 3), floatData: packed('float', 4),
          int32Data: packed('int32', 5), stringData: r('bytes', 6), int64Data: packed('int64', 7),
          name: f('string', 8), docString: f('string', 12), rawData: f('bytes', 9),
          externalData: r('StringStringEntryProto', 13), dataLocation: f('int32', 14),
          doubleData: packed('double', 10), uint64Data: packed('uint64', 11),
          metadataProps: r('StringStringEntryProto', 16),
        }, { Segment: message({ begin: f('int64', 1), end: f('int64', 2) }) }),
        SparseTensorProto: message({ values: f('TensorProto', 1), indices: f('TensorProto', 2), dims: r('int64', 3) }),
        TensorShapeProto: message({ dim: r('Dimension', 1) }, {
          // oneof value { dim_value, dim_param }: proto2 presence keeps the chosen member on the wire
          Dimension: message({ dimValue: f('int64', 1), dimParam: f('string', 2), denotation: f('string', 3) }),
        }),
        TypeProto: message({
          tensorType: f('Tensor', 1), sequenceType: f('Sequence', 4), mapType: f('Map', 5),
          optionalType: f('Optional', 9), sparseTensorType: f('SparseTensor', 8), opaqueType: f('Opaque', 7),
          denotation: f('string', 6),
        }, {
          Tensor: message({ elemType: f('int32', 1), shape: f('TensorShapeProto', 2) }),
          Sequence: message({ elemType: f('TypeProto', 1) }),
          Map: message({ keyType: f('int32', 1), valueType: f('TypeProto', 2) }),
          Optional: message({ elemType: f('TypeProto', 1) }),
          SparseTensor: message({ elemType: f('int32', 1), shape: f('TensorShapeProto', 2) }),
          Opaque: message({ domain: f('string', 1), name: f('string', 2) }),
        }),
        FunctionProto: message({
          name: f('string', 1), input: r('string', 4), output: r('string', 5), attribute: r('string', 6),
          attributeProto: r('AttributeProto', 11), node: r('NodeProto', 7), docString: f('string', 8),
          opsetImport: r('OperatorSetIdProto', 9), domain: f('string', 10), overload: f('string', 13),
          valueInfo: r('ValueInfoProto', 12), metadataProps: r('StringStringEntryProto', 14),
        }),
      },
    },
  },
};
