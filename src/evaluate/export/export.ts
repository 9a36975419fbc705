import { encodeModel } from '../../core/onnx/index.js';
import type { StudentSpec, WeightMap } from '../../train/students/index.js';
import { studentModel, type StudentModelOptions } from '../../train/students/onnx/index.js';

/** Options of exportStudentToOnnx. */
export type ExportOptions = StudentModelOptions;

/** The student as ONNX model bytes: its inference graph (studentModel) with the weights as initializers. */
export function exportStudentToOnnx(spec: StudentSpec, weights: WeightMap, opts: ExportOptions = {}): Uint8Array {
  return encodeModel(studentModel(spec, weights, opts));
}
