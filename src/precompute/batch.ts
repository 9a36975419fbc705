import type { RecordBatch, Vector } from 'apache-arrow';
import { HEAD_OUTPUTS, type HeadOutputs, type TargetSpec } from '../cache/targets/index.js';
import { buildFeeds, type InputBinding, type PlainTensor, type Teacher } from '../core/runtime/index.js';
import { flatValues } from '../core/util/arrow.js';
import { Rng } from '../core/util/rng.js';

/** Name of the sampled head's extra input (see appendSoftTargetHead). */
export const UNIFORMS = 'uniforms';

/** One dataset batch with what the soft-target head returned for it. */
export interface BatchOutput {
  /** The batch's own columns (inputs, label, row), in schema order. */
  columns: Record<string, Vector>;
  /** The head's outputs, [rows, ...] each; turned into target columns on the writer thread. */
  outputs: HeadOutputs;
}

/** Runs the teacher on one dataset batch. */
export async function teacherBatch(teacher: Teacher, batch: RecordBatch, bindings: readonly InputBinding[], spec: TargetSpec): Promise<BatchOutput> {
  const rows = flatValues(batch.getChild('row')!) as Int32Array;
  const feeds: Record<string, PlainTensor> = buildFeeds(batch, bindings);
  if (spec.kind === 'sampled') feeds[UNIFORMS] = uniforms(rows, spec);
  const outputs = await teacher.run(feeds, HEAD_OUTPUTS[spec.kind], `dataset rows ${rows[0]}..${rows[rows.length - 1]}`);
  const columns: Record<string, Vector> = {};
  for (const field of batch.schema.fields) columns[field.name] = batch.getChild(field.name)!;
  return { columns, outputs };
}

/** Seeded per row, so a shard's draws do not depend on batch size, order or resumption. */
export function uniforms(rows: Int32Array, spec: TargetSpec): PlainTensor {
  const positions = spec.seqLen ?? 1;
  const n = spec.samples!;
  const data = new Float32Array(rows.length * positions * n);
  for (let r = 0; r < rows.length; r++) {
    const rng = Rng.derive(spec.seed ?? 0, rows[r]!);
    for (let i = 0; i < positions * n; i++) data[r * positions * n + i] = rng.next();
  }
  return { type: 'float32', data, dims: spec.seqLen ? [rows.length, positions, n] : [rows.length, n] };
}
