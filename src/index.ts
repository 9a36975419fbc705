/**
 * kennis: offline knowledge distillation. The CLI (src/cli) is a thin layer over this API.
 *
 * Stage 1 (precompute) runs an ONNX teacher once and writes a content-addressed cache of soft
 * targets; stage 2 (train) streams that cache into a TensorFlow.js student.
 */
export * from './errors/index.js';
export { VERSION } from './version.js';

// recipes
export { loadRecipe, validateRecipe, applyOverrides, recipeToYaml, datasetSpecOf, recipeSchema } from './recipe/index.js';
export type { Recipe, LoadedRecipe } from './recipe/index.js';

// data
export { openDataset } from './datasets/index.js';
export type { Dataset, DatasetSpec, Split } from './datasets/index.js';

// stage 1
export { precompute, planPrecompute } from './precompute/index.js';
export type { PrecomputeSummary, PrecomputeOptions } from './precompute/index.js';
export { mergeCache, mergeIfComplete, resolveWorker, parseWorkerSpec, workerFromEnv } from './distributed/index.js';
export type { MergeSummary, AutoMerge, WorkerRun, DetectedWorker } from './distributed/index.js';
export type { TargetSpec, TargetKind } from './targets/index.js';
export { appendSoftTargetHead, inspectModel, GraphBuilder, encodeModel, decodeModel } from './onnx/index.js';

// the cache
export { readManifest, verifyCache, cacheInfo, readShards, cacheKey, CacheWriter, encodeShard, decodeShard } from './cache/index.js';
export type { Manifest, ShardEntry, VerifyReport, CacheInfo } from './cache/index.js';
export { CacheLoader } from './loader/index.js';
export type { LoaderBatch, LoaderOptions } from './loader/index.js';

// stage 2
export { kdLoss, kdLossSum, hardLabelLoss, kdMetrics, klDivergence, distillationLoss } from './losses/index.js';
export type { TeacherTargets, Divergence, TopkTail, DistillOptions, KdLossOptions } from './losses/index.js';
export { train, evaluate, loadStudent, saveStudent } from './train/index.js';
export type { TrainSummary, TrainOptions, EvalMetrics } from './train/index.js';
export { buildStudent } from './students/index.js';
export type { Student, StudentSpec, MlpSpec, CnnSpec, GptSpec } from './students/index.js';
export { AdamW, SGD, cosineWithWarmup, constant, clipByGlobalNorm } from './optim/index.js';
export { selectBackend } from './backend/index.js';
export { SummaryWriter } from './tensorboard/index.js';

// the whole experiment
export { distillAndCompare } from './pipeline/index.js';
export { writeReport, renderReportHtml } from './report/index.js';
