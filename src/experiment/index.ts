export { distillAndCompare, nameRows, readRun, type DistillSummary, type EvalRow } from './run.js';
export { runStage } from './child.js';
export { runStageHere, type StageRequest, type StageResult, type StageResults } from './stages.js';
