import { encodeModel } from '../../core/onnx/index.js';
import type { StudentSpec, WeightMap } from '../../train/students/index.js';
import { STUDENT_OPSET, studentModel, type StudentModelOptions } from '../../train/students/onnx/index.js';

/** Options of exportStudentToOnnx. */
export type ExportOptions = StudentModelOptions;

/** Default-domain opset of exported students. */
export const EXPORT_OPSET = STUDENT_OPSET;

/** The student as ONNX model bytes: its inference graph (studentModel) with the weights as initializers. */
export function exportStudentToOnnx(spec: StudentSpec, weights: WeightMap, opts: ExportOptions = {}): Uint8Array {
  return encodeModel(studentModel(spec, weights, opts));
}
