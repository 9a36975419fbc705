import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainError } from '../core/errors/index.js';
import type { OptimizerState } from './optim/index.js';
import type { WeightMap } from './students/index.js';
import { isAlive, writeFileAtomic } from '../core/util/fs.js';

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
}

interface TensorIndex { name: string; shape: number[]; offset: number; length: number }

const LATEST = 'latest';

/** Writes a checkpoint to `<dir>/step-<n>/` (via a temp dir and rename) and points `latest` at it. */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<string> {
  mkdirSync(dir, { recursive: true });
  removeAbandonedTemps(dir);
  const name = `step-${String(ckpt.position.step).padStart(7, '0')}`;
  const tmp = join(dir, `.${name}.tmp-${process.pid}`);
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
  writeFileSync(join(tmp, 'tensors.bin'), new Uint8Array(blob.buffer));
  writeFileSync(join(tmp, 'state.json'), JSON.stringify({ position: ckpt.position, optimizerStep: ckpt.optimizer.step, tensors: index }, null, 1));
  const final = join(dir, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  await writeFileAtomic(join(dir, LATEST), name + '\n');
  return final;
}

/** Deletes half-written checkpoint dirs of processes that are gone (a training run killed mid-save). */
function removeAbandonedTemps(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const pid = /^\.step-\d+\.tmp-(\d+)$/.exec(entry)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/** Reads the latest checkpoint under `dir`, or undefined when there is none. */
export function loadLatestCheckpoint(dir: string): Checkpoint | undefined {
  const pointer = join(dir, LATEST);
  if (!existsSync(pointer)) return undefined;
  const name = readFileSync(pointer, 'utf8').trim();
  if (!/^step-\d+$/.test(name)) throw new TrainError(`checkpoint pointer ${pointer} names '${name}'; delete it to start over`);
  const at = join(dir, name);
  let state: { position: TrainPosition; optimizerStep: number; tensors: TensorIndex[] };
  let blob: Float32Array;
  try {
    state = JSON.parse(readFileSync(join(at, 'state.json'), 'utf8'));
    const bytes = readFileSync(join(at, 'tensors.bin'));
    blob = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  } catch (e) {
    throw new TrainError(`checkpoint ${at} cannot be read (${(e as Error).message.split('\n')[0]}); delete it or train without --resume`);
  }
  const weights: WeightMap = {};
  const slots: OptimizerState['slots'] = {};
  for (const t of state.tensors) {
    if (t.offset + t.length > blob.length) throw new TrainError(`checkpoint ${at} is truncated at tensor '${t.name}'; delete it or train without --resume`);
    const entry = { shape: t.shape, data: blob.slice(t.offset, t.offset + t.length) };
    if (t.name.startsWith('weights/')) weights[t.name.slice(8)] = entry;
    else slots[t.name.slice(10)] = entry;
  }
  return { position: state.position, weights, optimizer: { step: state.optimizerStep, slots } };
}

/** Names of the checkpoints under `dir`, oldest first. */
export function listCheckpoints(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => /^step-\d+$/.test(n)).sort() : [];
}
