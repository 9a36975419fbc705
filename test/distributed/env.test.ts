import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkerSpec, resolveWorker, workerFromEnv } from '../../src/precompute/distributed/index.js';

const pick = (w: { index: number; count: number } | undefined) => (w ? { index: w.index, count: w.count } : undefined);

test('--worker i/n is 0-based and checked', () => {
  assert.deepEqual(parseWorkerSpec('3/4'), { index: 3, count: 4 });
  assert.deepEqual(parseWorkerSpec(' 0 / 1 '), { index: 0, count: 1 });
  assert.throws(() => parseWorkerSpec('4/4'), { name: 'KennisError', message: /--worker is '4\/4', expected an index in 0\.\.3 for 4 workers \(indexes are 0-based\)/ });
  assert.throws(() => parseWorkerSpec('1/0'), { message: /expected 1..4096 workers/ });
  assert.throws(() => parseWorkerSpec('1/99999999'), { message: /^--worker is '1\/99999999', expected 1\.\.4096 workers$/ });
  for (const bad of ['3', '-1/4', '1/4/2', 'a/b', '1.5/4', '']) assert.throws(() => parseWorkerSpec(bad), { message: /expected i\/n/ }, bad);
});

test('Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX with KENNIS_WORKER_COUNT (the Job\'s completions)', () => {
  assert.deepEqual(pick(workerFromEnv({ JOB_COMPLETION_INDEX: '2', KENNIS_WORKER_COUNT: '4' })), { index: 2, count: 4 });
  assert.throws(() => workerFromEnv({ JOB_COMPLETION_INDEX: '2' }), { message: /JOB_COMPLETION_INDEX is 2 but KENNIS_WORKER_COUNT is not set; set KENNIS_WORKER_COUNT to the number of workers \(for a Kubernetes Indexed Job: its completions\)/ });
  assert.throws(() => workerFromEnv({ JOB_COMPLETION_INDEX: '4', KENNIS_WORKER_COUNT: '4' }), { message: /expected a worker index in 0\.\.3 for 4 workers/ });
  assert.throws(() => workerFromEnv({ JOB_COMPLETION_INDEX: 'x', KENNIS_WORKER_COUNT: '4' }), { message: /JOB_COMPLETION_INDEX is 'x', expected a non-negative integer/ });
});

test('Slurm arrays: the task id counts from SLURM_ARRAY_TASK_MIN in steps of SLURM_ARRAY_TASK_STEP', () => {
  assert.deepEqual(pick(workerFromEnv({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0' })), { index: 3, count: 4 });
  // --array=1-4
  assert.deepEqual(pick(workerFromEnv({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' })), { index: 0, count: 4 });
  assert.deepEqual(pick(workerFromEnv({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' })), { index: 3, count: 4 });
  // --array=10-16:2 is ids 10, 12, 14, 16
  assert.deepEqual(pick(workerFromEnv({ SLURM_ARRAY_TASK_ID: '14', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_STEP: '2' })), { index: 2, count: 4 });
  // --array=0,3,7 has no step that maps ids onto 0..2
  assert.throws(() => workerFromEnv({ SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '0' }), { message: /use a contiguous array such as --array=0-2/ });
  assert.throws(() => workerFromEnv({ SLURM_ARRAY_TASK_ID: '2' }), { message: /SLURM_ARRAY_TASK_COUNT is not set/ });
});

test('scheduler variables make a run distributed only when asked (--worker auto or KENNIS_WORKER)', () => {
  const slurm = { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0' };
  assert.equal(resolveWorker(undefined, slurm), undefined, 'a job array running one recipe per task is not split by surprise');
  assert.deepEqual(pick(resolveWorker('auto', slurm)), { index: 2, count: 4 });
  assert.match(resolveWorker('auto', slurm)!.source, /SLURM_ARRAY_TASK_ID=2/);
  assert.deepEqual(pick(resolveWorker(undefined, { ...slurm, KENNIS_WORKER: 'auto' })), { index: 2, count: 4 });
  assert.deepEqual(pick(resolveWorker(undefined, { KENNIS_WORKER: '1/3' })), { index: 1, count: 3 });
  assert.deepEqual(pick(resolveWorker('0/2', { KENNIS_WORKER: '1/3' })), { index: 0, count: 2 }, 'the flag wins');
  // the explicit kennis variables win over the scheduler's
  assert.deepEqual(pick(resolveWorker('auto', { ...slurm, KENNIS_WORKER_INDEX: '0', KENNIS_WORKER_COUNT: '2' })), { index: 0, count: 2 });
  assert.deepEqual(pick(resolveWorker('auto', { JOB_COMPLETION_INDEX: '1', KENNIS_WORKER_COUNT: '2', ...slurm })), { index: 1, count: 2 });
  assert.throws(() => resolveWorker('auto', {}), { message: /--worker is auto but no worker is described by the environment; set JOB_COMPLETION_INDEX/ });
  assert.throws(() => resolveWorker(undefined, { KENNIS_WORKER: '9/4' }), { message: /KENNIS_WORKER is '9\/4'/ });
});
