export { precompute, draftOf, type PrecomputeOptions, type PrecomputeSummary } from './run.js';
export { planPrecompute, type PrecomputePlan } from './plan.js';
export { runShards, shardsAhead, storedCodes, type PipelineOptions } from './pipeline.js';
export { ShardWriterThread } from './shard-writer.js';
export { shardPayload, shardTable, type ShardColumn, type ShardPayload, type StoredCodes } from './transfer.js';
export { teacherBatch, uniforms, UNIFORMS, type BatchOutput } from './batch.js';
export * from './head/index.js';
