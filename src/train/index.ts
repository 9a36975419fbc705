export { BEST_DIR, train, type TrainOptions, type TrainSummary } from './run.js';
export { observeEvaluation, metricValue, type SelectableMetric, type SelectionState } from './selection.js';
export { evaluate, type EvalMetrics } from './evaluate.js';
export { trainStep, logitRows, type StepResult } from './step.js';
export { saveStudent, loadStudent, type SavedStudentJson } from './save.js';
export { saveCheckpoint, loadLatestCheckpoint, listCheckpoints, type Checkpoint, type TrainPosition } from './checkpoint.js';
export { studentSpecFor, type StudentInput } from './student-spec.js';
export { openVerifiedCache } from './caches.js';
export { initialStudentWeights } from './init.js';
