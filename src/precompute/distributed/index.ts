export { parseWorkerSpec, resolveWorker, workerFromEnv, WORKER_ENV, type DetectedWorker } from './env.js';
export { precomputeRange, datasetUpTo, workerRun, type PrecomputeRange, type WorkerRun } from './range.js';
export { distributedStatus, pendingWork, type DistributedStatus, type WorkerStatus } from './status.js';
export { mergeCache, mergeIfComplete, type AutoMerge, type MergeOptions, type MergeSummary } from './merge.js';
