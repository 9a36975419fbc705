import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../../src/cache/index.js';
import type { PrecomputeSummary } from '../../src/precompute/index.js';
import { jsonOf, kennis, startKennis, workspace } from '../fixtures/cli.js';
import { runChains } from './chains.js';

// 600 rows in 12 shards of 50: enough shard boundaries for kills to land between, inside and after writes
const ws = workspace('kill-precompute', { rows: 600, shardRows: 50 });
const recipeFor = (root: string) => ws.recipe(`${root}.yaml`, { cache: { root: join(ws.dir, root) } });
const reference = jsonOf<PrecomputeSummary>(await kennis(['precompute', recipeFor('reference'), '--json']));

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const shardsIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('part-')).length : 0);

test('kill -9 at seeded random moments during precompute: every rerun finishes a cache byte-identical to an uninterrupted run', async () => {
  const dirOf = (chain: number) => join(ws.dir, `chain-${chain}`, reference.key);
  const recipes = new Map<number, string>();
  const reports = await runChains({
    seed: 20241201, kills: 10, parallel: 2,
    start: (chain) => {
      if (!recipes.has(chain)) recipes.set(chain, recipeFor(`chain-${chain}`));
      return startKennis(['precompute', recipes.get(chain)!, '--json']);
    },
    plan: (chain, rng) => {
      const dir = dirOf(chain);
      if (rng.next() < 0.3) {
        // anywhere from process start through loading the teacher and opening the cache
        const ms = rng.int(3000);
        return { ready: () => true, delayMs: ms, describe: `${ms} ms after start` };
      }
      // just after the writer thread renames a shard file into place, or while it records it
      const target = shardsIn(dir) + 1 + rng.int(3);
      const ms = rng.int(60);
      return { ready: () => shardsIn(dir) >= target, delayMs: ms, describe: `${ms} ms after shard file ${target}` };
    },
  });
  const kills = reports.reduce((n, r) => n + r.kills.length, 0);
  assert.ok(kills >= 10, `expected at least 10 kills, got ${kills}`);
  const want = manifestOf(reference.cacheDir);
  for (const [chain, report] of reports.entries()) {
    const why = `chain ${chain} after kills at ${report.kills.join(', ')}`;
    const summary = jsonOf<PrecomputeSummary>(report.final);
    const dir = dirOf(chain);
    assert.equal(summary.cacheDir, dir);
    const got = manifestOf(dir);
    assert.equal(got.complete, true, why);
    assert.deepEqual(got.shards, want.shards, `${why}: manifest shards (file, firstRow, rows, bytes, sha256)`);
    assert.deepEqual({ ...got, createdAt: '' }, { ...want, createdAt: '' }, why);
    for (const s of want.shards) assert.deepEqual(readFileSync(join(dir, s.file)), readFileSync(join(reference.cacheDir, s.file)), `${why}: ${s.file}`);
    // no lock, temp file or orphan shard is left behind
    assert.deepEqual(readdirSync(dir).sort(), readdirSync(reference.cacheDir).sort(), why);
  }
  // a killed run leaves its lock: a later run of the chain (killed in turn, or the final one) takes it
  // over with a warning instead of refusing, or, when the kill came after the cache was complete,
  // the rerun (a cache hit) removes it
  const staleLock = /warning: (taking over stale cache lock .* \(not running on |removing stale cache lock .* of a finished cache \(not running on )/;
  assert.ok(reports.some((r) => [...r.killedStderr, r.final.stderr].some((e) => staleLock.test(e))), 'a stale lock was taken over or removed');
});
