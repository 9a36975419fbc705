import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import { cacheKey, type ManifestDraft } from '../../src/cache/index.js';
import { fixedSizeListVector, primitiveVector } from '../../src/util/arrow.js';
import { Rng } from '../../src/util/rng.js';

/** A fresh temp directory for one test. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `kennis-${prefix}-`));
}

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
