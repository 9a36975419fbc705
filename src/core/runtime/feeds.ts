import type { RecordBatch, Schema } from 'apache-arrow';
import { TeacherError } from '../errors/index.js';
import type { TensorSignature } from '../onnx/types.js';
import { flatValues, listShape } from '../util/arrow.js';
import { describeSignature, type PlainTensor } from './session.js';

/** How one model input is fed. */
export interface InputBinding {
  /** Model input name. */
  input: string;
  /** Dataset column, or undefined for a generated all-ones attention mask. */
  column?: string;
  /** Per-row shape (batch dim excluded). */
  rowShape: number[];
  /** onnxruntime element type. */
  type: 'float32' | 'int64' | 'int32';
  /** Source column of a generated attention mask (its shape is copied). */
  maskOf?: string;
}

/** Recipe mapping: model input -> column with optional reshape and cast. */
export type InputMapping = Record<string, { column: string; shape?: number[]; dtype?: 'float32' | 'int64' | 'int32' }>;

const FEEDABLE = new Set(['float32', 'int64', 'int32']);

/**
 * Matches model inputs to dataset columns. Inputs not in `mapping` take the column of the same
 * name; an `attention_mask` input with no column is fed as all ones when `autoMask` is set.
 */
export function bindInputs(inputs: readonly TensorSignature[], schema: Schema, mapping: InputMapping | undefined, autoMask: boolean): InputBinding[] {
  const columns = schema.fields.map((f) => f.name).filter((n) => n !== 'row');
  const unknown = Object.keys(mapping ?? {}).filter((k) => !inputs.some((i) => i.name === k));
  if (unknown.length > 0) {
    throw new TeacherError(`teacher.inputs names '${unknown[0]}', which the model does not have; the model expects ${describeSignature(inputs)}`);
  }
  const bindings: InputBinding[] = [];
  for (const input of inputs) {
    if (!FEEDABLE.has(input.type)) {
      throw new TeacherError(`teacher input '${input.name}' has type ${input.type}; kennis feeds float32, int64 or int32 inputs`);
    }
    const m = mapping?.[input.name];
    const column = m?.column ?? (columns.includes(input.name) ? input.name : undefined);
    if (column === undefined) {
      if (input.name === 'attention_mask' && autoMask) {
        bindings.push({ input: input.name, rowShape: [], type: input.type as InputBinding['type'], maskOf: '' });
        continue;
      }
      throw new TeacherError(`teacher input '${input.name}' has no dataset column; map it with teacher.inputs.${input.name}.column=<one of ${columns.join(', ')}>`);
    }
    const field = schema.fields.find((f) => f.name === column);
    if (!field) {
      throw new TeacherError(`teacher.inputs.${input.name}.column is '${column}', which the dataset does not have; its columns are ${columns.join(', ')}`);
    }
    const colShape = listShape(field.type);
    const perRow = colShape.reduce((a, b) => a * b, 1);
    const modelRow = input.shape.slice(1);
    const rowShape = m?.shape ?? (modelRow.every((d) => typeof d === 'number') ? (modelRow as number[]) : colShape);
    const rowSize = rowShape.reduce((a, b) => a * b, 1);
    if (rowSize !== perRow) {
      const given = m?.shape ? `teacher.inputs.${input.name}.shape [${m.shape.join(',')}] holds ${rowSize} values` : `teacher input '${input.name}' expects [N,${modelRow.join(',')}]`;
      throw new TeacherError(`${given} but column '${column}' has ${perRow} values per row; set teacher.inputs.${input.name}.shape to a shape of ${perRow} values that the model accepts ([N,${modelRow.join(',')}])`);
    }
    if (rowShape.length !== modelRow.length || modelRow.some((d, i) => typeof d === 'number' && d !== rowShape[i])) {
      throw new TeacherError(`teacher input '${input.name}' expects [N,${modelRow.join(',')}], got per-row shape [${rowShape.join(',')}] from column '${column}'; set teacher.inputs.${input.name}.shape`);
    }
    bindings.push({ input: input.name, column, rowShape, type: (m?.dtype ?? input.type) as InputBinding['type'] });
  }
  for (const b of bindings) if (b.maskOf === '') b.maskOf = bindings.find((o) => o.column !== undefined && o.type !== 'float32')?.column ?? bindings.find((o) => o.column)?.column;
  for (const b of bindings) if (b.maskOf !== undefined) b.rowShape = bindings.find((o) => o.column === b.maskOf)!.rowShape;
  return bindings;
}

/** Builds the feeds of one batch from its columns, casting to each input's element type. */
export function buildFeeds(batch: RecordBatch, bindings: readonly InputBinding[]): Record<string, PlainTensor> {
  const feeds: Record<string, PlainTensor> = {};
  const n = batch.numRows;
  for (const b of bindings) {
    const dims = [n, ...b.rowShape];
    const size = dims.reduce((a, d) => a * d, 1);
    if (b.column === undefined) {
      feeds[b.input] = { type: b.type, data: fill(b.type, size), dims };
      continue;
    }
    const values = flatValues(batch.getChild(b.column)!);
    feeds[b.input] = { type: b.type, data: cast(values, b.type), dims };
  }
  return feeds;
}

function fill(type: InputBinding['type'], size: number): PlainTensor['data'] {
  if (type === 'int64') return new BigInt64Array(size).fill(1n);
  if (type === 'int32') return new Int32Array(size).fill(1);
  return new Float32Array(size).fill(1);
}

function cast(values: ArrayLike<number | bigint>, type: InputBinding['type']): PlainTensor['data'] {
  if (type === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>, Number);
  if (type === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>, Number);
  if (values instanceof BigInt64Array) return values;
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt(Math.round(Number(values[i])));
  return out;
}
