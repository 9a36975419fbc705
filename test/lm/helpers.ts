import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { tf } from '../../src/train/backend/index.js';
import { openDataset } from '../../src/data/index.js';
import { precompute } from '../../src/precompute/index.js';
import { applyOverrides, validateRecipe, type LoadedRecipe } from '../../src/recipe/index.js';
import { buildStudent } from '../../src/train/students/index.js';
import { loadStudent } from '../../src/train/index.js';
import { flatValues } from '../../src/core/util/index.js';
import { sequenceModel } from '../fixtures/teachers.js';

/** Tokens per window in the LM tests. */
export const SEQ_LEN = 32;
/** Windows per split (train, validation and test each). */
export const ROWS = 48;

/** A tmp workspace with a byte-level fixture teacher and topk + sampled caches of moby-dick (train and validation). */
export async function lmWorkspace(): Promise<{ dir: string; teacher: string; recipe: (more?: string[]) => LoadedRecipe }> {
  const dir = mkdtempSync(join(tmpdir(), 'kennis-lm-'));
  const teacher = join(dir, 'teacher.onnx');
  writeFileSync(teacher, sequenceModel({ vocab: 256, dModel: 32, seed: 5, maxSeq: SEQ_LEN, heads: 2 }).bytes);
  const base = {
    teacher: { path: teacher, batch_size: 32 },
    dataset: { name: 'moby-dick', split: 'train', seq_len: SEQ_LEN, limit: ROWS },
    targets: { kind: 'topk', k: 8, samples: 16, seed: 3 },
    cache: { root: join(dir, 'cache'), shard_rows: 48 },
    student: { arch: 'gpt', d_model: 32, layers: 1, heads: 2, seed: 4 },
    distill: { alpha: 1, temperature: 1 },
    train: { backend: 'wasm', batch_size: 16, max_steps: 20, lr: 0.01, warmup_steps: 2, log_every: 2, seed: 2 },
    output: { dir: join(dir, 'run') },
  };
  const recipe = (more: string[] = []): LoadedRecipe => ({ recipe: validateRecipe(applyOverrides(base, more)), baseDir: dir });
  for (const kind of ['topk', 'sampled']) {
    for (const split of ['train', 'validation']) await precompute(recipe([`targets.kind=${kind}`, `dataset.split=${split}`]));
  }
  return { dir, teacher, recipe };
}

/** input_ids and labels of the first `rows` moby-dick windows of a split. */
export async function windowsOf(split: 'validation' | 'test', rows = ROWS): Promise<{ ids: Int32Array; labels: Int32Array; rows: number }> {
  const ds = await openDataset({ name: 'moby-dick', split, seqLen: SEQ_LEN, limit: rows });
  const ids: number[] = [];
  const labels: number[] = [];
  for await (const b of ds.batches({ batchSize: rows })) {
    ids.push(...flatValues(b.getChild('input_ids')!) as Int32Array);
    labels.push(...flatValues(b.getChild('labels')!) as Int32Array);
  }
  return { ids: Int32Array.from(ids), labels: Int32Array.from(labels), rows: ds.numRows };
}

/** Logits [rows*T*256] of a saved student, from its weights through the tfjs forward pass. */
export function studentLogits(runDir: string, w: { ids: Int32Array; rows: number }): Float32Array {
  const saved = loadStudent(join(runDir, 'student'));
  const student = buildStudent(saved.spec);
  try {
    student.setWeights(saved.weights);
    return tf.tidy(() => student.forward(student.params, tf.tensor2d(w.ids, [w.rows, SEQ_LEN], 'int32'), { training: false }).dataSync() as Float32Array);
  } finally {
    student.dispose();
  }
}

/** Logits of an ONNX model run directly in onnxruntime (all-ones attention mask). */
export async function onnxLogits(file: string, w: { ids: Int32Array; rows: number }): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    const dims = [w.rows, SEQ_LEN];
    const out = await session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(w.ids, (v) => BigInt(v)), dims),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(w.ids.length).fill(1n), dims),
    });
    return out.logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** log-softmax of each V-wide row, in float64. */
function logSoftmax64(logits: Float32Array, row: number, V: number): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[row * V + v]!);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(logits[row * V + v]! - max);
  const lse = max + Math.log(s);
  return Float64Array.from({ length: V }, (_, v) => logits[row * V + v]! - lse);
}

/** Mean -log2 softmax(logits)[label] over all positions, in float64. */
export function bitsPerByte64(logits: Float32Array, labels: Int32Array, V = 256): number {
  let bits = 0;
  for (let p = 0; p < labels.length; p++) bits -= logSoftmax64(logits, p, V)[labels[p]!]! / Math.LN2;
  return bits / labels.length;
}

/** Mean KL(teacher || student) in nats over positions, in float64. */
export function kl64(teacher: Float32Array, student: Float32Array, V = 256): number {
  const positions = teacher.length / V;
  let total = 0;
  for (let p = 0; p < positions; p++) {
    const lt = logSoftmax64(teacher, p, V);
    const ls = logSoftmax64(student, p, V);
    for (let v = 0; v < V; v++) total += Math.exp(lt[v]!) * (lt[v]! - ls[v]!);
  }
  return total / positions;
}
