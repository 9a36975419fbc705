import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KennisError } from '../../core/errors/index.js';
import type { DatasetSpec, Split } from '../../data/index.js';
import { datasetSpecOf, loadRecipe } from '../../recipe/index.js';
import { BEST_DIR, MODEL_STUDENT_FILE, loadStudent, lockRunDir } from '../../train/index.js';
import { decodeModel } from '../../core/onnx/index.js';
import { makeDir, writeFileAtomic } from '../../core/util/index.js';
import { countParameters, evaluateModels } from '../eval/index.js';
import { checkExport } from './check.js';
import { exportStudentToOnnx } from './export.js';
import { quantizeModel, type QuantizeMode } from './quantize.js';

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
  /** Which weights: the best evaluation's (train.select_best) or the last step's. */
  weights: 'best' | 'last';
  /** With `quantize`: the quantized model and how it compares with the fp32 one (`file`) on the test split. */
  quantized?: QuantizedSummary;
}

/** The quantized student exportRun wrote, checked against the fp32 student. */
export interface QuantizedSummary {
  /** int8 or float16. */
  mode: QuantizeMode;
  /** The .onnx file written. */
  file: string;
  /** Its size in bytes. */
  bytes: number;
  /** fp32 bytes / these bytes. */
  sizeRatio: number;
  /** Weight tensors stored in lower precision. */
  weights: number;
  /** Dataset and split of the comparison, and its rows. */
  dataset: string;
  split: Split;
  rows: number;
  /** Fraction of rows (positions) whose top-1 equals the fp32 student's. */
  agreement: number;
  /** Largest |quantized - fp32| logit. */
  maxAbsLogitDiff: number;
  /** Mean KL(fp32 || quantized) in nats. */
  klToFp32: number;
  /** Top-1 accuracy of the fp32 and the quantized student when the split has labels. */
  fp32Accuracy?: number;
  accuracy?: number;
}

/** Options of exportRun. */
export interface ExportRunOptions {
  /** Allowed logit difference, relative to max(1, |logit|) (default 1e-4). */
  tolerance?: number;
  /** Also write the student with int8 or float16 weights (default file `<run>/student-<mode>.onnx`, or `outFile`; the fp32 student then goes to `<run>/student.onnx`). */
  quantize?: QuantizeMode;
  /** Dataset the quantized student is compared on (default: the run's recipe.yaml dataset, test split). */
  dataset?: DatasetSpec;
  /** Export the last step's student even when the run kept a best one (train.select_best). */
  last?: boolean;
  /** Receives one-line warnings (a crashed writer's lock on the run taken over); default: none. */
  onWarning?: (message: string) => void;
}

/**
 * Exports the student a `kennis train` run saved in `runDir/student` to ONNX (default
 * `runDir/student.onnx`), after checking onnxruntime's logits against the tfjs student's on
 * deterministic inputs; a mismatch is a KennisError and nothing is written. With `quantize`, the
 * fp32 student is also rewritten with int8 or float16 weights (quantizeModel) and compared with
 * the fp32 one in onnxruntime on the test split of the run's dataset.
 */
export async function exportRun(runDir: string, outFile?: string, opts: ExportRunOptions = {}): Promise<ExportSummary> {
  // one writer per run directory: no export of a student that train is rewriting, no two exports racing
  // (a missing run is left to loadStudent, which says what a run directory must hold)
  const lock = statSync(runDir, { throwIfNoEntry: false })?.isDirectory() ? await lockRunDir(runDir, opts.onWarning ?? (() => undefined)) : undefined;
  try {
    return await exportLocked(runDir, outFile, opts);
  } finally {
    await lock?.release();
  }
}

async function exportLocked(runDir: string, outFile: string | undefined, opts: ExportRunOptions): Promise<ExportSummary> {
  // a run that selected its best evaluation exports that one unless the last step is asked for
  const from = !opts.last && existsSync(join(runDir, BEST_DIR, 'best.json')) ? BEST_DIR : 'student';
  const { bytes, parameters, maxAbsDiff } = await studentBytes(join(runDir, from), opts);
  const dataset = opts.quantize ? opts.dataset ?? runTestSplit(runDir) : undefined;
  const file = resolve(opts.quantize || !outFile ? join(runDir, 'student.onnx') : outFile);
  await writeModel(file, bytes, outFile);
  const summary: ExportSummary = { file, bytes: bytes.length, parameters, maxAbsDiff, weights: from === BEST_DIR ? 'best' : 'last' };
  if (opts.quantize) {
    const quantized = quantizeModel(bytes, opts.quantize);
    const qFile = resolve(outFile ?? join(runDir, `student-${opts.quantize}.onnx`));
    await writeModel(qFile, quantized.bytes, outFile);
    const report = await evaluateModels([file, qFile], { dataset: dataset!, repeats: 1, latencyBatch: 1 });
    const [fp32, q] = report.models as [typeof report.models[0], typeof report.models[0]];
    summary.quantized = {
      mode: opts.quantize, file: qFile, bytes: quantized.bytes.length, sizeRatio: bytes.length / quantized.bytes.length,
      weights: quantized.weights.length, dataset: report.dataset, split: report.split, rows: report.rows,
      agreement: q.agreement, maxAbsLogitDiff: q.maxAbsLogitDiff, klToFp32: q.klToReference,
      ...(fp32.accuracy !== undefined ? { fp32Accuracy: fp32.accuracy } : {}), ...(q.accuracy !== undefined ? { accuracy: q.accuracy } : {}),
    };
  }
  return summary;
}

/**
 * The ONNX bytes of a saved student: a kennis student is exported and checked against its
 * training forward; a model student (student.arch onnx) was saved as the trained model itself.
 */
async function studentBytes(dir: string, opts: ExportRunOptions): Promise<{ bytes: Uint8Array; parameters: number; maxAbsDiff: number }> {
  const model = join(dir, MODEL_STUDENT_FILE);
  if (existsSync(model)) {
    const bytes = new Uint8Array(readFileSync(model));
    return { bytes, parameters: countParameters(decodeModel(bytes).graph ?? {}), maxAbsDiff: 0 };
  }
  const { spec, inputColumn, weights } = loadStudent(dir);
  const bytes = exportStudentToOnnx(spec, weights, { inputName: inputColumn });
  const check = await checkExport(spec, weights, bytes, { inputName: inputColumn, ...(opts.tolerance !== undefined ? { tolerance: opts.tolerance } : {}) });
  return { bytes, parameters: Object.values(weights).reduce((n, w) => n + w.data.length, 0), maxAbsDiff: check.maxAbsDiff };
}

/** Writes an exported model; a full, read-only or misnamed target is one line naming --out when it chose the file. */
async function writeModel(file: string, bytes: Uint8Array, outFile: string | undefined): Promise<void> {
  const where = outFile !== undefined && resolve(outFile) === file ? { setting: '--out' } : {};
  await makeDir(dirname(file), where);
  await writeFileAtomic(file, bytes, where);
}

/** The test split of the dataset the run was trained on, from the recipe.yaml kennis train saved. */
function runTestSplit(runDir: string): DatasetSpec {
  const recipe = join(runDir, 'recipe.yaml');
  if (!existsSync(recipe)) {
    throw new KennisError(`run ${runDir} has no recipe.yaml, so --quantize cannot find the test split to check the quantized student on; export a run written by kennis train`);
  }
  return datasetSpecOf(loadRecipe(recipe), 'test');
}
