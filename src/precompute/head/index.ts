/** The soft-target head that precompute appends to the teacher graph (top-k, logsumexp, sampling). */
export * from './sampling.js';
export * from './soft-targets.js';
