import type { RecordBatch, Schema } from 'apache-arrow';
import { TeacherError } from '../errors/index.js';
import type { TensorSignature } from '../onnx/types.js';
import { flatValues, isNumericType, listShape } from '../util/arrow.js';
import { describeSignature, type PlainTensor } from './session.js';

/** How one model input is fed. */
export interface InputBinding {
  /** Model input name. */
  input: string;
  /** Dataset column, or undefined for an input kennis generates (see `generate`). */
  column?: string;
  /** Per-row shape (batch dim excluded). */
  rowShape: number[];
  /** onnxruntime element type. */
  type: 'float32' | 'int64' | 'int32' | 'float16' | 'bool';
  /**
   * A generated input: `ones` (attention_mask), `positions` (position_ids 0..T-1 per row),
   * `empty` (past_key_values.*: a 0-length past, so the decoder runs the full sequence),
   * `false` (use_cache_branch of merged decoders: the branch without past).
   */
  generate?: 'ones' | 'positions' | 'empty' | 'false';
  /** `ones`/`positions`: the column whose shape the generated input copies. */
  maskOf?: string;
  /** Not batched: fed with exactly these dims (use_cache_branch). */
  dims?: number[];
}

/** Recipe mapping: model input -> column with optional reshape and cast. */
export type InputMapping = Record<string, { column: string; shape?: number[]; dtype?: 'float32' | 'int64' | 'int32' }>;

const FEEDABLE = new Set(['float32', 'int64', 'int32']);

/** Inputs of Hugging Face decoder exports (torch.onnx.export, Optimum) that hold the key/value cache. */
const PAST = /^(past_key_values|past)[._]/;

/**
 * Matches model inputs to dataset columns. Inputs not in `mapping` take the column of the same
 * name; the inputs of Hugging Face decoder exports with no such column are generated for a
 * full-sequence forward: `attention_mask` all ones (when `autoMask` is set), `position_ids`
 * 0..T-1, `past_key_values.*` with a 0-length past, `use_cache_branch` false.
 */
export function bindInputs(inputs: readonly TensorSignature[], schema: Schema, mapping: InputMapping | undefined, autoMask: boolean): InputBinding[] {
  const columns = schema.fields.map((f) => f.name).filter((n) => n !== 'row');
  const unknown = Object.keys(mapping ?? {}).filter((k) => !inputs.some((i) => i.name === k));
  if (unknown.length > 0) {
    throw new TeacherError(`teacher.inputs names '${unknown[0]}', which the model does not have; the model expects ${describeSignature(inputs)}`);
  }
  const bindings: InputBinding[] = [];
  for (const input of inputs) {
    const m = mapping?.[input.name];
    const column = m?.column ?? (columns.includes(input.name) ? input.name : undefined);
    if (column === undefined) {
      const generated = generatedInput(input, autoMask);
      if (generated) {
        bindings.push(generated);
        continue;
      }
    }
    if (!FEEDABLE.has(input.type)) {
      throw new TeacherError(`teacher input '${input.name}' has type ${input.type}; kennis feeds float32, int64 or int32 inputs`);
    }
    if (column === undefined) {
      throw new TeacherError(`teacher input '${input.name}' has no dataset column; map it with teacher.inputs.${input.name}.column=<one of ${columns.join(', ')}>`);
    }
    const field = schema.fields.find((f) => f.name === column);
    if (!field) {
      throw new TeacherError(`teacher.inputs.${input.name}.column is '${column}', which the dataset does not have; its columns are ${columns.join(', ')}`);
    }
    if (!isNumericType(field.type)) {
      // strings, ragged lists, structs...: name the type rather than fail on a shape it does not have
      throw new TeacherError(`column '${column}' is ${String(field.type)}; expected numbers or a fixed-length list of numbers to feed teacher input '${input.name}'`);
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
  // generated masks and positions take the shape of the token column (the first integer one)
  const ids = bindings.find((o) => o.column !== undefined && o.type !== 'float32') ?? bindings.find((o) => o.column !== undefined);
  for (const b of bindings) {
    if (b.generate !== 'ones' && b.generate !== 'positions') continue;
    if (!ids) throw new TeacherError(`teacher input '${b.input}' takes the shape of the token ids, but no input is fed from a dataset column; map input_ids with teacher.inputs.input_ids.column`);
    b.maskOf = ids.column!;
    b.rowShape = ids.rowShape;
  }
  return bindings;
}

/** The binding of an input kennis fills itself, or undefined when it has to come from a column. */
function generatedInput(input: TensorSignature, autoMask: boolean): InputBinding | undefined {
  const { name, type, shape } = input;
  if (name === 'attention_mask' && autoMask && FEEDABLE.has(type)) return { input: name, rowShape: [], type: type as InputBinding['type'], generate: 'ones' };
  if (name === 'position_ids' && (type === 'int64' || type === 'int32')) return { input: name, rowShape: [], type, generate: 'positions' };
  if (name === 'use_cache_branch' && type === 'bool') {
    return { input: name, rowShape: [], type, generate: 'false', dims: shape.map((d) => (typeof d === 'number' ? d : 1)) };
  }
  if (PAST.test(name) && (type === 'float32' || type === 'float16')) {
    // [batch, heads, past_sequence_length, head_dim]: the past length is the one dynamic dim after the batch
    const row = shape.slice(1);
    const dynamic = row.filter((d) => typeof d !== 'number');
    if (dynamic.length !== 1) {
      throw new TeacherError(`teacher input '${name}' has shape [${shape.join(',')}]; kennis feeds an empty past only when every dim but the batch and the past length is fixed; re-export the teacher with fixed heads and head size`);
    }
    return { input: name, rowShape: row.map((d) => (typeof d === 'number' ? d : 0)), type, generate: 'empty' };
  }
  return undefined;
}

/** Builds the feeds of one batch from its columns, casting to each input's element type. */
export function buildFeeds(batch: RecordBatch, bindings: readonly InputBinding[]): Record<string, PlainTensor> {
  const feeds: Record<string, PlainTensor> = {};
  const n = batch.numRows;
  for (const b of bindings) {
    const dims = b.dims ?? [n, ...b.rowShape];
    const size = dims.reduce((a, d) => a * d, 1);
    if (b.column === undefined) {
      feeds[b.input] = { type: b.type, data: generate(b, size, dims), dims };
      continue;
    }
    const values = flatValues(batch.getChild(b.column)!);
    // column-fed inputs passed FEEDABLE in bindInputs
    feeds[b.input] = { type: b.type, data: cast(values, b.type as 'float32' | 'int64' | 'int32'), dims };
  }
  return feeds;
}

function generate(b: InputBinding, size: number, dims: readonly number[]): PlainTensor['data'] {
  if (b.generate === 'empty' || b.generate === 'false') return b.type === 'float32' ? new Float32Array(size) : b.type === 'float16' ? new Uint16Array(size) : new Uint8Array(size);
  const length = dims.at(-1) ?? 1;
  const value = b.generate === 'positions' ? (i: number) => i % length : () => 1;
  if (b.type === 'int64') return BigInt64Array.from({ length: size }, (_, i) => BigInt(value(i)));
  if (b.type === 'int32') return Int32Array.from({ length: size }, (_, i) => value(i));
  return Float32Array.from({ length: size }, (_, i) => value(i));
}

function cast(values: ArrayLike<number | bigint>, type: 'float32' | 'int64' | 'int32'): PlainTensor['data'] {
  if (type === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>, Number);
  if (type === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>, Number);
  if (values instanceof BigInt64Array) return values;
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt(Math.round(Number(values[i])));
  return out;
}
