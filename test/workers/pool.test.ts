import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CacheError, FileError, KennisError, fileError } from '../../src/core/errors/index.js';
import { ThreadPool } from '../../src/core/workers/index.js';
import type { handlers } from './fixtures/probe-worker.js';

const start = (size: number) => ThreadPool.start<typeof handlers>(import.meta.url, 'fixtures/probe-worker', {
  size, exitError: (code) => new CacheError(`probe thread exited (code ${code})`),
});

test('a call moves its transfer list to the thread and the answer back', async () => {
  const pool = start(1);
  try {
    const values = Float64Array.from([1, 2, 3.5]);
    const reply = await pool.call('double', { values }, { transfer: [values.buffer] });
    assert.equal(values.byteLength, 0, 'the request buffer moved, not copied');
    assert.equal(reply.sum, 6.5);
    assert.deepEqual([...reply.values], [2, 4, 7]);
  } finally {
    await pool.close();
  }
});

test('errors cross the thread boundary as the shared error classes', async () => {
  const pool = start(1);
  const dir = mkdtempSync(join(tmpdir(), 'kennis-pool-'));
  const file = join(dir, 'plain-file');
  writeFileSync(file, '');
  try {
    await assert.rejects(pool.call('fail', { message: 'shard 3 is bad; re-run' }), (err: unknown) => {
      assert.ok(err instanceof CacheError && err instanceof KennisError);
      assert.equal(err.message, 'shard 3 is bad; re-run');
      assert.equal(err.name, 'CacheError');
      return true;
    });
    // the same failure on this thread, for the independent reference
    const here = await import('node:fs/promises').then((fs) => fs.mkdir(`${file}/sub`)).catch((e: unknown) => fileError(e, { action: 'creating probe directory' }));
    const there = await pool.call('mkdirUnder', { file }).then(() => undefined, (e: unknown) => e);
    assert.ok(here instanceof FileError && there instanceof FileError);
    assert.deepEqual({ message: there.message, code: there.code, path: there.path, context: there.context }, { message: here.message, code: here.code, path: here.path, context: here.context });
    // an outer site adds its context to the rebuilt error exactly as to the local one
    const outer = { setting: 'cache.root', rerun: 'rerun precompute (it resumes)' };
    assert.equal((fileError(there, outer) as Error).message, (fileError(here, outer) as Error).message);
    await assert.rejects(pool.call('bug', undefined), (err: unknown) => err instanceof Error && !(err instanceof KennisError) && err.name === 'TypeError' && err.message === 'a plain bug');
  } finally {
    await pool.close();
  }
});

test('notifications reach the caller of the request that sent them, before its answer', async () => {
  const pool = start(1);
  try {
    const events: unknown[] = [];
    const n = await pool.call('chatty', { events: 3 }, { onNotify: (e) => events.push(e) });
    assert.equal(n, 3);
    assert.deepEqual(events, ['event 0', 'event 1', 'event 2']);
  } finally {
    await pool.close();
  }
});

test('calls spread over the pool, a thread keeps its state, and a pinned call stays on its thread', async () => {
  const pool = start(2);
  try {
    const slow = [pool.call('slow', { ms: 200 }), pool.call('slow', { ms: 200 })];
    const busyThreads = new Set((await Promise.all([pool.call('count', undefined, { thread: 0 }), pool.call('count', undefined, { thread: 1 })])).map((r) => r.thread));
    assert.equal(busyThreads.size, 2);
    await Promise.all(slow);
    const pinned = [];
    for (let i = 0; i < 3; i++) pinned.push(await pool.call('count', undefined, { thread: 1 }));
    assert.equal(new Set(pinned.map((r) => r.thread)).size, 1);
    assert.deepEqual(pinned.map((r) => r.calls), [2, 3, 4]);
  } finally {
    await pool.close();
  }
});

test('a thread that dies rejects pending and later calls with the pool\'s exit error', async () => {
  const pool = start(2);
  try {
    const pending = pool.call('slow', { ms: 5000 }, { thread: 1 });
    await pool.call('crash', undefined, { thread: 0 });
    await assert.rejects(pending, (err: unknown) => err instanceof CacheError && err.message === 'probe thread exited (code 7)');
    assert.ok(pool.failed instanceof CacheError);
    await assert.rejects(pool.call('count', undefined), CacheError);
  } finally {
    await pool.close();
  }
});

test('an idle pool does not keep the process alive, a busy one does until it answers', async () => {
  const script = `
    import { ThreadPool } from ${JSON.stringify(new URL('../../src/core/workers/index.ts', import.meta.url).href)};
    const pool = ThreadPool.start(${JSON.stringify(import.meta.url)}, 'fixtures/probe-worker', { size: 2, exitError: () => new Error('exit') });
    console.log(JSON.stringify(await pool.call('count', undefined)));
    pool.call('slow', { ms: 300 }).then((ms) => console.log('slow', ms));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  assert.equal(JSON.parse(lines[0]!).calls, 1);
  assert.equal(lines[1], 'slow 300', 'the process waited for the call in flight, then exited with its threads idle');
});
