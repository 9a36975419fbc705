export { exportStudentToOnnx, type ExportOptions } from './export.js';
export { checkExport, type CheckOptions, type CheckResult } from './check.js';
export { exportRun, type ExportRunOptions, type ExportSummary, type QuantizedSummary } from './run.js';
export { quantizeModel, quantizePerChannel, QUANTIZATION_METADATA_KEY, type QuantizeMode, type Int8Format, type QuantizeOptions, type QuantizeResult, type QuantizedWeight } from './quantize.js';
