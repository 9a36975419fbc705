import { TrainError, assert } from '../../core/errors/index.js';
import type { PlainTensor } from '../../core/runtime/index.js';
import type { NumericArray } from '../../core/util/arrow.js';
import { fromFloat16Bits } from '../../core/util/float16.js';
import type { Manifest } from '../../cache/index.js';
import { TAIL_NOISE_ULPS } from '../losses/index.js';
import type { LoaderBatch } from '../loader/index.js';
import type { LossGraphSpec } from './loss-graph.js';

/**
 * Host side of the loss graph: the row inputs (keep mask, label indices) and the teacher-side
 * inputs of one loader batch. What depends on the teacher alone is O(M k) work done here in
 * float64 (the topk teacher buckets, the sampled entropy term); the [M, V] work stays in the graph.
 */

/** The row inputs of a batch and what the host needs of them. */
export interface Rows {
  /** Graph feeds `keep` and `label_index`. */
  feeds: Record<string, PlainTensor>;
  /** 1 where the position counts. */
  keep: Uint8Array;
  /** Hard labels (0 at masked positions). */
  labels: Int32Array;
  /** Unmasked positions. */
  count: number;
  /** Positions M (rows, or rows * seqLen). */
  positions: number;
}

/** Keep mask and labels as batch.ts derives them: negative or out-of-range labels mark ignored positions. */
export function rowsOf(batch: LoaderBatch, manifest: Manifest): Rows {
  const { vocab, seqLen } = manifest.targets;
  const M = batch.size * (seqLen ?? 1);
  assert(M * vocab < 2 ** 31, () => `expected positions*vocab < 2^31 for int32 indices, got ${M}*${vocab}; use a smaller batch`, TrainError);
  const keep = new Uint8Array(M);
  const labels = new Int32Array(M);
  const index = new Int32Array(M);
  const labelCol = manifest.dataset.labelColumn;
  const raw = labelCol ? batch.columns[labelCol] : undefined;
  let count = 0;
  for (let m = 0; m < M; m++) {
    const l = raw === undefined ? 0 : Number(raw[m]);
    const ok = raw === undefined || (l >= 0 && l < vocab);
    keep[m] = ok ? 1 : 0;
    labels[m] = ok ? l : 0;
    index[m] = m * vocab + labels[m]!;
    if (ok) count++;
  }
  return {
    feeds: { keep: { type: 'bool', data: keep, dims: [M] }, label_index: { type: 'int32', data: index, dims: [M] } },
    keep, labels, count, positions: M,
  };
}

/** The teacher-side inputs of one loss head (names as teacherInputNames). */
export function teacherFeeds(batch: LoaderBatch, manifest: Manifest, rows: Rows, spec: Pick<LossGraphSpec, 'kind' | 'prefix' | 'temperature' | 'tail'>): Record<string, PlainTensor> {
  const { vocab: V } = manifest.targets;
  const M = rows.positions;
  const c = batch.columns;
  const p = spec.prefix;
  switch (spec.kind) {
    case 'full': {
      const v = c.logits!;
      const f16 = manifest.targets.valueDtype === 'float16';
      const data = f16 ? (v as Uint16Array) : toFloat32(v);
      return { [`${p}teacher_logits`]: { type: f16 ? 'float16' : 'float32', data, dims: [M, V] } };
    }
    case 'topk': {
      const k = manifest.targets.k!;
      const ids = c.topk_ids!;
      const z = values(c.topk_logits!, manifest);
      const lse = toFloat32(c.logsumexp!);
      const ghost = spec.tail === 'ghost';
      const B = ghost ? k + 1 : k;
      const index = new Int32Array(M * k);
      const lt = new Float32Array(M * B);
      const row = new Float64Array(B);
      for (let m = 0; m < M; m++) {
        const kept = rows.keep[m] === 1;
        // padding rows become a valid uniform teacher: ids 0, logits 0, lse log V (kd.ts)
        for (let j = 0; j < k; j++) {
          index[m * k + j] = m * V + (kept ? Number(ids[m * k + j]) : 0);
          row[j] = (kept ? z[m * k + j]! : 0) / spec.temperature;
        }
        if (ghost) row[k] = teacherGhostLogit(z, kept ? lse[m]! : Math.log(V), m, k, V, spec.temperature, kept);
        logSoftmaxInto(row, lt, m * B);
      }
      return { [`${p}topk_index`]: { type: 'int32', data: index, dims: [M, k] }, [`${p}teacher_logprobs`]: { type: 'float32', data: lt, dims: [M, B] } };
    }
    case 'sampled': {
      const n = manifest.targets.samples!;
      const ids = c.sample_ids!;
      const counts = c.sample_counts!;
      const index = new Int32Array(M * n);
      const q = new Float32Array(M * n);
      const negEntropy = new Float32Array(M);
      const qRow = new Float64Array(n);
      const idRow = new Int32Array(n);
      for (let m = 0; m < M; m++) {
        const kept = rows.keep[m] === 1;
        let total = 0;
        for (let j = 0; j < n; j++) {
          const cnt = kept ? Math.max(Number(counts[m * n + j]), 0) : 0;
          qRow[j] = cnt;
          total += cnt;
          // padding entries (count 0) may carry any id, e.g. -1: point them at a valid column
          idRow[j] = cnt > 0 ? Number(ids[m * n + j]) : 0;
          index[m * n + j] = m * V + idRow[j]!;
        }
        const norm = Math.max(total, 1e-30);
        let h = 0;
        for (let j = 0; j < n; j++) {
          const qj = qRow[j]! / norm;
          q[m * n + j] = qj;
          if (!(qj > 0)) continue;
          // duplicate ids pool their mass in the entropy term
          let merged = 0;
          for (let i = 0; i < n; i++) if (idRow[i] === idRow[j]) merged += qRow[i]! / norm;
          h += qj * Math.log(merged);
        }
        negEntropy[m] = h;
      }
      return {
        [`${p}sample_index`]: { type: 'int32', data: index, dims: [M, n] },
        [`${p}sample_q`]: { type: 'float32', data: q, dims: [M, n] },
        [`${p}sample_negentropy`]: { type: 'float32', data: negEntropy, dims: [M] },
      };
    }
  }
}

/**
 * The teacher ghost bucket's tempered logit under the equal-share tail rule (buckets.ts):
 * tail = 1 - exp(logsumexp(top) - lse), rounding noise below TAIL_NOISE_ULPS ulps of |lse| counts as 0.
 */
function teacherGhostLogit(z: Float32Array, lse: number, m: number, k: number, V: number, T: number, kept: boolean): number {
  if (k >= V) return -Infinity;
  let max = -Infinity;
  for (let j = 0; j < k; j++) max = Math.max(max, kept ? z[m * k + j]! : 0);
  let s = 0;
  for (let j = 0; j < k; j++) s += Math.exp((kept ? z[m * k + j]! : 0) - max);
  const d = max + Math.log(s) - lse;
  const noise = Math.max(Math.abs(lse), 1) * TAIL_NOISE_ULPS * 2 ** -24;
  const tail = -d < noise ? 0 : -Math.expm1(d);
  const logCount = Math.log(V - k);
  return (lse + Math.log(tail) - logCount) / T + logCount;
}

/** out[at..] = logSoftmax(row) (a row of -Infinity entries stays -Infinity where it is). */
function logSoftmaxInto(row: Float64Array, out: Float32Array, at: number): void {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let s = 0;
  for (const v of row) s += Math.exp(v - max);
  const lse = max + Math.log(s);
  for (let j = 0; j < row.length; j++) out[at + j] = row[j]! - lse;
}

/**
 * The teacher's most likely id per position for topk and sampled targets (metrics.ts: first on
 * ties; for sampled targets the mode of the draws, duplicate ids pooling their counts); -1 at
 * masked positions. (Full targets: the evaluation graph's teacher_argmax.)
 */
export function teacherTop1(batch: LoaderBatch, manifest: Manifest, rows: Rows): Int32Array {
  const { kind } = manifest.targets;
  const out = new Int32Array(rows.positions).fill(-1);
  const c = batch.columns;
  const sampled = kind === 'sampled';
  const width = sampled ? manifest.targets.samples! : manifest.targets.k!;
  const scores = sampled ? toFloat32(c.sample_counts!) : values(c.topk_logits!, manifest);
  const ids = sampled ? c.sample_ids! : c.topk_ids!;
  for (let m = 0; m < rows.positions; m++) {
    if (rows.keep[m] !== 1) continue;
    // sampled padding entries (count 0) may carry any id, e.g. -1
    const idAt = (j: number): number => (sampled && !(scores[m * width + j]! > 0) ? 0 : Number(ids[m * width + j]));
    let best = 0;
    let bestScore = -Infinity;
    for (let j = 0; j < width; j++) {
      let s = scores[m * width + j]!;
      if (sampled) {
        s = 0;
        for (let i = 0; i < width; i++) if (idAt(i) === idAt(j)) s += scores[m * width + i]!;
      }
      if (s > bestScore) { bestScore = s; best = j; }
    }
    out[m] = idAt(best);
  }
  return out;
}

/** Float values of a target column (float16 bits decoded). */
export function values(v: NumericArray, manifest: Manifest): Float32Array {
  return manifest.targets.valueDtype === 'float16' ? fromFloat16Bits(v as Uint16Array) : toFloat32(v);
}

/** A column as float32 (no copy when it already is). */
export function toFloat32(v: NumericArray): Float32Array {
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** A column as int32 (no copy when it already is). */
export function toInt32(v: NumericArray): Int32Array {
  return v instanceof Int32Array ? v : Int32Array.from(v as ArrayLike<number>);
}
