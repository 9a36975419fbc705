import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TrainError, fileError } from '../core/errors/index.js';
import type { OptimizerState } from './optim/index.js';
import type { SelectionState } from './selection.js';
import type { WeightMap } from './students/index.js';
import { isAlive, sha256Bytes, writeFileAtomic } from '../core/util/fs.js';

/** Where training stands, enough to continue as if never stopped. */
export interface TrainPosition {
  /** Optimizer steps taken. */
  step: number;
  /** Epoch the next micro-batch comes from. */
  epoch: number;
  /** Micro-batches of that epoch already consumed. */
  batchInEpoch: number;
  /** Rows trained on so far. */
  samples: number;
}

/** A checkpoint: position, weights and optimizer state. */
export interface Checkpoint {
  position: TrainPosition;
  weights: WeightMap;
  optimizer: OptimizerState;
  /** Best-step and early-stopping state of the run (train.select_best / train.early_stop). */
  selection?: SelectionState;
}

interface TensorIndex { name: string; shape: number[]; offset: number; length: number }

interface CheckpointState { position: TrainPosition; optimizerStep: number; tensors: TensorIndex[]; selection?: SelectionState }

const LATEST = 'latest';
/** sha256 of state.json and tensors.bin, written last into the temp dir: a checkpoint without it never became one. */
const CHECKSUMS = 'checksums.json';
const FILES = ['state.json', 'tensors.bin'] as const;
const CHECKPOINT_NAME = /^step-\d+$/;

/** The directory name of the checkpoint at `step`. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

/**
 * Writes a checkpoint to `<dir>/step-<n>/` (via a temp dir and rename) with the sha256 of its
 * files, and points `latest` at it. A full or read-only disk is a FileError naming the checkpoint,
 * and the temp dir is removed.
 */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<string> {
  const name = checkpointName(ckpt.position.step);
  const final = join(dir, name);
  const tmp = join(dir, `.${name}.tmp-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    removeAbandonedTemps(dir);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    const entries = [
      ...Object.entries(ckpt.weights).map(([n, w]) => [`weights/${n}`, w] as const),
      ...Object.entries(ckpt.optimizer.slots).map(([n, s]) => [`optimizer/${n}`, s] as const),
    ];
    const index: TensorIndex[] = [];
    let offset = 0;
    for (const [n, t] of entries) { index.push({ name: n, shape: t.shape, offset, length: t.data.length }); offset += t.data.length; }
    const blob = new Float32Array(offset);
    entries.forEach(([, t], i) => blob.set(t.data, index[i]!.offset));
    const state: CheckpointState = { position: ckpt.position, optimizerStep: ckpt.optimizer.step, tensors: index, ...(ckpt.selection ? { selection: ckpt.selection } : {}) };
    const bytes = { 'state.json': JSON.stringify(state, null, 1), 'tensors.bin': new Uint8Array(blob.buffer) };
    for (const f of FILES) writeFileSync(join(tmp, f), bytes[f]);
    writeFileSync(join(tmp, CHECKSUMS), JSON.stringify(Object.fromEntries(FILES.map((f) => [f, sha256Bytes(bytes[f])])), null, 1));
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    await writeFileAtomic(join(dir, LATEST), name + '\n');
  } catch (err) {
    // cleanup may fail for the same reason (the directory cannot exist); the first error is the one to report
    try { rmSync(tmp, { recursive: true, force: true }); } catch { /* nothing was created */ }
    throw fileError(err, { action: 'writing checkpoint', path: final, rerun: 'rerun with --resume' });
  }
  return final;
}

/** Deletes half-written checkpoint dirs of processes that are gone (a training run killed mid-save). */
function removeAbandonedTemps(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const pid = /^\.step-\d+\.tmp-(\d+)$/.exec(entry)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/** What a checkpoint must fit: the student's weight shapes (optimizer slots are checked against them by name). */
export interface CheckpointExpectation {
  weights: Record<string, readonly number[]>;
}

/**
 * Reads the latest checkpoint under `dir`, or undefined when there is none. Its files must match
 * their sha256, its position must be whole non-negative numbers at the step it is named for, and
 * its tensors must fit (and, with `expect`, have the student's shapes); a checkpoint that does not
 * is a TrainError that names the newest checkpoint before it that does.
 */
export function loadLatestCheckpoint(dir: string, expect?: CheckpointExpectation): Checkpoint | undefined {
  const pointer = join(dir, LATEST);
  if (!existsSync(pointer)) return undefined;
  const name = readFileSync(pointer, 'utf8').trim();
  if (!CHECKPOINT_NAME.test(name)) throw new TrainError(`checkpoint pointer ${pointer} names '${name}'; delete it to start over`);
  try {
    return readCheckpoint(join(dir, name), expect);
  } catch (err) {
    if (!(err instanceof CheckpointProblem)) throw err;
    const good = listCheckpoints(dir).filter((n) => n < name).reverse().find((n) => {
      try {
        readCheckpoint(join(dir, n), expect);
        return true;
      } catch {
        return false;
      }
    });
    const offer = good
      ? `delete '${join(dir, name)}' and write '${good}' into '${pointer}' to resume from ${good}, the newest good checkpoint`
      : 'no earlier checkpoint is good; train without --resume (and with --overwrite) to start over';
    throw new TrainError(`checkpoint ${join(dir, name)} ${err.message}; ${offer}`);
  }
}

/** Why a checkpoint cannot be used (the caller adds which checkpoint and what to do). */
class CheckpointProblem extends Error {}

function readCheckpoint(at: string, expect?: CheckpointExpectation): Checkpoint {
  let state: CheckpointState;
  let blob: Float32Array;
  try {
    const sums = JSON.parse(readFileSync(join(at, CHECKSUMS), 'utf8')) as Record<string, unknown>;
    const bytes = Object.fromEntries(FILES.map((f) => [f, readFileSync(join(at, f))])) as Record<(typeof FILES)[number], Buffer>;
    for (const f of FILES) {
      const actual = sha256Bytes(bytes[f]);
      if (actual !== sums[f]) throw new CheckpointProblem(`is corrupt: ${f} has sha256 ${actual.slice(0, 12)}…, expected ${String(sums[f]).slice(0, 12)}…`);
    }
    state = JSON.parse(bytes['state.json'].toString('utf8')) as CheckpointState;
    const b = bytes['tensors.bin'];
    if (b.byteLength % 4 !== 0) throw new CheckpointProblem(`has ${b.byteLength} bytes of tensors, not a whole number of float32s`);
    blob = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  } catch (e) {
    if (e instanceof CheckpointProblem) throw e;
    throw new CheckpointProblem(`cannot be read (${(e as Error).message.split('\n')[0]})`);
  }
  checkPosition(state, at);
  const weights: WeightMap = {};
  const slots: OptimizerState['slots'] = {};
  for (const t of state.tensors) {
    const size = Array.isArray(t.shape) && t.shape.every(isCount) ? t.shape.reduce((a, d) => a * d, 1) : NaN;
    if (!isCount(t.offset) || !isCount(t.length) || size !== t.length) throw new CheckpointProblem(`has tensor '${t.name}' with shape ${JSON.stringify(t.shape)} and ${t.length} values at offset ${t.offset}`);
    if (t.offset + t.length > blob.length) throw new CheckpointProblem(`is truncated at tensor '${t.name}'`);
    const entry = { shape: t.shape, data: blob.slice(t.offset, t.offset + t.length) };
    if (t.name.startsWith('weights/')) weights[t.name.slice(8)] = entry;
    else if (t.name.startsWith('optimizer/')) slots[t.name.slice(10)] = entry;
    else throw new CheckpointProblem(`has tensor '${t.name}', neither weights/ nor optimizer/`);
  }
  if (expect) checkShapes(weights, expect);
  return { position: state.position, weights, optimizer: { step: state.optimizerStep, slots }, ...(state.selection ? { selection: state.selection } : {}) };
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function checkPosition(state: CheckpointState, at: string): void {
  const p = state.position as unknown as Record<string, unknown> | undefined;
  const bad = ['step', 'epoch', 'batchInEpoch', 'samples'].find((k) => !isCount(p?.[k]));
  if (bad) throw new CheckpointProblem(`has position.${bad} ${JSON.stringify(p?.[bad])}, expected a whole number >= 0`);
  if (checkpointName(state.position.step) !== basename(at)) throw new CheckpointProblem(`holds step ${state.position.step}, not the step it is named for`);
  if (!isCount(state.optimizerStep)) throw new CheckpointProblem(`has optimizerStep ${JSON.stringify(state.optimizerStep)}, expected a whole number >= 0`);
  if (!Array.isArray(state.tensors)) throw new CheckpointProblem('has no tensor index');
}

function checkShapes(weights: WeightMap, expect: CheckpointExpectation): void {
  const names = new Set([...Object.keys(weights), ...Object.keys(expect.weights)]);
  for (const n of names) {
    const got = weights[n]?.shape;
    const want = expect.weights[n];
    if (!got || !want || got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new CheckpointProblem(`has weight '${n}' of shape ${got ? `[${got.join(',')}]` : '(none)'}, the student's is ${want ? `[${want.join(',')}]` : '(none)'}; it was written for another student`);
    }
  }
}

/** Names of the checkpoints under `dir`, oldest first. */
export function listCheckpoints(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => CHECKPOINT_NAME.test(n)).sort() : [];
}
