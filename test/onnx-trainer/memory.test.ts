import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import assert from 'node:assert/strict';
import { OnnxTrainer } from '../../src/train/onnxruntime/index.js';
import type { LoaderBatch } from '../../src/train/loader/index.js';
import { gaussian, logSumExp, matrix, topIds, type RefTarget } from '../losses/reference.js';
import { batchOf, fakeManifest } from './helpers.js';

// a full collection before each reading, so RSS shows what is still referenced rather than garbage not yet collected
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('RSS does not grow over 500 small onnxruntime training steps (batches of changing size, two micro-batches, evaluation)', async () => {
  const features = 256;
  const batch = (seed: number, rows: number): LoaderBatch => {
    const rnd = gaussian(seed);
    const targets: RefTarget[] = matrix(rows, 10, rnd, 3).map((row) => {
      const ids = topIds(row, 4);
      return { kind: 'topk', ids, logits: ids.map((i) => Math.fround(row[i]!)), lse: Math.fround(logSumExp(row)), tail: 'ghost' };
    });
    return batchOf(targets, targets.map((_, i) => i % 10), { x: Float32Array.from(matrix(rows, features, rnd).flat()) });
  };
  const batches = [batch(1, 32), batch(2, 17), batch(3, 32)];
  const trainer = await OnnxTrainer.create({
    spec: { arch: 'mlp', inputs: features, hidden: [128], activation: 'relu', dropout: 0.1, classes: 10 },
    input: { column: 'x', valuesPerRow: features }, manifest: fakeManifest({ kind: 'topk', vocab: 10, k: 4 }),
    loss: { temperature: 2, alpha: 0.5 }, optimizer: { kind: 'adamw', lr: 1e-3, weightDecay: 0.01, momentum: 0, clipNorm: 1 }, seed: 1, threads: 1,
  });
  const loader = { async *epoch() { yield* batches; } } as unknown as Parameters<OnnxTrainer['evaluate']>[0];
  const rss: number[] = [];
  for (let s = 0; s < 500; s++) {
    await trainer.step(s % 5 === 0 ? [batches[0]!, batches[1]!] : [batches[s % 3]!], 1e-3, s);
    if (s % 50 === 49) {
      await trainer.evaluate(loader, fakeManifest({ kind: 'topk', vocab: 10, k: 4 }));
      gc();
      rss.push(process.memoryUsage().rss);
    }
  }
  trainer.dispose();
  // after the first 100 steps (arenas and JIT warm), RSS may wobble but not climb
  const settled = rss.slice(2);
  const growth = settled[settled.length - 1]! - Math.min(...settled);
  assert.ok(growth < 8 * 2 ** 20, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MB from step 150 to 500: ${rss.map((r) => (r / 2 ** 20).toFixed(0)).join(', ')} MB`);
});
