import type { CacheInfo } from '../cache/index.js';
import type { EvalOptions, EvalReport } from '../evaluate/eval/index.js';
import type { ExportSummary } from '../evaluate/export/index.js';
import type { PrecomputeSummary } from '../precompute/index.js';
import type { TrainSummary } from '../train/index.js';

/** A stage to run in its own process, with what it needs (all plain data, sent over IPC). */
export type StageRequest =
  | { stage: 'precompute'; recipe: string; overrides: readonly string[] }
  | { stage: 'train'; recipe: string; overrides: readonly string[]; overwrite?: boolean; resume?: boolean }
  | { stage: 'export'; run: string; quantize?: 'int8' | 'float16' }
  | { stage: 'eval'; models: readonly string[]; options: Omit<EvalOptions, 'progress'> }
  | { stage: 'cache-info'; dir: string };

/** What each stage returns. */
export interface StageResults {
  precompute: PrecomputeSummary;
  train: TrainSummary;
  export: ExportSummary;
  eval: EvalReport;
  'cache-info': CacheInfo;
}

/** The result type of a request. */
export type StageResult<R extends StageRequest> = StageResults[R['stage']];

/** A stage child's messages go to its stderr, which the parent prefixes with the stage's name. */
const childReporter = {
  onLog: (message: string): void => { process.stderr.write(`${message}\n`); },
  onWarning: (message: string): void => { process.stderr.write(`warning: ${message}\n`); },
};

/** Runs a request in this process through the library API (the child side of runStage). */
export async function runStageHere(request: StageRequest): Promise<StageResults[StageRequest['stage']]> {
  switch (request.stage) {
    case 'precompute': {
      const [{ loadRecipe }, { precompute }] = await Promise.all([import('../recipe/index.js'), import('../precompute/index.js')]);
      return precompute(loadRecipe(request.recipe, request.overrides), { onWarning: childReporter.onWarning, progress: true });
    }
    case 'train': {
      const [{ loadRecipe }, { train }] = await Promise.all([import('../recipe/index.js'), import('../train/index.js')]);
      return train(loadRecipe(request.recipe, request.overrides), { ...childReporter, progress: true, overwrite: request.overwrite ?? false, resume: request.resume ?? false });
    }
    case 'export':
      return (await import('../evaluate/export/index.js')).exportRun(request.run, undefined, request.quantize ? { quantize: request.quantize } : {});
    case 'eval':
      return (await import('../evaluate/eval/index.js')).evaluateModels(request.models, { ...request.options, progress: true });
    case 'cache-info':
      return (await import('../cache/index.js')).cacheInfo(request.dir);
  }
}
