export { distillAndCompare, nameRows, readRun, type DistillSummary, type EvalRow } from './run.js';
export { runStage } from './child.js';
