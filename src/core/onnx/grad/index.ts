export { appendGradients, GRADIENT_RULES, type GradientOptions } from './gradients.js';
export type { GradContext, GradientRule } from './context.js';
