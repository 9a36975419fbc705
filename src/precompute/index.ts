export { precompute, type PrecomputeOptions, type PrecomputeSummary } from './run.js';
export { planPrecompute, type PrecomputePlan } from './plan.js';
