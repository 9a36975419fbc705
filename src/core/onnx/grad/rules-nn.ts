import type { GradientRule } from './context.js';

/** Rules for normalization, convolution and pooling. */
export const NN_RULES: Record<string, GradientRule> = {};
