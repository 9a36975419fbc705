export { OnnxTrainer, type OnnxTrainerOptions, type ModelTrainerSetup } from './trainer.js';
export { modelGraphs, modelWithWeights, specGraphs, type ModelStudentOptions, type StudentGraphs } from './student-graphs.js';
export { OnnxOptimizer } from './optimizer.js';
export { kdLossGraph, rowInputs, type LossGraphSpec, type LossSums, type RowInputs } from './loss-graph.js';
export { stepGraph, evalGraph, TRAIN_OPSET } from './graphs.js';
