export { mlpGraph, cnnGraph } from './classifiers.js';
export { gptGraph } from './gpt.js';
export { denseStack } from './dense-stack.js';
export { checkWeights, initializerWeights, inputWeights, type WeightLayout, type WeightSource } from './weights.js';
export type { DropoutSite, MaskShape, StudentGraphOptions } from './dropout.js';
export { studentModel, STUDENT_OPSET, type StudentModelOptions } from './model.js';
