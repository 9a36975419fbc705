import { MAX_WORKERS, checkWorker, type WorkerId } from '../../cache/workers.js';
import { KennisError } from '../../core/errors/index.js';

/** A worker id and where it came from (the flag or the environment variables read), for messages and summaries. */
export interface DetectedWorker extends WorkerId {
  /** `--worker`, or the environment variables it was read from. */
  source: string;
}

/** Environment variables read by `--worker auto` (and KENNIS_WORKER=auto). */
export const WORKER_ENV = {
  /** `i/n` or `auto`: the same as --worker, for schedulers where changing the command is awkward. */
  spec: 'KENNIS_WORKER',
  /** Explicit 0-based index (with KENNIS_WORKER_COUNT). */
  index: 'KENNIS_WORKER_INDEX',
  /** Number of workers; also the count for Kubernetes Indexed Jobs, which do not expose `completions` to pods. */
  count: 'KENNIS_WORKER_COUNT',
  /** Kubernetes Indexed Job: the pod's completion index, 0..completions-1. */
  k8sIndex: 'JOB_COMPLETION_INDEX',
  /** Slurm job arrays: this task's id, the array's size, its smallest id and its step. */
  slurmId: 'SLURM_ARRAY_TASK_ID',
  slurmCount: 'SLURM_ARRAY_TASK_COUNT',
  slurmMin: 'SLURM_ARRAY_TASK_MIN',
  slurmStep: 'SLURM_ARRAY_TASK_STEP',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

function fail(message: string): never {
  throw new KennisError(message);
}

function integer(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) fail(`environment variable ${name} is '${raw}', expected a non-negative integer`);
  return Number(raw.trim());
}

/** Parses `i/n` (0-based index i of n workers), e.g. `3/4`; `where` names the flag or variable in errors. */
export function parseWorkerSpec(text: string, where = '--worker'): WorkerId {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) fail(`${where} is '${text}', expected i/n (0-based worker index of n workers, e.g. 0/4) or auto`);
  const w = { index: Number(m[1]), count: Number(m[2]) };
  if (w.count < 1 || w.count > MAX_WORKERS) fail(`${where} is '${text}', expected 1..${MAX_WORKERS} workers`);
  if (w.index >= w.count) fail(`${where} is '${text}', expected an index in 0..${w.count - 1} for ${w.count} workers (indexes are 0-based)`);
  return w;
}

/**
 * The worker id the environment describes, or undefined: KENNIS_WORKER_INDEX/COUNT, a Kubernetes
 * Indexed Job (JOB_COMPLETION_INDEX with KENNIS_WORKER_COUNT set to the Job's completions), or a
 * Slurm array task ((SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP of
 * SLURM_ARRAY_TASK_COUNT, so --array=1-4 and --array=0-6:2 work too).
 */
export function workerFromEnv(env: Env = process.env): DetectedWorker | undefined {
  const E = WORKER_ENV;
  const count = integer(env, E.count);
  for (const indexVar of [E.index, E.k8sIndex]) {
    const index = integer(env, indexVar);
    if (index === undefined) continue;
    if (count === undefined) fail(`${indexVar} is ${index} but ${E.count} is not set; set ${E.count} to the number of workers (for a Kubernetes Indexed Job: its completions)`);
    return found({ index, count }, `${indexVar}=${index}, ${E.count}=${count}`);
  }
  const id = integer(env, E.slurmId);
  if (id === undefined) return undefined;
  const n = integer(env, E.slurmCount) ?? fail(`${E.slurmId} is ${id} but ${E.slurmCount} is not set; kennis needs Slurm 18.08 or newer, or set ${E.index} and ${E.count}`);
  const min = integer(env, E.slurmMin) ?? 0;
  const step = integer(env, E.slurmStep) ?? 1;
  const offset = id - min;
  const source = `${E.slurmId}=${id}, ${E.slurmMin}=${min}, ${E.slurmCount}=${n}${step !== 1 ? `, ${E.slurmStep}=${step}` : ''}`;
  if (step < 1 || offset < 0 || offset % step !== 0 || offset / step >= n) fail(`${source} does not give a worker index in 0..${n - 1}; use a contiguous array such as --array=0-${n - 1}`);
  return found({ index: offset / step, count: n }, source);
}

function found(w: WorkerId, source: string): DetectedWorker {
  try {
    checkWorker(w, source);
  } catch (e) {
    fail(`${(e as Error).message}; the array or Job must have as many tasks as workers, indexed from 0 (or from SLURM_ARRAY_TASK_MIN)`);
  }
  return { ...w, source };
}

/**
 * The worker this process is: `--worker i/n`, `--worker auto` (from the environment; an error
 * when it describes none), KENNIS_WORKER (i/n or auto) when the flag is absent, or undefined for
 * a single-process run. Scheduler variables alone never make a run distributed, so a plain job
 * array that runs different recipes per task is not split by surprise.
 */
export function resolveWorker(flag: string | undefined, env: Env = process.env): DetectedWorker | undefined {
  const spec = flag ?? (env[WORKER_ENV.spec] || undefined);
  if (spec === undefined) return undefined;
  const where = flag !== undefined ? '--worker' : WORKER_ENV.spec;
  if (spec.trim() !== 'auto') return { ...parseWorkerSpec(spec, where), source: where };
  return workerFromEnv(env) ?? fail(`${where} is auto but no worker is described by the environment; set ${WORKER_ENV.k8sIndex} (Kubernetes Indexed Job) or ${WORKER_ENV.slurmId} (Slurm array), with ${WORKER_ENV.count} or ${WORKER_ENV.slurmCount}, or pass --worker i/n`);
}
