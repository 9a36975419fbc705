import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainError } from '../core/errors/index.js';
import type { StudentSpec, WeightMap } from './students/index.js';

/** The saved student's model.json: tfjs's weights manifest plus kennis's spec. */
export interface SavedStudentJson {
  format: 'kennis-student';
  /** The architecture, enough to rebuild the student. */
  spec: StudentSpec;
  /** Column of the cache the student reads. */
  inputColumn: string;
  /** tfjs weights manifest (one group, float32, little endian). */
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' }[] }[];
}

/** Saves a student as tfjs-style `model.json` + `weights.bin` (no tfjs-node needed). */
export function saveStudent(dir: string, spec: StudentSpec, inputColumn: string, weights: WeightMap): void {
  mkdirSync(dir, { recursive: true });
  const names = Object.keys(weights);
  const total = names.reduce((n, k) => n + weights[k]!.data.length, 0);
  const blob = new Float32Array(total);
  let at = 0;
  for (const k of names) { blob.set(weights[k]!.data, at); at += weights[k]!.data.length; }
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(blob.buffer));
  const json: SavedStudentJson = {
    format: 'kennis-student', spec, inputColumn,
    weightsManifest: [{ paths: ['weights.bin'], weights: names.map((name) => ({ name, shape: weights[name]!.shape, dtype: 'float32' })) }],
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json, null, 1));
}

/** Loads a student saved by saveStudent. */
export function loadStudent(dir: string): { spec: StudentSpec; inputColumn: string; weights: WeightMap } {
  let json: SavedStudentJson;
  let bytes: Buffer;
  try {
    json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    bytes = readFileSync(join(dir, json.weightsManifest[0]!.paths[0]!));
  } catch (e) {
    throw new TrainError(`no saved student in ${dir} (${(e as Error).message.split('\n')[0]}); pass a run directory written by kennis train`);
  }
  if (json.format !== 'kennis-student') throw new TrainError(`${dir}/model.json is not a kennis student (format ${String(json.format)})`);
  const blob = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const weights: WeightMap = {};
  let at = 0;
  for (const w of json.weightsManifest[0]!.weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    weights[w.name] = { shape: w.shape, data: blob.slice(at, at + n) };
    at += n;
  }
  return { spec: json.spec, inputColumn: json.inputColumn, weights };
}
