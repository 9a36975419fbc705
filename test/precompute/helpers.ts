/** Shared pieces of the precompute tests: recipes, CLI children, cache reading, direct onnxruntime runs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import * as ort from 'onnxruntime-node';
import { columnValues, readManifest, readShards, type Manifest } from '../../src/cache/index.js';
import { openDataset, type DatasetSpec } from '../../src/data/index.js';
import { validateRecipe, type LoadedRecipe } from '../../src/recipe/index.js';
import { flatValues, type NumericArray } from '../../src/core/util/arrow.js';
import { compiledCli } from '../fixtures/compiled.js';

export { tempDir } from '../cache/tmp.js';
export { half64 } from '../cache/helpers.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A recipe built in code, with relative paths resolving against `dir`. */
export function recipeIn(dir: string, raw: Record<string, unknown>): LoadedRecipe {
  return { recipe: validateRecipe(raw), baseDir: dir };
}

/** Writes `raw` as a YAML recipe file in `dir`; returns its path. */
export function writeRecipe(dir: string, name: string, raw: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(file, stringify(raw));
  return file;
}

/** What a CLI child did. */
export interface CliResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Starts `kennis ...args` in `cwd`, from the compiled sources (see test/fixtures/compiled.ts). */
export function startCli(args: readonly string[], cwd: string): ChildProcess {
  return spawn(process.execPath, [compiledCli(), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves once a child exits, with its output. */
export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs the CLI to completion. */
export function runCli(args: readonly string[], cwd: string): Promise<CliResult> {
  return finished(startCli(args, cwd));
}

/**
 * Every column of a cache, concatenated over its shards in row order, as flat values: narrow
 * stored columns decoded to the dataset's values (as the loader gives them), or with `stored` their codes.
 */
export async function readCache(dir: string, options: { stored?: boolean } = {}): Promise<{ manifest: Manifest; columns: Record<string, NumericArray> }> {
  const manifest = await readManifest(dir);
  const parts: Record<string, NumericArray[]> = {};
  for await (const { table } of readShards(dir, { manifest, verify: true })) {
    for (const f of table.schema.fields) (parts[f.name] ??= []).push(options.stored ? flatValues(table.getChild(f.name)!) : columnValues(table, f.name, manifest).values);
  }
  const columns: Record<string, NumericArray> = {};
  for (const [name, list] of Object.entries(parts)) {
    const Ctor = list[0]!.constructor as new (n: number) => NumericArray;
    const out = new Ctor(list.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of list) { (out as Float32Array).set(a as Float32Array, at); at += a.length; }
    columns[name] = out;
  }
  return { manifest, columns };
}

/** sha256 of every shard file of a cache, by file name. */
export function shardHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).filter((n) => n.startsWith('part-')).sort()) {
    out[name] = createHash('sha256').update(readFileSync(path.join(dir, name))).digest('hex');
  }
  return out;
}

/** The flat columns of a dataset's rows, read straight from the dataset (not from a cache). */
export async function datasetColumns(spec: DatasetSpec): Promise<Record<string, NumericArray>> {
  const ds = await openDataset(spec);
  const parts: Record<string, NumericArray[]> = {};
  for await (const b of ds.batches({ batchSize: ds.numRows })) {
    for (const f of b.schema.fields) (parts[f.name] ??= []).push(flatValues(b.getChild(f.name)!).slice());
  }
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v[0]!]));
}

/**
 * Runs the ORIGINAL teacher model with onnxruntime directly, in batches of `batchSize` rows
 * (as precompute does), and returns its first output for all rows, concatenated.
 */
export async function directRun(model: Uint8Array, rows: number, batchSize: number, feed: (start: number, end: number) => Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  try {
    const chunks: Float32Array[] = [];
    for (let start = 0; start < rows; start += batchSize) {
      const out = await session.run(feed(start, Math.min(rows, start + batchSize)));
      chunks.push((out[session.outputNames[0]!] as ort.Tensor).data as Float32Array);
    }
    const all = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) { all.set(c, at); at += c.length; }
    return all;
  } finally {
    await session.release();
  }
}

/** int64 tensor of int32 token ids. */
export function int64(values: Int32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

/** float64 logsumexp of one row of logits. */
export function logSumExp64(x: ArrayLike<number>, from: number, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, x[from + i]!);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[from + i]! - m);
  return m + Math.log(s);
}

/** The k largest values of x[from, from + n), descending (one pass; k is small). */
export function largest(x: ArrayLike<number>, from: number, n: number, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = x[from + i]!;
    if (top.length === k && v <= top[k - 1]!) continue;
    let j = Math.min(top.length, k - 1);
    while (j > 0 && top[j - 1]! < v) { top[j] = top[j - 1]!; j--; }
    top[j] = v;
  }
  return top;
}

/** True when a stored float16 value is the rounding of x: within half a float16 ulp (relative 2^-11, or 2^-25 near zero). */
export function isFloat16Rounding(stored: number, x: number): boolean {
  return Math.abs(stored - x) <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -25);
}

export { ort };
