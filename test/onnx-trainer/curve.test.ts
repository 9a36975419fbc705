import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { trainingColumns } from '../../src/train/batch.js';
import { openVerifiedCache } from '../../src/train/caches.js';
import { CacheLoader, type LoaderBatch } from '../../src/train/loader/index.js';
import { OnnxTrainer } from '../../src/train/onnxruntime/index.js';
import { cosineWithWarmup } from '../../src/train/optim/index.js';
import { studentSpecFor } from '../../src/train/student-spec.js';
import { TfjsTrainer } from '../../src/train/tfjs-trainer.js';
import type { TrainerSetup } from '../../src/train/trainer.js';
import { mnistWorkspace } from '../train/helpers.js';

/** Per-step loss tolerance between the backends, relative to max(1, loss). */
const LOSS_TOLERANCE = 1e-4;

test('50 steps of the mnist recipe\'s objective (full targets, alpha 0.9, T 8, AdamW, cosine warmup) track the tfjs loss curve within 1e-4 (measured 1.4e-6)', async () => {
  const ws = await mnistWorkspace(['dataset.limit=640', 'targets.kind=full', 'distill.alpha=0.9', 'distill.temperature=8', 'student.hidden=[64,64]', 'student.dropout=0.1']);
  try {
    const loaded = ws.recipe();
    const { dir, manifest } = await openVerifiedCache(loaded);
    const { spec, input } = studentSpecFor(loaded.recipe.student, manifest, dir);
    const setup: TrainerSetup = {
      spec, input, manifest, loss: { alpha: 0.9, temperature: 8, divergence: 'forward_kl' },
      optimizer: { kind: 'adamw', lr: 1e-3, weightDecay: 0.01, momentum: 0, clipNorm: 1 }, seed: 5, threads: 1,
    };
    const loader = new CacheLoader(dir, manifest, { columns: trainingColumns(manifest, input), batchSize: 64, shuffleBuffer: 500, seed: 0 });
    const batches: LoaderBatch[] = [];
    for (let e = 0; batches.length < 50; e++) for await (const b of loader.epoch(e)) if (batches.length < 50) batches.push(b);
    const schedule = cosineWithWarmup({ lr: 1e-3, warmupSteps: 10, totalSteps: 50 });
    const ort = await OnnxTrainer.create(setup);
    const tfjs = await TfjsTrainer.create(setup, 'cpu');
    const curves = { ort: [] as number[], tfjs: [] as number[] };
    for (const [s, b] of batches.entries()) {
      curves.ort.push((await ort.step([b], schedule(s), s)).loss);
      curves.tfjs.push((await tfjs.step([b], schedule(s), s)).loss);
    }
    const worst = Math.max(...curves.ort.map((l, i) => Math.abs(l - curves.tfjs[i]!) / Math.max(1, Math.abs(curves.tfjs[i]!))));
    assert.ok(worst <= LOSS_TOLERANCE, `loss curves differ by up to ${worst} (tolerance ${LOSS_TOLERANCE}): ${curves.ort.slice(-3)} vs ${curves.tfjs.slice(-3)}`);
    assert.ok(curves.ort[49]! < curves.ort[0]! * 0.8, `the student learns: loss ${curves.ort[0]} -> ${curves.ort[49]}`);
    const a = await ort.evaluate(loader, manifest);
    const b = await tfjs.evaluate(loader, manifest);
    assert.ok(Math.abs(a.accuracy - b.accuracy) <= 0.01, `accuracy ${a.accuracy} vs ${b.accuracy}`);
    ort.dispose();
    tfjs.dispose();
  } finally {
    rmSync(ws.dir, { recursive: true, force: true });
  }
});
