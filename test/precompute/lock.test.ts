// Two precompute runs on one cache: the second stops with one line naming the lock and its holder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sequenceModel } from '../fixtures/teachers.js';
import { finished, runCli, startCli, tempDir, writeRecipe } from './helpers.js';

function readLock(file: string): { pid: number } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
  } catch {
    return undefined; // not there yet, or created but not yet written
  }
}

test('a second precompute on a cache being written fails with one `error:` line naming the lock; the first is unharmed', async () => {
  const dir = await tempDir('pre-lock');
  writeFileSync(path.join(dir, 'lm.onnx'), sequenceModel({ vocab: 256, dModel: 32, seed: 71 }).bytes);
  // one window per teacher call over thousands of windows: the first run outlives the second's start-up
  const recipe = writeRecipe(dir, 'r.yaml', {
    teacher: { path: 'lm.onnx', batch_size: 1 },
    dataset: { name: 'moby-dick', split: 'train', seq_len: 32, limit: 30000 },
    targets: { kind: 'topk', k: 4 },
    cache: { dir: 'cache', shard_rows: 100 },
  });
  const lock = path.join(dir, 'cache', '.lock');
  const first = startCli(['precompute', recipe], dir);
  const firstDone = finished(first);
  try {
    // the lock file is created first and filled right after: wait until it names its holder
    let holder: { pid: number } | undefined;
    while (!(holder = readLock(lock))) {
      assert.equal(first.exitCode, null, 'the first run is still running');
      await sleep(10);
    }
    assert.equal(holder.pid, first.pid);
    const second = await runCli(['precompute', recipe, '--json'], dir);
    assert.equal(first.exitCode, null, 'the first run was still writing while the second ran');
    assert.equal(second.code, 1);
    const lines = second.stderr.trimEnd().split('\n');
    assert.deepEqual(JSON.parse(second.stdout), { error: lines[0]!.replace(/^error: /, '') });
    assert.equal(lines.length, 1, `one line, got:\n${second.stderr}`);
    assert.match(lines[0]!, new RegExp(`^error: cache '.*cache' is locked by pid ${first.pid} on host .* \\(${lock.replaceAll('.', '\\.')}\\); wait for that run to finish`));
    assert.equal(readLock(lock)?.pid, first.pid, 'the lock still belongs to the first run');
  } finally {
    first.kill('SIGKILL');
    await firstDone;
  }
});
