import { tf } from './backend/index.js';
import type { Manifest } from '../cache/index.js';
import type { LoaderBatch } from './loader/index.js';
import type { TeacherTargets } from './losses/index.js';
import type { NumericArray } from '../core/util/arrow.js';
import { fromFloat16Bits } from '../core/util/float16.js';
import type { StudentInput } from './student-spec.js';

/** One micro-batch as tensors; positions M = rows (classification) or rows * T (sequences). */
export interface TensorBatch {
  /** Student inputs: [B, features] float32 or [B, T] int32 ids. */
  inputs: tf.Tensor;
  /** Hard labels [M] int32 (masked positions hold 0). */
  labels: tf.Tensor1D;
  /** 1 where a position counts, 0 for padding / ignored. */
  mask: tf.Tensor1D;
  /** Teacher soft targets for the M positions. */
  teacher: TeacherTargets;
  /** Rows in the batch. */
  rows: number;
}

/** Cache columns the trainer needs for a manifest, input column first. */
export function trainingColumns(manifest: Manifest, input: StudentInput): string[] {
  const targets = { full: ['logits'], topk: ['topk_ids', 'topk_logits', 'logsumexp'], sampled: ['sample_ids', 'sample_counts'] }[manifest.targets.kind];
  const label = manifest.dataset.labelColumn;
  return [input.column, ...(label ? [label] : []), ...targets];
}

/** Turns a loader batch into tensors; the caller owns (and disposes) them. */
export function toTensors(batch: LoaderBatch, manifest: Manifest, input: StudentInput): TensorBatch {
  const { kind, vocab, seqLen } = manifest.targets;
  const B = batch.size;
  const M = B * (seqLen ?? 1);
  const c = batch.columns;
  const inputs = seqLen ? tf.tensor2d(toInt32(c[input.column]!), [B, seqLen], 'int32') : tf.tensor2d(toFloat32(c[input.column]!), [B, input.valuesPerRow]);
  const labelCol = manifest.dataset.labelColumn;
  let labels: tf.Tensor1D;
  let mask: tf.Tensor1D;
  if (labelCol) {
    const raw = toInt32(c[labelCol]!);
    // negative labels (e.g. -100, the PyTorch ignore index) mark ignored positions
    const m = new Float32Array(M);
    const l = new Int32Array(M);
    for (let i = 0; i < M; i++) { const ok = raw[i]! >= 0 && raw[i]! < vocab; m[i] = ok ? 1 : 0; l[i] = ok ? raw[i]! : 0; }
    labels = tf.tensor1d(l, 'int32');
    mask = tf.tensor1d(m);
  } else {
    labels = tf.zeros([M], 'int32');
    mask = tf.ones([M]);
  }
  let teacher: TeacherTargets;
  if (kind === 'full') {
    teacher = { kind, logits: tf.tensor2d(values(c.logits!, manifest), [M, vocab]) };
  } else if (kind === 'topk') {
    const k = manifest.targets.k!;
    teacher = {
      kind,
      ids: tf.tensor2d(toInt32(c.topk_ids!), [M, k], 'int32'),
      logits: tf.tensor2d(values(c.topk_logits!, manifest), [M, k]),
      logsumexp: tf.tensor1d(toFloat32(c.logsumexp!)),
    };
  } else {
    const n = manifest.targets.samples!;
    teacher = { kind, ids: tf.tensor2d(toInt32(c.sample_ids!), [M, n], 'int32'), counts: tf.tensor2d(toFloat32(c.sample_counts!), [M, n]) };
  }
  return { inputs, labels, mask, teacher, rows: B };
}

/** Disposes every tensor of a batch. */
export function disposeBatch(b: TensorBatch): void {
  tf.dispose([b.inputs, b.labels, b.mask, ...Object.values(b.teacher).filter((v): v is tf.Tensor => v instanceof tf.Tensor)]);
}

function values(v: NumericArray, manifest: Manifest): Float32Array {
  return manifest.targets.valueDtype === 'float16' ? fromFloat16Bits(v as Uint16Array) : toFloat32(v);
}

function toFloat32(v: NumericArray): Float32Array {
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

function toInt32(v: NumericArray): Int32Array {
  return v instanceof Int32Array ? v : Int32Array.from(v as ArrayLike<number>);
}
