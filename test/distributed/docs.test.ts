import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { resolveWorker } from '../../src/precompute/distributed/index.js';
import { ROOT } from '../fixtures/cli.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('the Kubernetes Indexed Job runs N pods whose environment names workers 0..N-1 of N on one shared volume', () => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'docs', 'k8s-precompute-job.yaml'), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJSON() as Json;
  });
  const job = docs.find((d) => d.kind === 'Job')!;
  const pvc = docs.find((d) => d.kind === 'PersistentVolumeClaim')!;
  assert.equal(job.spec.completionMode, 'Indexed');
  const n = job.spec.completions as number;
  assert.equal(job.spec.parallelism, n);
  const pod = job.spec.template.spec;
  const container = pod.containers[0];
  const env = Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  assert.equal(Number(env.KENNIS_WORKER_COUNT), n, 'KENNIS_WORKER_COUNT equals completions');
  const command = container.command as string[];
  assert.deepEqual(command.slice(0, 3), ['npx', 'kennis', 'precompute']);
  const flag = command[command.indexOf('--worker') + 1]!;
  // what each pod resolves: the controller sets JOB_COMPLETION_INDEX to its index
  for (let i = 0; i < n; i++) {
    const w = resolveWorker(flag, { ...env, JOB_COMPLETION_INDEX: String(i) })!;
    assert.deepEqual([w.index, w.count], [i, n]);
  }
  const cacheDir = command.find((a) => a.startsWith('cache.dir='))!.slice('cache.dir='.length);
  const mount = container.volumeMounts[0];
  assert.ok(cacheDir.startsWith(`${mount.mountPath}/`), 'the cache lives on the mounted volume');
  const volume = (pod.volumes as Json[]).find((v) => v.name === mount.name)!;
  assert.equal(volume.persistentVolumeClaim.claimName, pvc.metadata.name);
  assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
});

test('the Slurm array script gives every task of --array=0-3 its own worker of 4, and reruns name theirs', () => {
  const script = readFileSync(join(ROOT, 'docs', 'slurm-precompute.sh'), 'utf8');
  const m = /^#SBATCH --array=(\d+)-(\d+)$/m.exec(script)!;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  const count = hi - lo + 1;
  assert.equal(count, 4);
  assert.match(script, /--worker "\$\{KENNIS_WORKER:-auto\}"/);
  for (let id = lo; id <= hi; id++) {
    const env: Record<string, string> = { SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: String(lo), SLURM_ARRAY_TASK_COUNT: String(count) };
    const w = resolveWorker('auto', env)!;
    assert.deepEqual([w.index, w.count], [id - lo, count]);
  }
  // the documented rerun of one task: a one-task array, with the worker given explicitly
  const rerun = resolveWorker('2/4', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '2', SLURM_ARRAY_TASK_COUNT: '1' })!;
  assert.deepEqual([rerun.index, rerun.count], [2, 4]);
  assert.match(script, /--export=ALL,KENNIS_WORKER=2\/4/);
});
