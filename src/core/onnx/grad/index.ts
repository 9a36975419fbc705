export { appendGradients, GRADIENT_RULES, type GradientOptions } from './gradients.js';
