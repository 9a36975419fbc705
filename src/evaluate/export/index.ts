export { exportStudentToOnnx, EXPORT_OPSET, type ExportOptions } from './export.js';
export { checkExport, type CheckOptions, type CheckResult } from './check.js';
export { exportRun, type ExportRunOptions, type ExportSummary } from './run.js';
