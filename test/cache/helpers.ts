import * as arrow from 'apache-arrow';
import { cacheKey, type ManifestDraft } from '../../src/cache/index.js';
import { fixedSizeListVector, primitiveVector, type NumericArray, type PrimitiveName } from '../../src/core/util/arrow.js';
import { Rng } from '../../src/core/util/rng.js';

/** float64 value of binary16 bits from the IEEE 754 definition (an independent reference). */
export function half64(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * 2 ** -14 * (m / 1024);
  return sign * 2 ** (e - 15) * (1 + m / 1024);
}

/** Flat source arrays of a classification shard with full float32 logits. */
export interface ClassRows {
  image: Float32Array;
  label: Int32Array;
  row: Int32Array;
  logits: Float32Array;
}

export const CLASSES = 10;
export const PIXELS = 6;

/** Deterministic rows [first, first+n) of a small classification dataset with teacher logits. */
export function classRows(first: number, n: number): ClassRows {
  const image = new Float32Array(n * PIXELS);
  const label = new Int32Array(n);
  const row = new Int32Array(n);
  const logits = new Float32Array(n * CLASSES);
  for (let i = 0; i < n; i++) {
    const rng = Rng.derive(7, first + i);
    row[i] = first + i;
    label[i] = rng.int(CLASSES);
    for (let j = 0; j < PIXELS; j++) image[i * PIXELS + j] = rng.next();
    for (let c = 0; c < CLASSES; c++) logits[i * CLASSES + c] = rng.normal() * 2;
  }
  return { image, label, row, logits };
}

/** The shard table of classRows (columns in the cache's convention). */
export function classTable(r: ClassRows): arrow.Table {
  return new arrow.Table({
    image: fixedSizeListVector(r.image, [PIXELS], 'float32'),
    label: primitiveVector(r.label, 'int32'),
    row: primitiveVector(r.row, 'int32'),
    logits: fixedSizeListVector(r.logits, [CLASSES], 'float32'),
  });
}

/** A manifest draft for the classification cache. */
export function classDraft(rows: number, shardRows: number, shardFormat: 'parquet' | 'arrow' = 'parquet'): ManifestDraft {
  const targetSpec = { kind: 'full', vocab: CLASSES, valueDtype: 'float32', idDtype: 'uint8' } as const;
  return {
    format: 'kennis-cache',
    version: 1,
    key: cacheKey({ teacherSha256: 'a'.repeat(64), datasetFingerprint: `test-${rows}`, targetSpec }),
    teacher: { file: 'teacher.onnx', sha256: 'a'.repeat(64), inputs: [{ name: 'x', type: 'float32', shape: ['N', PIXELS] }], outputs: [{ name: 'y', type: 'float32', shape: ['N', CLASSES] }], outputKind: 'logits' },
    dataset: { name: 'toy', fingerprint: `test-${rows}`, split: 'train', rows, labelColumn: 'label', inputColumns: ['image'] },
    targets: targetSpec,
    shardFormat,
    shardRows,
    tool: { name: 'kennis', version: '0.1.0' },
    createdAt: '2024-01-01T00:00:00.000Z',
  };
}

export const SEQ = 4;
export const VOCAB = 40;
export const TOPK = 3;

/** Source arrays of a per-token top-k shard; `full` is the teacher's float64 logits before top-k. */
export interface SeqTopkRows {
  inputIds: Int32Array;
  labels: Int32Array;
  row: Int32Array;
  full: Float64Array;
  topkIds: Uint8Array;
  topkLogits: Uint16Array;
  logsumexp: Float32Array;
}

/** Deterministic rows of a byte-level LM cache with top-k targets; some labels are -100 (ignored). */
export function seqTopkRows(first: number, n: number, toHalf: (x: Float32Array) => Uint16Array): SeqTopkRows {
  const P = n * SEQ;
  const r: SeqTopkRows = {
    inputIds: new Int32Array(P), labels: new Int32Array(P), row: new Int32Array(n), full: new Float64Array(P * VOCAB),
    topkIds: new Uint8Array(P * TOPK), topkLogits: new Uint16Array(P * TOPK), logsumexp: new Float32Array(P),
  };
  const logits32 = new Float32Array(P * TOPK);
  for (let i = 0; i < n; i++) {
    const rng = Rng.derive(13, first + i);
    r.row[i] = first + i;
    for (let t = 0; t < SEQ; t++) {
      const p = i * SEQ + t;
      r.inputIds[p] = rng.int(VOCAB);
      for (let v = 0; v < VOCAB; v++) r.full[p * VOCAB + v] = rng.normal() * 3;
      const order = Array.from({ length: VOCAB }, (_, v) => v).sort((a, b) => r.full[p * VOCAB + b]! - r.full[p * VOCAB + a]!);
      // a teacher that is right about 3 times in 4, with one ignored position per row
      r.labels[p] = t === SEQ - 1 ? -100 : rng.next() < 0.75 ? order[0]! : order[1 + rng.int(VOCAB - 1)]!;
      let max = -Infinity;
      for (let v = 0; v < VOCAB; v++) max = Math.max(max, r.full[p * VOCAB + v]!);
      let s = 0;
      for (let v = 0; v < VOCAB; v++) s += Math.exp(r.full[p * VOCAB + v]! - max);
      r.logsumexp[p] = max + Math.log(s);
      for (let j = 0; j < TOPK; j++) {
        r.topkIds[p * TOPK + j] = order[j]!;
        logits32[p * TOPK + j] = r.full[p * VOCAB + order[j]!]!;
      }
    }
  }
  r.topkLogits = toHalf(logits32);
  return r;
}

/** The shard table of seqTopkRows. */
export function seqTopkTable(r: SeqTopkRows): arrow.Table {
  return new arrow.Table({
    input_ids: fixedSizeListVector(r.inputIds, [SEQ], 'int32'),
    labels: fixedSizeListVector(r.labels, [SEQ], 'int32'),
    row: primitiveVector(r.row, 'int32'),
    topk_ids: fixedSizeListVector(r.topkIds, [SEQ, TOPK], 'uint8'),
    topk_logits: fixedSizeListVector(r.topkLogits, [SEQ, TOPK], 'float16'),
    logsumexp: fixedSizeListVector(r.logsumexp, [SEQ], 'float32'),
  });
}

/** A manifest draft for the top-k sequence cache. */
export function seqTopkDraft(rows: number, shardRows: number): ManifestDraft {
  const base = classDraft(rows, shardRows);
  const targets = { kind: 'topk', vocab: VOCAB, seqLen: SEQ, valueDtype: 'float16', idDtype: 'uint8', k: TOPK, positionConvention: 'next-token' } as const;
  return {
    ...base,
    key: cacheKey({ teacherSha256: 'b'.repeat(64), datasetFingerprint: `seq-${rows}`, targetSpec: targets }),
    dataset: { name: 'bytes', fingerprint: `seq-${rows}`, split: 'train', rows, labelColumn: 'labels', inputColumns: ['input_ids'] },
    targets,
  };
}

/** Rows of allTypeColumns. */
export const ALL_TYPES_ROWS = 37;
const N = ALL_TYPES_ROWS;
const T = 3;

/** One column of allTypeColumns: flat values, fixed-size-list shape ([] primitive) and element type. */
export interface Col { name: string; values: NumericArray; shape: number[]; element: PrimitiveName }

/** Columns of every type the cache stores, including edge values (max ints, inf/NaN/subnormal halves). */
export function allTypeColumns(): Col[] {
  const rng = new Rng(5);
  const f32 = new Float32Array(N * 5).map(() => rng.normal());
  f32.set([0, -0, Infinity, -Infinity, NaN, 1e-45, 3.4028234663852886e38], 0);
  const f16 = new Uint16Array(N * 4).map(() => rng.int(65536));
  f16.set([0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x0001, 0x03ff, 0x7bff], 0);
  const u8 = new Uint8Array(N * 4).map(() => rng.int(256));
  u8[0] = 255;
  const u16 = new Uint16Array(N * 2).map(() => rng.int(65536));
  u16[0] = 65535;
  const u32 = new Uint32Array(N * 2).map(() => rng.nextUint32());
  u32[0] = 4294967295;
  return [
    { name: 'image', values: f32, shape: [5], element: 'float32' },
    { name: 'logits16', values: f16, shape: [4], element: 'float16' },
    { name: 'label', values: new Int32Array(N).map((_, i) => (i % 2 ? -i : i * 1000003)), shape: [], element: 'int32' },
    { name: 'row', values: new Int32Array(N).map((_, i) => i), shape: [], element: 'int32' },
    { name: 'ids8', values: u8, shape: [4], element: 'uint8' },
    { name: 'ids16', values: u16, shape: [2], element: 'uint16' },
    { name: 'ids32', values: u32, shape: [2], element: 'uint32' },
    { name: 'lse', values: new Float32Array(N).map(() => rng.normal()), shape: [], element: 'float32' },
    { name: 'seq_logits16', values: new Uint16Array(N * T * 2).map(() => rng.int(0x7c00)), shape: [T, 2], element: 'float16' },
    { name: 'seq_ids32', values: new Uint32Array(N * T * 2).map(() => rng.nextUint32()), shape: [T, 2], element: 'uint32' },
    { name: 'seq_logits32', values: new Float32Array(N * T * 3).map(() => rng.normal()), shape: [T, 3], element: 'float32' },
    { name: 'seq_counts16', values: new Uint16Array(N * T * 2).map(() => rng.int(65536)), shape: [T, 2], element: 'uint16' },
  ];
}

/** The table of rows [from, to) of `cols`. */
export function allTypesTable(cols: Col[], from = 0, to = N): arrow.Table {
  const vectors: Record<string, arrow.Vector> = {};
  for (const c of cols) {
    const per = c.shape.reduce((a, b) => a * b, 1);
    const values = c.values.subarray(from * per, to * per) as NumericArray;
    vectors[c.name] = c.shape.length === 0 ? primitiveVector(values, c.element) : fixedSizeListVector(values, c.shape, c.element);
  }
  return new arrow.Table(vectors);
}
