export { precompute, type PrecomputeOptions, type PrecomputeSummary } from './run.js';
export { planPrecompute, type PrecomputePlan } from './plan.js';
export { runShards, type PipelineOptions } from './pipeline.js';
export { ShardWriterThread } from './shard-writer.js';
export { shardColumns, shardTable, type ShardColumn } from './transfer.js';
export { teacherBatch, uniforms, UNIFORMS } from './batch.js';
