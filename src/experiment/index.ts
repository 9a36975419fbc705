export { distillAndCompare, nameRows, readRun, type DistillSummary, type EvalRow } from './run.js';
export { runStage } from './child.js';
export { runStageHere, type StageRequest, type StageResult, type StageResults } from './stages.js';
export { sweep, sweepTable, type SweepCell, type SweepOptions, type SweepSummary } from './sweep.js';
export { parseGrid, gridCells, splitTopLevel, type GridAxis, type GridCell } from './grid.js';
