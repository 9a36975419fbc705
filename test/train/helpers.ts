import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { precompute } from '../../src/precompute/index.js';
import { applyOverrides, validateRecipe, type LoadedRecipe } from '../../src/recipe/index.js';
import { mlpClassifier } from '../fixtures/teachers.js';

/** A tmp workspace with a fixture MNIST teacher and a recipe whose train/validation caches exist. */
export async function mnistWorkspace(overrides: string[] = []): Promise<{ dir: string; recipe: (more?: string[]) => LoadedRecipe }> {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-train-'));
  writeFileSync(join(dir, 'teacher.onnx'), mlpClassifier({ seed: 3, hidden: [48] }).bytes);
  const base = {
    teacher: { path: join(dir, 'teacher.onnx'), batch_size: 500 },
    dataset: { name: 'mnist', split: 'train', limit: 1200 },
    targets: { kind: 'topk', k: 4 },
    cache: { root: join(dir, 'cache'), shard_rows: 500 },
    student: { arch: 'mlp', hidden: [32], dropout: 0.1 },
    distill: { alpha: 0.5, temperature: 2 },
    train: { batch_size: 64, max_steps: 40, log_every: 5, backend: 'wasm', seed: 11 },
    output: { dir: join(dir, 'run') },
  };
  const recipe = (more: string[] = []): LoadedRecipe => ({ recipe: validateRecipe(applyOverrides(base, [...overrides, ...more])), baseDir: dir });
  await precompute(recipe());
  await precompute(recipe(['dataset.split=validation']));
  return { dir, recipe };
}
