/**
 * kennis: offline knowledge distillation. The CLI (src/cli) is a thin layer over this API.
 *
 * Stage 1 (precompute) runs an ONNX teacher once and writes a content-addressed cache of soft
 * targets; stage 2 (train) streams that cache into a student. src/README.md describes the layers.
 */
export * from './core/errors/index.js';
export { VERSION } from './core/version.js';

// recipes
export { loadRecipe, validateRecipe, applyOverrides, recipeToYaml, datasetSpecOf, datasetSpecFor, recipeSchema, locateCache } from './recipe/index.js';
export { copyRecipe, listRecipes } from './recipe/index.js';
export type { DatasetSourceOptions, BuiltinRecipe } from './recipe/index.js';
export type { Recipe, LoadedRecipe } from './recipe/index.js';

// data
export { openDataset, BUILTIN_DATASETS } from './data/index.js';
export type { Dataset, DatasetSpec, Split } from './data/index.js';

// stage 1
export { precompute, planPrecompute } from './precompute/index.js';
export type { PrecomputeSummary, PrecomputeOptions } from './precompute/index.js';
export { mergeCache, mergeIfComplete, resolveWorker, parseWorkerSpec, workerFromEnv } from './precompute/distributed/index.js';
export type { MergeSummary, AutoMerge, WorkerRun, DetectedWorker } from './precompute/distributed/index.js';
export type { TargetSpec, TargetKind } from './cache/targets/index.js';
export { appendSoftTargetHead } from './precompute/index.js';
export { inspectModel, GraphBuilder, encodeModel, decodeModel } from './core/onnx/index.js';

// the cache
export { readManifest, verifyCache, cacheInfo, readShards, cacheKey, CacheWriter, encodeShard, decodeShard } from './cache/index.js';
export type { Manifest, ShardEntry, VerifyReport, CacheInfo } from './cache/index.js';
export { CacheLoader } from './train/loader/index.js';
export type { LoaderBatch, LoaderOptions } from './train/loader/index.js';

// stage 2
export { kdLoss, kdLossSum, hardLabelLoss, kdMetrics, klDivergence, distillationLoss } from './train/losses/index.js';
export type { TeacherTargets, Divergence, TopkTail, DistillOptions, KdLossOptions } from './train/losses/index.js';
export { train, evaluate, loadStudent, saveStudent } from './train/index.js';
export type { TrainSummary, TrainOptions, EvalMetrics } from './train/index.js';
export { buildStudent, lowRankSpec, teacherDenseLayers, teacherSvdWeights } from './train/students/index.js';
export { initialStudentWeights } from './train/index.js';
export type { Student, StudentSpec, MlpSpec, CnnSpec, GptSpec, DenseLayer } from './train/students/index.js';
export { AdamW, SGD, cosineWithWarmup, constant, clipByGlobalNorm } from './train/optim/index.js';
export { selectBackend } from './train/backend/index.js';
export { SummaryWriter, graphDefFromOnnx, flattenHParams, histogramOf, memoryScalars, PhaseTimes } from './train/tensorboard/index.js';
export type { GraphDef, HParamValue, HParamsMetric, HParamsOptions, SessionStatus } from './train/tensorboard/index.js';

// the whole experiment
export { distillAndCompare, sweep } from './experiment/index.js';
export type { DistillSummary, EvalRow, SweepCell, SweepOptions, SweepSummary } from './experiment/index.js';

// after training: export, evaluation, report
export { exportRun, exportStudentToOnnx, checkExport, quantizeModel } from './evaluate/export/index.js';
export type { ExportSummary, ExportRunOptions, ExportOptions, QuantizedSummary, QuantizeMode, QuantizeOptions, QuantizeResult } from './evaluate/export/index.js';
export { evaluateModels } from './evaluate/eval/index.js';
export type { EvalOptions, EvalReport, ModelEval } from './evaluate/eval/index.js';
export { writeReport, renderReportHtml } from './evaluate/report/index.js';
export { showCacheRow, formatCacheRow } from './evaluate/inspect/index.js';
export type { CacheRowView, CacheShowOptions, PositionView, CandidateView } from './evaluate/inspect/index.js';
export { loadTokenizer } from './data/index.js';
export type { TextTokenizer, DatasetTokenizer, TokenizeOptions } from './data/index.js';

// formatting shared with the CLI
export { formatBytes } from './core/util/format.js';
