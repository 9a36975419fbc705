export type { DecayFilter, Grads, Optimizer, OptimizerState, Params, SlotState } from './types.js';
export { defaultExcludeFromDecay } from './decay.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { SGD, type SGDOptions } from './sgd.js';
export { constant, cosineWithWarmup, type CosineWithWarmupOptions, type LrSchedule } from './schedule.js';
export { clipByGlobalNorm, clipFactor, globalNorm, type ClippedGrads } from './clip.js';
export { GradientAccumulator } from './accumulate.js';
