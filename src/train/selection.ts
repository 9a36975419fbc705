import { TrainError } from '../core/errors/index.js';
import type { SELECTABLE_METRICS } from '../recipe/index.js';
import type { EvalMetrics } from './evaluate.js';

/** A held-out metric a run selects or stops by. */
export type SelectableMetric = (typeof SELECTABLE_METRICS)[number];

/** Which way is better for each metric. */
const HIGHER_IS_BETTER: Record<SelectableMetric, boolean> = {
  loss: false, ce: false, accuracy: true, errors: false, agreement: true, kl_to_teacher: false, bits_per_byte: false, perplexity: false,
};

/** Where selection and early stopping stand; saved in every checkpoint so --resume continues them. */
export interface SelectionState {
  /** Best value of the selected metric so far, and its step. */
  best?: { metric: SelectableMetric; value: number; step: number };
  /** Early stopping: best value of its metric and evaluations since it last improved by min_delta. */
  stop?: { metric: SelectableMetric; value: number; step: number; evalsWithoutImprovement: number };
}

/** What an evaluation meant for selection and stopping. */
export interface SelectionVerdict {
  /** This evaluation is the new best: keep its weights. */
  newBest: boolean;
  /** Early stopping says stop now, and why. */
  stop?: string;
}

/** The value of `metric` in an evaluation, refusing a metric this task does not have (e.g. bits_per_byte of a classifier). */
export function metricValue(m: EvalMetrics, metric: SelectableMetric): number {
  const v = m[metric];
  if (v === undefined) throw new TrainError(`held-out metric '${metric}' is not computed for this cache (it has ${Object.keys(m).filter((k) => k !== 'positions').join(', ')}); choose one of those for train.select_best / train.early_stop.metric`);
  return v;
}

const better = (metric: SelectableMetric, a: number, b: number, minDelta = 0): boolean =>
  HIGHER_IS_BETTER[metric] ? a > b + minDelta : a < b - minDelta;

/** Updates `state` with the evaluation at `step` and says whether it is a new best and whether to stop. */
export function observeEvaluation(
  state: SelectionState, step: number, m: EvalMetrics,
  settings: { selectBest?: SelectableMetric; earlyStop?: { metric: SelectableMetric; patience: number; min_delta: number } },
): SelectionVerdict {
  const verdict: SelectionVerdict = { newBest: false };
  if (settings.selectBest) {
    const value = metricValue(m, settings.selectBest);
    if (!state.best || better(settings.selectBest, value, state.best.value)) {
      state.best = { metric: settings.selectBest, value, step };
      verdict.newBest = true;
    }
  }
  const es = settings.earlyStop;
  if (es) {
    const value = metricValue(m, es.metric);
    if (!state.stop || better(es.metric, value, state.stop.value, es.min_delta)) {
      state.stop = { metric: es.metric, value, step, evalsWithoutImprovement: 0 };
    } else {
      state.stop.evalsWithoutImprovement++;
      if (state.stop.evalsWithoutImprovement >= es.patience) {
        verdict.stop = `${es.metric} has not improved by more than ${es.min_delta} for ${es.patience} evaluation${es.patience === 1 ? '' : 's'} (best ${+state.stop.value.toFixed(6)} at step ${state.stop.step})`;
      }
    }
  }
  return verdict;
}
