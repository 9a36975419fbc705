import type { Vector } from 'apache-arrow';
import { TeacherError } from '../../core/errors/index.js';
import type { PlainTensor } from '../../core/runtime/index.js';
import { fixedSizeListVector, primitiveVector, type NumericArray, type PrimitiveName } from '../../core/util/arrow.js';
import { toFloat16Bits } from '../../core/util/float16.js';
import type { TargetSpec } from './spec.js';

/** Teacher outputs of one batch, as the soft-target head returns them. */
export type HeadOutputs = Record<string, PlainTensor>;

/** Graph outputs the soft-target head produces for each target kind. */
export const HEAD_OUTPUTS = {
  full: ['logits'],
  topk: ['topk_logits', 'topk_ids', 'logsumexp'],
  // logsumexp is not stored for sampled targets: it is read to reject non-finite teacher outputs
  sampled: ['sample_ids', 'logsumexp'],
} as const;

/**
 * Turns one batch of head outputs into the cache's target columns. `rows` are the dataset row
 * indices of the batch, used to name rows with non-finite teacher outputs.
 */
export function targetColumns(spec: TargetSpec, out: HeadOutputs, rows: Int32Array): Record<string, Vector> {
  const positions = spec.seqLen ? [spec.seqLen] : [];
  const values = (t: PlainTensor, name: string): NumericArray => {
    const data = t.data as Float32Array;
    checkFinite(data, rows, name);
    return spec.valueDtype === 'float16' ? toFloat16Bits(data) : data;
  };
  const valueType: PrimitiveName = spec.valueDtype;
  switch (spec.kind) {
    case 'full':
      return { logits: fixedSizeListVector(values(out.logits!, 'logits'), [...positions, spec.vocab], valueType) };
    case 'topk': {
      const k = spec.k!;
      const ids = castIds(out.topk_ids!.data as Int32Array, spec.idDtype);
      const lse = out.logsumexp!.data as Float32Array;
      checkFinite(lse, rows, 'logsumexp');
      return {
        topk_ids: fixedSizeListVector(ids, [...positions, k], spec.idDtype),
        topk_logits: fixedSizeListVector(values(out.topk_logits!, 'topk_logits'), [...positions, k], valueType),
        logsumexp: positions.length ? fixedSizeListVector(lse, positions, 'float32') : primitiveVector(lse, 'float32'),
      };
    }
    case 'sampled': {
      checkFinite(out.logsumexp!.data as Float32Array, rows, 'logsumexp');
      const n = spec.samples!;
      const { ids, counts } = countDraws(out.sample_ids!.data as Int32Array, n, spec.vocab);
      return {
        sample_ids: fixedSizeListVector(castIds(ids, spec.idDtype), [...positions, n], spec.idDtype),
        sample_counts: fixedSizeListVector(counts, [...positions, n], n <= 255 ? 'uint8' : 'uint16'),
      };
    }
  }
}

/**
 * Collapses n draws per position into unique ids (ascending) with counts, padded with
 * id 0 / count 0, so every position has exactly n slots.
 */
export function countDraws(draws: Int32Array, n: number, vocab: number): { ids: Int32Array; counts: Uint8Array | Uint16Array } {
  const ids = new Int32Array(draws.length);
  const counts = n <= 255 ? new Uint8Array(draws.length) : new Uint16Array(draws.length);
  const sorted = new Int32Array(n);
  for (let p = 0; p < draws.length; p += n) {
    sorted.set(draws.subarray(p, p + n));
    sorted.sort();
    let slot = p;
    for (let i = 0; i < n; i++) {
      const id = Math.min(Math.max(sorted[i]!, 0), vocab - 1);
      if (slot > p && ids[slot - 1] === id) counts[slot - 1]!++;
      else { ids[slot] = id; counts[slot] = 1; slot++; }
    }
  }
  return { ids, counts };
}

function castIds(ids: Int32Array, dtype: TargetSpec['idDtype']): NumericArray {
  if (dtype === 'uint8') return Uint8Array.from(ids);
  if (dtype === 'uint16') return Uint16Array.from(ids);
  return new Uint32Array(ids.buffer, ids.byteOffset, ids.length);
}

function checkFinite(data: Float32Array, rows: Int32Array, name: string): void {
  const perRow = data.length / rows.length;
  const bad: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // -Infinity is a legal logit (a masked token); NaN and +Infinity are not
    if (Number.isNaN(v) || v === Infinity) {
      const r = rows[Math.floor(i / perRow)]!;
      if (bad[bad.length - 1] !== r) bad.push(r);
      i = (Math.floor(i / perRow) + 1) * perRow - 1;
    }
  }
  if (bad.length > 0) {
    throw new TeacherError(`teacher output '${name}' has NaN/Inf in ${bad.length} row(s) of this batch (dataset rows ${bad.slice(0, 8).join(', ')}${bad.length > 8 ? ', ...' : ''}); check the teacher and its inputs for these rows`);
  }
}
