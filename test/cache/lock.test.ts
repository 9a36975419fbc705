import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { acquireLock, inspectLock, LOCK_FILE, LOCK_STALE_AFTER_MS } from '../../src/cache/index.js';
import { tempDir } from './tmp.js';

const lockText = (pid: number, hostname: string, startedAt: string) => JSON.stringify({ pid, hostname, startedAt });
const ago = (ms: number) => new Date(Date.now() - ms);

test('a held lock refreshes its mtime (the heartbeat other hosts judge it by) until released', async () => {
  const dir = await tempDir('beat');
  const file = path.join(dir, LOCK_FILE);
  const lock = await acquireLock(dir, () => undefined, { heartbeatMs: 30 });
  await utimes(file, ago(60_000), ago(60_000));
  await new Promise((r) => setTimeout(r, 200));
  const age = Date.now() - (await stat(file)).mtimeMs;
  assert.ok(age < 5_000, `heartbeat refreshed the lock (age ${age} ms)`);
  await lock.release();
  await assert.rejects(stat(file), { code: 'ENOENT' });
});

test('a lock from another host is live while its heartbeat is fresh and stale once it stopped', async () => {
  const dir = await tempDir('host');
  const file = path.join(dir, LOCK_FILE);
  await writeFile(file, lockText(1, `not-${os.hostname()}`, '2020-01-01T00:00:00.000Z'));
  await assert.rejects(acquireLock(dir, () => undefined), { name: 'CacheError', message: /locked by pid 1 on host not-/ });
  assert.equal((await inspectLock(dir))!.stale, undefined);
  await utimes(file, ago(LOCK_STALE_AFTER_MS + 60_000), ago(LOCK_STALE_AFTER_MS + 60_000));
  const warnings: string[] = [];
  const lock = await acquireLock(dir, (m) => warnings.push(m));
  assert.match(warnings.join('\n'), /taking over stale cache lock .* of pid 1 \(its heartbeat stopped \d+ s ago\)/);
  assert.equal((JSON.parse(await readFile(file, 'utf8')) as { pid: number }).pid, process.pid);
  await lock.release();
});

test('an unreadable lock is refused while fresh and taken over once its heartbeat stopped', async () => {
  const dir = await tempDir('empty');
  const file = path.join(dir, LOCK_FILE);
  await writeFile(file, '');
  await assert.rejects(acquireLock(dir, () => undefined), { message: /is unreadable/ });
  await utimes(file, ago(LOCK_STALE_AFTER_MS + 1_000), ago(LOCK_STALE_AFTER_MS + 1_000));
  const lock = await acquireLock(dir, () => undefined);
  await lock.release();
});

test('a lock with our own pid from before this process started is a restarted container\'s, not ours', async () => {
  const dir = await tempDir('pid');
  const file = path.join(dir, LOCK_FILE);
  const started = Date.now() - process.uptime() * 1000;
  // pid reuse: a fresh container often runs kennis under the same pid as the one that was killed
  await writeFile(file, lockText(process.pid, os.hostname(), new Date(started - 60_000).toISOString()));
  const warnings: string[] = [];
  const lock = await acquireLock(dir, (m) => warnings.push(m));
  assert.match(warnings.join('\n'), /taken before this process with the same pid started/);
  // while we hold it, the same pid means us: refused
  await assert.rejects(acquireLock(dir, () => undefined), { message: new RegExp(`locked by pid ${process.pid}`) });
  await lock.release();
});

test('a dead pid of this host is stale at once; inspectLock reports live and stale holders', async () => {
  const dir = await tempDir('dead');
  const dead = spawnSync(process.execPath, ['-e', '']);
  await writeFile(path.join(dir, 'other.lock'), lockText(dead.pid, os.hostname(), new Date().toISOString()));
  assert.match((await inspectLock(dir, { file: 'other.lock' }))!.stale!, /not running on/);
  assert.equal(await inspectLock(dir, { file: 'none.lock' }), undefined);
});
