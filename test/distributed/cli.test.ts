import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PrecomputeSummary } from '../../src/precompute/index.js';
import { jsonOf, kennis, killWhen, startKennis, treeHashes, workspace } from '../fixtures/cli.js';

// 600 rows in shards of 50: 12 shards, so 4 workers own shards 0-2, 3-5, 6-8 and 9-11
const ws = workspace('distributed', { rows: 600, shardRows: 50 });
const recipeAt = (root: string) => ws.recipe(`${root}.yaml`, { cache: { root: join(ws.dir, root) } });
const single = jsonOf<PrecomputeSummary>(await kennis(['precompute', recipeAt('single'), '--json']));
const singleShards = filesOf(single.cacheDir, (n) => n.startsWith('part-'));

/** name -> bytes of the files in dir that `keep` selects. */
function filesOf(dir: string, keep: (name: string) => boolean): Map<string, Buffer> {
  return new Map(readdirSync(dir).filter(keep).sort().map((n) => [n, readFileSync(join(dir, n))]));
}

/** The manifest's text without createdAt, the one member a merged manifest may differ in. */
const manifestText = (dir: string) => readFileSync(join(dir, 'manifest.json'), 'utf8').replace(/"createdAt": "[^"]*"/, '');

function assertSameAsSingle(dir: string): void {
  assert.equal(manifestText(dir), manifestText(single.cacheDir));
  assert.deepEqual(filesOf(dir, (n) => n.startsWith('part-')), singleShards);
  // nothing else is left behind: no worker manifests, locks or temp files
  assert.deepEqual(readdirSync(dir).sort(), readdirSync(single.cacheDir).sort());
}

test('4 concurrent workers (flag, KENNIS_WORKER, Kubernetes and Slurm variables) merge into the single-process cache', async () => {
  const recipe = recipeAt('dist');
  const runs = await Promise.all([
    kennis(['precompute', recipe, '--worker', '0/4', '--json']),
    kennis(['precompute', recipe, '--json'], { env: { KENNIS_WORKER: '1/4' } }),
    kennis(['precompute', recipe, '--worker', 'auto', '--json'], { env: { JOB_COMPLETION_INDEX: '2', KENNIS_WORKER_COUNT: '4' } }),
    // an array declared as --array=1-4: task id 4 is the fourth worker
    kennis(['precompute', recipe, '--worker', 'auto', '--json'], { env: { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' } }),
  ]);
  const summaries = runs.map((r) => jsonOf<PrecomputeSummary>(r));
  assert.deepEqual(summaries.map((s) => [s.worker!.index, s.worker!.count, s.worker!.firstShard, s.worker!.endShard, s.rows]),
    [[0, 4, 0, 3, 150], [1, 4, 3, 6, 150], [2, 4, 6, 9, 150], [3, 4, 9, 12, 150]]);
  assert.ok(summaries.some((s) => s.worker!.merged), 'the last worker to finish merged');
  assert.equal(new Set(summaries.map((s) => s.cacheDir)).size, 1);
  assertSameAsSingle(summaries[0]!.cacheDir);
});

test('a worker killed after its first shard, and one never started, are named by merge; rerunning them completes the cache', async () => {
  const recipe = recipeAt('kill');
  const dir = join(ws.dir, 'kill', single.key);
  const victim = startKennis(['precompute', recipe, '--worker', '1/4', '--json']);
  const [w0, w1, w3] = await Promise.all([
    kennis(['precompute', recipe, '--worker', '0/4', '--json']),
    // polled every millisecond: its next two shards take only a few (it once finished them before a 5 ms poll saw the first)
    killWhen(victim, () => existsSync(join(dir, 'part-00003.parquet')), 0, 1),
    kennis(['precompute', recipe, '--worker', '3/4', '--json']),
  ]);
  assert.ok(w1.killed, `worker 1 was killed mid-way (it ended with code ${w1.code})`);
  for (const r of [w0, w3]) assert.equal(jsonOf<PrecomputeSummary>(r).worker!.merged, false);

  const merge = await kennis(['cache', 'merge', dir]);
  assert.notEqual(merge.code, 0);
  const errors = merge.stderr.split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, merge.stderr);
  // under load the kill may land after the second or third of its shards
  assert.match(errors[0]!, /rerun worker 1\/4: (shards 3-5|shards 4-5|shard 5) missing; rerun worker 2\/4: shards 6-8 missing/);
  assert.ok(!existsSync(join(dir, 'manifest.json')));

  // rerunning worker 1 redoes only its own missing shards and leaves the others' files alone
  const others = treeHashes(dir);
  const mtimes = new Map(['part-00000.parquet', 'part-00009.parquet'].map((n) => [n, statSync(join(dir, n)).mtimeMs]));
  const again = await kennis(['precompute', recipe, '--worker', '1/4', '--json']);
  const s1 = jsonOf<PrecomputeSummary>(again);
  assert.ok([50, 100, 150].includes(s1.computedRows), `recomputed ${s1.computedRows} rows`);
  assert.equal(s1.rows, 150);
  assert.equal(s1.worker!.merged, false);
  assert.match(s1.worker!.mergeNote!, /waiting for 2\/4/);
  assert.match(again.stderr, /taking over stale cache lock .*lock\.worker-1-of-4/);
  const now = treeHashes(dir);
  for (const [file, hash] of Object.entries(others)) {
    if (/^part-0000[0-2]|^part-0000(9)|^part-0001[01]/.test(file)) assert.equal(now[file], hash, `${file} untouched`);
  }
  for (const [n, m] of mtimes) assert.equal(statSync(join(dir, n)).mtimeMs, m, `${n} not rewritten`);

  const last = jsonOf<PrecomputeSummary>(await kennis(['precompute', recipe, '--worker', '2/4', '--json']));
  assert.equal(last.worker!.merged, true);
  assertSameAsSingle(dir);
});
