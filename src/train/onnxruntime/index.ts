export { OnnxTrainer, type OnnxTrainerOptions } from './trainer.js';
export { OnnxOptimizer } from './optimizer.js';
export { kdLossGraph, rowInputs, type LossGraphSpec, type LossSums, type RowInputs } from './loss-graph.js';
export { stepGraph, evalGraph, TRAIN_OPSET } from './graphs.js';
