import * as arrow from 'apache-arrow';
import { flatValues, type NumericArray } from '../core/util/arrow.js';
import { fromFloat16Bits } from '../core/util/float16.js';
import type { Manifest } from './manifest.js';
import { readManifest } from './manifest-io.js';
import { readShards } from './read.js';

/** Sizes and teacher quality of a cache, for `kennis cache info`. */
export interface CacheInfo {
  /** The cache directory. */
  dir: string;
  /** Cache key. */
  key: string;
  /** Whether the manifest marks the cache complete. */
  complete: boolean;
  /** Shard file format. */
  shardFormat: Manifest['shardFormat'];
  /** What the targets are. */
  targetKind: Manifest['targets']['kind'];
  /** Classes or vocabulary size. */
  vocab: number;
  /** Positions per row for sequences. */
  seqLen?: number;
  /** Rows in the recorded shards. */
  rows: number;
  /** Recorded shards. */
  shards: number;
  /** Total bytes of the shard files. */
  bytes: number;
  /** bytes / rows (inputs, labels and targets together). */
  bytesPerSample: number;
  /** bytes / (rows * seqLen), for sequences. */
  bytesPerToken?: number;
  /** What one row of full float32 logits would take: vocab * 4 * (seqLen || 1). */
  fullFloat32BytesPerRow: number;
  /** Fraction of labelled positions (labels >= 0) where the teacher's top prediction equals the label. */
  teacherAccuracy?: number;
  /** Labelled positions teacherAccuracy counts. */
  labeledPositions?: number;
  /** topk only: mean over positions of the probability mass the k stored logits hold. */
  topkMassMean?: number;
}

/** Reads every shard of a cache once and summarizes sizes and teacher quality. */
export async function cacheInfo(dir: string): Promise<CacheInfo> {
  const manifest = await readManifest(dir);
  const { targets, dataset } = manifest;
  const perRow = targets.seqLen ?? 1;
  let correct = 0;
  let labeled = 0;
  let mass = 0;
  let massPositions = 0;
  for await (const { table } of readShards(dir, { manifest })) {
    const positions = table.numRows * perRow;
    const labels = dataset.labelColumn ? table.getChild(dataset.labelColumn) : null;
    const preds = labels ? predictions(table, targets.kind, positions) : undefined;
    if (labels && preds) {
      const y = flatValues(labels);
      if (y.length === positions) {
        for (let p = 0; p < positions; p++) {
          const label = Number(y[p]!);
          if (label < 0) continue; // ignore-index positions (padding)
          labeled++;
          if (preds[p] === label) correct++;
        }
      }
    }
    if (targets.kind === 'topk') {
      const logits = floatValues(table.getChild('topk_logits')!);
      const lse = floatValues(table.getChild('logsumexp')!);
      const k = logits.length / positions;
      for (let p = 0; p < positions; p++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += Math.exp(logits[p * k + j]! - lse[p]!);
        mass += s;
      }
      massPositions += positions;
    }
  }
  const rows = manifest.shards.reduce((n, s) => n + s.rows, 0);
  const bytes = manifest.shards.reduce((n, s) => n + s.bytes, 0);
  return {
    dir,
    key: manifest.key,
    complete: manifest.complete,
    shardFormat: manifest.shardFormat,
    targetKind: targets.kind,
    vocab: targets.vocab,
    ...(targets.seqLen !== undefined ? { seqLen: targets.seqLen } : {}),
    rows,
    shards: manifest.shards.length,
    bytes,
    bytesPerSample: rows > 0 ? bytes / rows : 0,
    ...(targets.seqLen !== undefined ? { bytesPerToken: rows > 0 ? bytes / (rows * targets.seqLen) : 0 } : {}),
    fullFloat32BytesPerRow: targets.vocab * 4 * perRow,
    ...(labeled > 0 ? { teacherAccuracy: correct / labeled, labeledPositions: labeled } : {}),
    ...(massPositions > 0 ? { topkMassMean: mass / massPositions } : {}),
  };
}

/** The teacher's top id per position: argmax of full logits, of the top-k logits, or of the sample counts. */
function predictions(table: arrow.Table, kind: Manifest['targets']['kind'], positions: number): Int32Array | undefined {
  const [scoreCol, idCol] = kind === 'full' ? ['logits', undefined] : kind === 'topk' ? ['topk_logits', 'topk_ids'] : ['sample_counts', 'sample_ids'];
  const scores = table.getChild(scoreCol);
  if (!scores) return undefined;
  const values: NumericArray = kind === 'sampled' ? flatValues(scores) : floatValues(scores);
  const ids = idCol ? table.getChild(idCol) : undefined;
  const idValues = ids ? flatValues(ids) : undefined;
  const width = values.length / positions;
  const out = new Int32Array(positions);
  for (let p = 0; p < positions; p++) {
    const base = p * width;
    let best = 0;
    // strict > keeps the first maximum: the highest-ranked top-k entry, the lowest sampled id
    for (let j = 1; j < width; j++) if (values[base + j]! > values[base + best]!) best = j;
    out[p] = idValues ? Number(idValues[base + best]!) : best;
  }
  return out;
}

/** Flat float values of a float16/float32 column, decoding Float16 bit patterns. */
function floatValues(vector: arrow.Vector): Float32Array | Float64Array {
  let t: arrow.DataType = vector.type;
  while (t instanceof arrow.FixedSizeList) t = t.children[0]!.type;
  const flat = flatValues(vector);
  if (arrow.DataType.isFloat(t) && t.precision === arrow.Precision.HALF) return fromFloat16Bits(flat as Uint16Array);
  return flat as Float32Array | Float64Array;
}
