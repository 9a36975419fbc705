export { DIVERGENCES, TOPK_TAILS } from './options.js';
export type {
  Divergence, TopkTail, FullTargets, TopkTargets, SampledTargets, TeacherTargets, DistillOptions, KdLossOptions,
} from './options.js';
export { kdLoss, kdLossSum, hardLabelLoss, hardLabelLossSum, type KdLossSum } from './kd.js';
export { meanOf, type MaskedSum } from './mask.js';
export { kdMetrics, kdMetricsSum, type KdMetrics, type KdMetricsSum, type KdMetricsOptions } from './metrics.js';
export { gatherAt, takeAlongRows } from './gather.js';
export { REVERSE_LOG_FLOOR } from './divergence.js';
export { TAIL_NOISE_ULPS } from './buckets.js';
export { klDivergence, distillationLoss, type LogitRows, type KlDivergenceOptions, type DistillationLossOptions } from './plain.js';
