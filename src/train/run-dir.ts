import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { acquireLock, type CacheLock } from '../cache/index.js';
import { TrainError, withFileErrorsSync } from '../core/errors/index.js';
import { makeDir, writeFileAtomic } from '../core/util/fs.js';
import { recipeToYaml, validateRecipe, type Recipe } from '../recipe/index.js';

/** Files and directories of a run that --overwrite replaces. */
export const RUN_OUTPUTS = ['metrics.jsonl', 'tensorboard', 'checkpoints', 'student', 'best', 'recipes'] as const;

/** The recipe a run was last (re)started with; every start is also kept in RECIPE_HISTORY. */
export const RUN_RECIPE = 'recipe.yaml';
/** One recipe per start or resume of a run, numbered in order: 0001.yaml, 0002.yaml, ... */
export const RECIPE_HISTORY = 'recipes';

/**
 * Recipe keys a resume may change: they decide where files are, how often things are logged or
 * saved, and which threads run, but not what is trained. Any other change (lr, alpha, temperature,
 * batch size, steps and epochs, which set the schedule, targets, student, data) would give weights
 * that match neither recipe.
 */
const BOOKKEEPING_KEYS = [
  'output.dir', 'cache.root', 'cache.dir', 'cache.concurrency', 'teacher.path', 'teacher.threads', 'teacher.batch_size', 'teacher.providers',
  'train.backend', 'train.threads', 'train.eval_every', 'train.eval_split', 'train.checkpoint_every', 'train.log_every', 'train.histogram_every',
  'train.select_best', 'train.early_stop',
];

/** How a run opens its output directory. */
export interface RunDirOptions {
  resume?: boolean;
  overwrite?: boolean;
  /** Resume even when the recipe changed in ways that alter training. */
  allowRecipeChange?: boolean;
  /** Receives warnings (a stale lock of a crashed run taken over, recipe changes allowed). */
  onWarning: (message: string) => void;
}

/** An output directory held by this run until release(). */
export interface RunDir {
  dir: string;
  /** Records the recipe in the run's history and as recipe.yaml; called once what is resumed checked out, so a refused resume changes nothing. */
  recordRecipe(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes the run directory for one writer: creates it (a file system error names output.dir),
 * locks it as precompute locks its cache (a crashed run's lock is taken over), and checks the
 * flags against what it holds: --resume with --overwrite, --resume of nothing, a start over an
 * earlier run without --overwrite, and a resume whose recipe changed what is trained are refused.
 */
export async function openRunDir(dir: string, recipe: Recipe, options: RunDirOptions): Promise<RunDir> {
  checkRunFlags(options);
  if (options.resume && !existsSync(join(dir, RUN_RECIPE))) throw nothingToResume(dir);
  // before the run exists there is nothing to resume: the fix is a plain rerun
  const where = { setting: 'output.dir', rerun: 'rerun' };
  await makeDir(dir, { action: 'creating output directory', ...where });
  const lock = await lockRunDir(dir, options.onWarning);
  try {
    const held = RUN_OUTPUTS.filter((name) => existsSync(join(dir, name)));
    if (options.resume) {
      // checked again under the lock: a concurrent --overwrite may have removed it
      if (!existsSync(join(dir, RUN_RECIPE))) throw nothingToResume(dir);
      checkResumedRecipe(dir, recipe, options);
    } else if (held.includes('metrics.jsonl')) {
      if (!options.overwrite) throw new TrainError(`output.dir ${dir} already holds a run; pass --resume to continue it, --overwrite to replace it, or set output.dir`);
      withFileErrorsSync({ action: 'replacing the run in', path: dir, ...where }, () => {
        for (const old of held) rmSync(join(dir, old), { recursive: true, force: true });
      });
    }
  } catch (e) {
    await lock.release();
    throw e;
  }
  return { dir, recordRecipe: () => recordRecipe(dir, recipe), release: () => lock.release() };
}

/** Takes the writer lock of an existing run directory (train, export), taking over a crashed writer's; a live one is a TrainError naming it. */
export function lockRunDir(dir: string, onWarning: (message: string) => void): Promise<CacheLock> {
  return acquireLock(dir, onWarning, { label: 'run directory', errorClass: TrainError });
}

/** Flags that contradict each other, refused before anything is loaded. */
export function checkRunFlags(options: Pick<RunDirOptions, 'resume' | 'overwrite'>): void {
  if (options.resume && options.overwrite) {
    throw new TrainError('--resume continues the run in output.dir and --overwrite replaces it; pass one of them');
  }
}

function nothingToResume(dir: string): TrainError {
  return new TrainError(`--resume: output.dir ${dir} holds no run to resume (no ${RUN_RECIPE}); drop --resume to start one, or set output.dir to the run's directory`);
}

/** The dotted keys whose values differ between two recipes, with both values. */
export function recipeChanges(before: Recipe, after: Recipe): { key: string; before: unknown; after: unknown }[] {
  const a = flatten(before);
  const b = flatten(after);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => a[k] !== b[k]).map((k) => ({ key: k, before: parseLeaf(a[k]), after: parseLeaf(b[k]) }));
}

/** Whether changing `key` between the start and a resume of a run leaves what is trained as it was. */
export function isBookkeepingKey(key: string): boolean {
  return BOOKKEEPING_KEYS.some((k) => key === k || key.startsWith(`${k}.`));
}

function checkResumedRecipe(dir: string, recipe: Recipe, options: RunDirOptions): void {
  const file = join(dir, RUN_RECIPE);
  let before: Recipe;
  try {
    before = validateRecipe(parseYaml(readFileSync(file, 'utf8')));
  } catch (e) {
    throw new TrainError(`--resume: the run's ${file} cannot be read as a recipe (${(e as Error).message.split('\n')[0]}); restore it, or start a new run in another output.dir`);
  }
  const changed = recipeChanges(before, recipe).filter((c) => !isBookkeepingKey(c.key));
  if (changed.length === 0) return;
  const list = changed.slice(0, 6).map((c) => `${c.key} ${show(c.before)} -> ${show(c.after)}`).join(', ') + (changed.length > 6 ? `, and ${changed.length - 6} more` : '');
  if (!options.allowRecipeChange) {
    throw new TrainError(`--resume: the recipe changed what is trained since the run in ${dir} started (${list}); the weights would match neither recipe: undo the changes, set output.dir to start a new run, or pass --allow-recipe-change to continue anyway`);
  }
  options.onWarning(`resuming ${dir} with a changed recipe (${list}), as --allow-recipe-change asks`);
}

/** Writes the recipe as the next entry of the run's history and as recipe.yaml. */
async function recordRecipe(dir: string, recipe: Recipe): Promise<void> {
  const history = join(dir, RECIPE_HISTORY);
  const where = { setting: 'output.dir', rerun: 'rerun' };
  await makeDir(history, where);
  const numbers = readdirSync(history).map((n) => /^(\d+)\.yaml$/.exec(n)?.[1]).filter((n) => n !== undefined).map(Number);
  const next = String(Math.max(0, ...numbers) + 1).padStart(4, '0');
  const yaml = recipeToYaml(recipe);
  await writeFileAtomic(join(history, `${next}.yaml`), yaml, where);
  await writeFileAtomic(join(dir, RUN_RECIPE), yaml, where);
}

/** Leaves of a plain object as dotted key -> JSON (arrays are leaves). */
function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) {
    out[prefix] = JSON.stringify(value);
  }
  return out;
}

function parseLeaf(json: string | undefined): unknown {
  return json === undefined ? undefined : JSON.parse(json);
}

function show(v: unknown): string {
  return v === undefined ? '(unset)' : JSON.stringify(v);
}
