import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableCores } from '../../src/train/backend/index.js';
import { compiledTestChild } from '../fixtures/compiled.js';

// compiled: each child then loads no tsx (test/fixtures/compiled.ts)
const CHILD = compiledTestChild(fileURLToPath(new URL('./threads-child.ts', import.meta.url)));

interface ChildResult { backend: string; threads: number; sha256: string; sample: number[]; secondOverFirst: number }

// each backend/thread count needs its own process: wasm initialises once per process
function run(backend: string, threads: number): ChildResult {
  const out = execFileSync(process.execPath, [CHILD, backend, String(threads)], { encoding: 'utf8', env: { ...process.env, KENNIS_WASM_THREADS: '' } });
  return JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
}

test('wasm on 2 threads computes on both and trains bit-identically to 1 thread and within 1e-4 of cpu', { skip: availableCores() < 2 || process.platform !== 'linux' ? 'needs 2 cores and /proc' : false }, () => {
  const one = run('wasm', 1);
  const two = run('wasm', 2);
  const cpu = run('cpu', 1);
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  // the second thread really computes: per-thread CPU time from /proc, a ratio that other load
  // on the machine does not change (XNNPACK splits a matMul evenly, so about 1 with 2 threads)
  assert.ok(two.secondOverFirst > 0.5, `expected the 2nd thread busy > 0.5x the 1st on 2 threads, got ${two.secondOverFirst.toFixed(2)}`);
  assert.ok(one.secondOverFirst < 0.5, `expected no 2nd compute thread on 1 thread, got ${one.secondOverFirst.toFixed(2)}x`);
  assert.equal(two.sha256, one.sha256, 'weights after 3 steps differ between 1 and 2 threads');
  const err = Math.max(...two.sample.map((v, i) => Math.abs(v - cpu.sample[i]!)));
  assert.ok(err < 1e-4, `expected wasm within 1e-4 of the cpu backend, got ${err}`);
});
