export { evaluateModels } from './evaluate.js';
export type { EvalOptions, EvalReport, ModelEval } from './types.js';
export { countParameters, readModelFile, type ModelFile } from './model-file.js';
export { evalBindings } from './inputs.js';
export { rowStats, klSum, type RowStats } from './logits.js';
export { median } from './latency.js';
