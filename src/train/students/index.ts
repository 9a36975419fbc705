export * from './spec.js';
export * from './params.js';
export * from './forward.js';
export * from './student.js';
export { validateSpec } from './validate.js';
export { mlpForward, mlpFlops, mlpParamDefs } from './mlp.js';
export { cnnForward, cnnFlops, cnnParamDefs } from './cnn.js';
export { gptForward, gptFlops, gptParamDefs, checkTokenIds } from './gpt.js';
export { lowRankSpec, fullRankSpec, teacherDenseLayers, teacherSvdWeights, type DenseLayer } from './low-rank.js';
