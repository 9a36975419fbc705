// Independent float64 references for the eval tests (not a test file itself).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { openDataset, type DatasetSpec } from '../../src/data/index.js';
import { flatValues } from '../../src/core/util/index.js';

/** Every row of a dataset spec as one batch: its columns' flat values. */
export async function allRows(spec: DatasetSpec): Promise<{ rows: number; columns: Record<string, ArrayLike<number>> }> {
  const ds = await openDataset(spec);
  for await (const b of ds.batches({ batchSize: ds.numRows })) {
    const columns: Record<string, ArrayLike<number>> = {};
    for (const f of b.schema.fields) columns[f.name] = flatValues(b.getChild(f.name)!) as ArrayLike<number>;
    return { rows: b.numRows, columns };
  }
  throw new Error('empty dataset');
}

/** One direct onnxruntime run; returns the first output's values. */
export async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const out = await s.run(feeds);
    return out[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** float64 log-softmax of each row of [P, V]. */
export function logSoftmax(logits: ArrayLike<number>, V: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let p = 0; p < logits.length / V; p++) {
    const row = Float64Array.from({ length: V }, (_, v) => logits[p * V + v]!);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    out.push(row.map((x) => x - lse));
  }
  return out;
}

/** Index of the first maximum. */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Metrics of `model` log-probs against labels and against `ref` log-probs, all positions weighted equally. */
export function metrics(model: Float64Array[], ref: Float64Array[], labels: ArrayLike<number>) {
  const P = model.length;
  let correct = 0, nll = 0, agree = 0, kl = 0;
  for (let p = 0; p < P; p++) {
    const y = labels[p]!;
    const pred = argmax(model[p]!);
    if (pred === y) correct++;
    nll -= model[p]![y]!;
    if (pred === argmax(ref[p]!)) agree++;
    for (let v = 0; v < ref[p]!.length; v++) kl += Math.exp(ref[p]![v]!) * (ref[p]![v]! - model[p]![v]!);
  }
  return { accuracy: correct / P, errors: P - correct, crossEntropy: nll / P, agreement: agree / P, kl: kl / P };
}

/** Writes bytes to dir/name and returns the path. */
export function writeModel(dir: string, name: string, bytes: Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** |a - b| <= tol * max(1, |b|). */
export function near(a: number | undefined, b: number, tol = 1e-9): boolean {
  return a !== undefined && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

export { ort };
