import { TrainError } from '../../core/errors/index.js';

/** Learning rate as a function of the 0-based index of the step about to be taken (optimizer.stepCount). */
export type LrSchedule = (step: number) => number;

/** Cosine-with-warmup schedule options. */
export interface CosineWithWarmupOptions {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Steps of linear warmup from 0 to lr. */
  warmupSteps: number;
  /** Step at which the cosine reaches minLr (and stays there). */
  totalSteps: number;
  /** Final learning rate. */
  minLr?: number;
}

/** The same learning rate at every step. */
export function constant(lr: number): LrSchedule {
  if (!Number.isFinite(lr) || lr < 0) throw new TrainError(`learning rate must be a finite number >= 0, got ${lr}; set optimizer.lr`);
  return () => lr;
}

/**
 * Linear warmup lr * step / warmupSteps for step < warmupSteps, then
 * minLr + (lr - minLr) * (1 + cos(pi * (step - warmupSteps) / (totalSteps - warmupSteps))) / 2,
 * and minLr from totalSteps on (same shape as HF get_cosine_schedule_with_warmup, plus a floor).
 */
export function cosineWithWarmup(options: CosineWithWarmupOptions): LrSchedule {
  const { lr, warmupSteps, totalSteps, minLr = 0 } = options;
  if (!Number.isFinite(lr) || lr < 0) throw new TrainError(`schedule lr must be a finite number >= 0, got ${lr}; set optimizer.lr`);
  if (!Number.isFinite(minLr) || minLr < 0 || minLr > lr) {
    throw new TrainError(`schedule minLr must be in [0, lr=${lr}], got ${minLr}; set a smaller minLr`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new TrainError(`schedule totalSteps must be an integer >= 1, got ${totalSteps}; set the number of training steps`);
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps > totalSteps) {
    throw new TrainError(`schedule warmupSteps must be an integer in [0, totalSteps=${totalSteps}], got ${warmupSteps}; lower warmupSteps`);
  }
  return (rawStep) => {
    const step = Math.max(0, rawStep);
    if (step < warmupSteps) return (lr * step) / warmupSteps;
    if (step >= totalSteps) return minLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return minLr + ((lr - minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
  };
}
