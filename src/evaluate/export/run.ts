import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadStudent } from '../../train/index.js';
import { writeFileAtomic } from '../../core/util/index.js';
import { checkExport } from './check.js';
import { exportStudentToOnnx } from './export.js';

/** What exportRun wrote. */
export interface ExportSummary {
  /** The .onnx file written. */
  file: string;
  /** Its size in bytes. */
  bytes: number;
  /** Student parameters (sum of weight sizes). */
  parameters: number;
  /** Largest |onnxruntime - tfjs| logit difference on the check inputs. */
  maxAbsDiff: number;
}

/** Options of exportRun. */
export interface ExportRunOptions {
  /** Allowed logit difference, relative to max(1, |logit|) (default 1e-4). */
  tolerance?: number;
}

/**
 * Exports the student a `kennis train` run saved in `runDir/student` to ONNX (default
 * `runDir/student.onnx`), after checking onnxruntime's logits against the tfjs student's on
 * deterministic inputs; a mismatch is a KennisError and nothing is written.
 */
export async function exportRun(runDir: string, outFile?: string, opts: ExportRunOptions = {}): Promise<ExportSummary> {
  const { spec, inputColumn, weights } = loadStudent(join(runDir, 'student'));
  const bytes = exportStudentToOnnx(spec, weights, { inputName: inputColumn });
  const check = await checkExport(spec, weights, bytes, { inputName: inputColumn, ...(opts.tolerance !== undefined ? { tolerance: opts.tolerance } : {}) });
  const file = resolve(outFile ?? join(runDir, 'student.onnx'));
  mkdirSync(dirname(file), { recursive: true });
  await writeFileAtomic(file, bytes);
  const parameters = Object.values(weights).reduce((n, w) => n + w.data.length, 0);
  return { file, bytes: bytes.length, parameters, maxAbsDiff: check.maxAbsDiff };
}
