import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tfDirect from '@tensorflow/tfjs';
import { currentBackend, selectBackend, tf } from '../../src/train/backend/index.js';
import { TrainError } from '../../src/core/errors/index.js';

// Independent check of whether tfjs-node is installed: ask Node's resolver directly.
function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

function matMulMatchesFloat64(): void {
  const a = [1.5, -2, 0.25, 3, 4, -1];
  const b = [2, 0.5, -1, 1, 3, -2];
  const expected = [0, 0, 0, 0];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 3; k++) expected[i * 2 + j]! += a[i * 3 + k]! * b[k * 2 + j]!;
  const y = tf.tidy(() => Array.from(tf.matMul(tf.tensor2d(a, [2, 3]), tf.tensor2d(b, [3, 2])).dataSync()));
  y.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `expected ${expected[i]}, got ${v}`));
}

test('the exported tf is the same module instance as @tensorflow/tfjs', () => {
  assert.equal(tf.engine(), tfDirect.engine());
});

test("'auto' picks tfjs-node when installed, else wasm, and computes correctly", async () => {
  const { name, tf: t } = await selectBackend('auto');
  assert.equal(name, tfjsNodeInstalled() ? 'tfjs-node' : 'wasm');
  assert.equal(t, tf);
  assert.equal(currentBackend(), name);
  matMulMatchesFloat64();
});

test("'wasm' and 'cpu' activate those backends; switching back and forth keeps results", async () => {
  for (const name of ['wasm', 'cpu', 'wasm'] as const) {
    const sel = await selectBackend(name);
    assert.equal(sel.name, name);
    assert.equal(tf.getBackend(), name);
    matMulMatchesFloat64();
  }
});

test("'tfjs-node' throws TrainError with the fix when the package is not installed", { skip: tfjsNodeInstalled() }, async () => {
  const backendBefore = tf.getBackend();
  await assert.rejects(selectBackend('tfjs-node'), (e: unknown) => e instanceof TrainError && /tfjs-node/.test(e.message) && /install/.test(e.message));
  assert.equal(tf.getBackend(), backendBefore);
});
