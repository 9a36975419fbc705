import { Utf8, vectorFromArray, type Vector } from 'apache-arrow';
import { DatasetError } from '../core/errors/index.js';
import { fixedSizeListVector, primitiveVector } from '../core/util/index.js';
import { typedArray, type ColumnDtype } from './columns.js';
import type { SourceTable } from './source.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * JSONL: one JSON object per line (blank lines skipped). A column holds strings (Utf8),
 * numbers, or equal-shape (possibly nested) arrays of numbers, which become
 * FixedSizeList<dtype> of that shape; the element dtype comes from the caller, default float32.
 */
export function readJsonl(bytes: Uint8Array, path: string): SourceTable {
  const rows: Record<string, Json>[] = [];
  const lines: number[] = [];
  const names = new Set<string>();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DatasetError(`${path}: not valid UTF-8; JSONL files must be UTF-8 text (or set dataset.format)`);
  }
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: Json;
    try {
      value = JSON.parse(line) as Json;
    } catch (err) {
      throw new DatasetError(`${path} line ${i + 1}: not valid JSON (${(err as Error).message}); each line must hold one JSON object`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DatasetError(`${path} line ${i + 1}: expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
    }
    for (const k of Object.keys(value)) names.add(k);
    rows.push(value);
    lines.push(i + 1);
  });
  return {
    columnNames: [...names],
    numRows: rows.length,
    column: (name, dtype) => jsonlColumn(rows, lines, name, dtype ?? 'float32', path),
  };
}

function jsonlColumn(rows: Record<string, Json>[], lines: number[], name: string, dtype: ColumnDtype, path: string): Vector {
  const at = (r: number): string => `${path} line ${lines[r]}, column '${name}'`;
  const values = rows.map((row, r) => {
    const v = row[name];
    if (v === undefined || v === null) throw new DatasetError(`${at(r)}: missing or null; every line needs every kept column`);
    return v;
  });
  if (typeof values[0] === 'string') {
    values.forEach((v, r) => { if (typeof v !== 'string') throw new DatasetError(`${at(r)}: expected a string like line ${lines[0]}, got ${JSON.stringify(v)}`); });
    return vectorFromArray(values as string[], new Utf8());
  }
  const shape = shapeOf(values[0]!);
  const per = shape.reduce((a, b) => a * b, 1);
  if (per === 0) throw new DatasetError(`${at(0)}: expected non-empty arrays, got shape [${shape.join(',')}]`);
  const flat = new Float64Array(values.length * per);
  const integer = dtype.startsWith('int') || dtype.startsWith('uint');
  values.forEach((v, r) => {
    let k = r * per;
    const walk = (x: Json, depth: number): void => {
      if (depth === shape.length) {
        if (typeof x !== 'number') throw new DatasetError(`${at(r)}: expected numbers, got ${JSON.stringify(x)}`);
        if (integer && !Number.isInteger(x)) throw new DatasetError(`${at(r)}: expected integers for dtype ${dtype}, got ${x}; set a float dtype for '${name}'`);
        flat[k++] = x;
        return;
      }
      if (!Array.isArray(x) || x.length !== shape[depth]) {
        throw new DatasetError(`${at(r)}: expected an array of shape [${shape.join(',')}] like line ${lines[0]}, got ${JSON.stringify(x).slice(0, 40)}`);
      }
      for (const y of x) walk(y, depth + 1);
    };
    walk(v, 0);
  });
  const typed = typedArray(flat, dtype);
  return shape.length > 0 ? fixedSizeListVector(typed, shape, dtype) : primitiveVector(typed, dtype);
}

/** Array lengths along the first elements: [] for a number, [3] for [1,2,3], [2,2] for [[1,2],[3,4]]. */
function shapeOf(value: Json): number[] {
  const shape: number[] = [];
  for (let x = value; Array.isArray(x); x = x[0]!) shape.push(x.length);
  return shape;
}
