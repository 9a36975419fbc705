import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { verifyCache, type LockInfo } from '../../src/cache/index.js';
import type { PrecomputeSummary } from '../../src/precompute/index.js';
import { jsonOf, kennis, killWhen, startKennis, workspace } from '../fixtures/cli.js';

const ws = workspace('locks', { rows: 600, shardRows: 50 });

/** The cache directory under `root` once precompute created it. */
const cacheDirIn = (root: string): string | undefined => (existsSync(root) ? readdirSync(root).map((d) => join(root, d))[0] : undefined);
const has = (root: string, name: string) => { const d = cacheDirIn(root); return d !== undefined && existsSync(join(d, name)); };
/** Whether the lock file exists with its content (it is created empty, then written). */
const lockWritten = (root: string) => {
  if (!has(root, '.lock')) return false;
  try {
    return Number.isInteger((JSON.parse(readFileSync(join(cacheDirIn(root)!, '.lock'), 'utf8')) as LockInfo).pid);
  } catch {
    return false;
  }
};
/** Shards the cache's manifest records (0 before it exists; it is replaced atomically, so a read sees a whole one). */
const recordedIn = (root: string) => {
  const d = cacheDirIn(root);
  try {
    return d ? (JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { shards: unknown[] }).shards.length : 0;
  } catch {
    return 0;
  }
};

test('a second writer stops at the lock with a message naming the holder; the first finishes unharmed', async () => {
  const root = join(ws.dir, 'two');
  const recipe = ws.recipe('two.yaml', { cache: { root } });
  const first = startKennis(['precompute', recipe, '--json']);
  // hold the first writer still once its lock is written, so the second surely meets it
  await new Promise<void>((resolve) => {
    const t = setInterval(() => { if (lockWritten(root)) { clearInterval(t); first.child.kill('SIGSTOP'); resolve(); } }, 5);
  });
  try {
    const second = await kennis(['precompute', recipe, '--json']);
    assert.equal(second.code, 1);
    const errors = second.stderr.split('\n').filter((l) => l.startsWith('error:'));
    assert.equal(errors.length, 1, second.stderr);
    const lock = join(cacheDirIn(root)!, '.lock');
    assert.ok(errors[0]!.includes(`is locked by pid ${first.child.pid} on host `) && errors[0]!.includes(`(${lock}); wait for that run to finish, or delete '${lock}' if it is not running`), errors[0]);
  } finally {
    first.child.kill('SIGCONT');
  }
  const done = jsonOf<PrecomputeSummary>(await first.done);
  assert.equal(done.rows, 600);
  const report = await verifyCache(done.cacheDir);
  assert.equal(report.ok, true, report.message);
});

test('a stale lock of a killed writer is taken over with a warning and the cache completes', async () => {
  const root = join(ws.dir, 'stale');
  const recipe = ws.recipe('stale.yaml', { cache: { root } });
  const victim = startKennis(['precompute', recipe, '--json']);
  const killed = await killWhen(victim, () => recordedIn(root) >= 1, 0, 1);
  assert.ok(killed.killed, 'killed while writing');
  const lock = JSON.parse(readFileSync(join(cacheDirIn(root)!, '.lock'), 'utf8')) as LockInfo;
  assert.equal(lock.pid, victim.child.pid, 'the dead writer left its lock');
  const rerun = await kennis(['precompute', recipe, '--json']);
  assert.match(rerun.stderr, new RegExp(`warning: taking over stale cache lock '.*\\.lock' of pid ${victim.child.pid} \\(not running on `));
  const s = jsonOf<PrecomputeSummary>(rerun);
  assert.ok(s.computedRows < 600, `resumed (computed ${s.computedRows} rows)`);
  assert.equal(s.rows, 600);
  assert.ok(!existsSync(join(s.cacheDir, '.lock')), 'the lock is released');
});

test('a run killed after finishing its cache but before releasing the lock: the next run, a cache hit, removes the stale lock', async () => {
  const root = join(ws.dir, 'finished');
  const recipe = ws.recipe('finished.yaml', { cache: { root } });
  const done = await kennis(['precompute', recipe, '--json']);
  assert.equal(done.code, 0, done.stderr);
  const dir = cacheDirIn(root)!;
  const lock = join(dir, '.lock');
  // what a kill between the manifest's last write and the lock's release leaves: a lock of a dead pid
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const info: LockInfo = { pid: dead, hostname: hostname(), startedAt: new Date().toISOString() };
  writeFileSync(lock, `${JSON.stringify(info)}\n`);
  const hit = await kennis(['precompute', recipe, '--json']);
  assert.equal(hit.code, 0, hit.stderr);
  assert.equal(jsonOf<PrecomputeSummary>(hit).hit, true);
  assert.match(hit.stderr, new RegExp(`warning: removing stale cache lock '.*\\.lock' of a finished cache \\(not running on `));
  assert.equal(existsSync(lock), false);
  // a live holder's lock is left alone (this test process is alive)
  writeFileSync(lock, `${JSON.stringify({ ...info, pid: process.pid })}\n`);
  const again = await kennis(['precompute', recipe, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(existsSync(lock), true);
  assert.equal((await verifyCache(dir)).ok, true);
});
