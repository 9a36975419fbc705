import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileError, TrainError } from '../../src/core/errors/index.js';
import { sha256Bytes } from '../../src/core/util/fs.js';
import { Rng } from '../../src/core/util/rng.js';
import { checkpointName, loadLatestCheckpoint, saveCheckpoint, type Checkpoint } from '../../src/train/checkpoint.js';
import { tempDir } from '../cache/tmp.js';
import { treeHashes as hashFiles } from '../fixtures/cli.js';
import { LONG_NAME, makeReadOnly, noDisk, tempsUnder, tinyDisk } from './disk.js';

const rng = new Rng(7);
const tensor = (shape: number[]) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.normal()) });
const SHAPES = { 'fc0/kernel': [8, 4], 'fc0/bias': [4] };
function checkpointAt(step: number): Checkpoint {
  return {
    position: { step, epoch: 1, batchInEpoch: step % 3, samples: step * 50 },
    weights: Object.fromEntries(Object.entries(SHAPES).map(([n, s]) => [n, tensor(s)])),
    optimizer: { step, slots: Object.fromEntries(Object.entries(SHAPES).map(([n, s]) => [`${n}/m`, tensor(s)])) },
  };
}

/** A checkpoints dir holding steps 2, 4 and 6 (latest). */
async function three(prefix: string): Promise<{ dir: string; saved: Checkpoint[] }> {
  const dir = join(await tempDir(prefix), 'checkpoints');
  const saved = [checkpointAt(2), checkpointAt(4), checkpointAt(6)];
  for (const c of saved) await saveCheckpoint(dir, c);
  return { dir, saved };
}

/** Rewrites a checkpoint file with `edit` and re-signs it, so only the content checks can catch it. */
function resign(at: string, file: 'state.json' | 'tensors.bin', edit: (b: Buffer) => Buffer): void {
  const bytes = edit(readFileSync(join(at, file)));
  writeFileSync(join(at, file), bytes);
  const sums = JSON.parse(readFileSync(join(at, 'checksums.json'), 'utf8')) as Record<string, string>;
  sums[file] = sha256Bytes(bytes);
  writeFileSync(join(at, 'checksums.json'), JSON.stringify(sums));
}
const editState = (at: string, edit: (s: Record<string, any>) => void) => resign(at, 'state.json', (b) => {
  const s = JSON.parse(b.toString('utf8'));
  edit(s);
  return Buffer.from(JSON.stringify(s));
});

test('a checkpoint loads back exactly as saved, and fits the shapes it was saved with', async () => {
  const { dir, saved } = await three('ckpt-roundtrip');
  const loaded = loadLatestCheckpoint(dir, { weights: SHAPES })!;
  assert.deepEqual(loaded, saved[2]);
});

const damages: { name: string; damage: (at: string) => void; expect: RegExp }[] = [
  { name: 'a flipped byte in tensors.bin', damage: (at) => { const b = readFileSync(join(at, 'tensors.bin')); b[9]! ^= 0x20; writeFileSync(join(at, 'tensors.bin'), b); }, expect: /is corrupt: tensors\.bin has sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…/ },
  { name: 'a flipped byte in state.json', damage: (at) => { const b = readFileSync(join(at, 'state.json')); b[b.length - 3]! ^= 0x01; writeFileSync(join(at, 'state.json'), b); }, expect: /is corrupt: state\.json has sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…/ },
  { name: 'no checksums', damage: (at) => writeFileSync(join(at, 'checksums.json'), ''), expect: /cannot be read \(Unexpected end of JSON input\)/ },
  { name: 'a negative step', damage: (at) => editState(at, (s) => { s.position.step = -6; }), expect: /has position\.step -6, expected a whole number >= 0/ },
  { name: 'a fractional batch position', damage: (at) => editState(at, (s) => { s.position.batchInEpoch = 1.5; }), expect: /has position\.batchInEpoch 1\.5, expected a whole number >= 0/ },
  { name: 'a step other than its name', damage: (at) => editState(at, (s) => { s.position.step = 8; }), expect: /holds step 8, not the step it is named for/ },
  { name: 'a shape that does not hold its values', damage: (at) => editState(at, (s) => { s.tensors[0].shape = [9, 4]; }), expect: /has tensor 'weights\/fc0\/kernel' with shape \[9,4\] and 32 values at offset 0/ },
  { name: 'tensors cut short', damage: (at) => resign(at, 'tensors.bin', (b) => b.subarray(0, b.length - 8)), expect: /is truncated at tensor 'optimizer\/fc0\/bias\/m'/ },
];

for (const d of damages) {
  test(`${d.name}: refused in one line that offers the previous good checkpoint; nothing is changed`, async () => {
    const { dir } = await three(`ckpt-${d.name.replaceAll(' ', '-')}`);
    d.damage(join(dir, checkpointName(6)));
    const before = hashFiles(dir);
    assert.throws(() => loadLatestCheckpoint(dir, { weights: SHAPES }), (e: Error) => {
      assert.ok(e instanceof TrainError, String(e));
      assert.match(e.message, new RegExp(`^checkpoint ${dir}/step-0000006 ${d.expect.source}; delete '${dir}/step-0000006' and write 'step-0000004' into '${dir}/latest' to resume from step-0000004, the newest good checkpoint$`));
      return true;
    });
    assert.deepEqual(hashFiles(dir), before);
  });
}

test('a checkpoint of another student is refused by its shapes; with no good one left, the fix is to start over', async () => {
  const { dir } = await three('ckpt-shapes');
  assert.throws(() => loadLatestCheckpoint(dir, { weights: { ...SHAPES, 'fc0/kernel': [8, 5] } }), (e: Error) => e instanceof TrainError &&
    /^checkpoint .*step-0000006 has weight 'fc0\/kernel' of shape \[8,4\], the student's is \[8,5\]; it was written for another student; no earlier checkpoint is good; train without --resume \(and with --overwrite\) to start over$/.test(e.message));
});

test('write faults: one FileError naming the checkpoint, cause and fix; earlier checkpoints byte-identical; no temp dir left', async (t) => {
  const base = await tempDir('ckpt-write');
  writeFileSync(join(base, 'a-file'), 'x');
  const cases: { name: string; dir: string | undefined; expect: RegExp; prepare?: (dir: string) => Promise<void> }[] = [
    { name: 'ENOTDIR', dir: join(base, 'a-file', 'checkpoints'), expect: /^not a directory writing checkpoint '.*a-file\/checkpoints\/step-0000008'; '.*a-file' is a file, not a directory; choose another location$/ },
    { name: 'ENAMETOOLONG', dir: join(base, LONG_NAME), expect: /^file name too long writing checkpoint '.*n{300}\/step-0000008'; choose a shorter path$/ },
  ];
  const full = tinyDisk(64);
  if (full) cases.push({ name: 'ENOSPC', dir: join(full, 'checkpoints'), expect: /^no space left on device writing checkpoint '.*\/step-0000008'; free space and rerun with --resume$/ });
  const ro = tinyDisk(512);
  if (ro) cases.push({ name: 'EROFS', dir: join(ro, 'checkpoints'), expect: /^read-only file system writing checkpoint '.*\/step-0000008'; choose another location on a writable file system and rerun with --resume$/, prepare: async (d) => { await saveCheckpoint(d, checkpointAt(2)); makeReadOnly(ro); } });
  if (!full || !ro) t.diagnostic(`ENOSPC/EROFS cases skipped: ${noDisk || 'mount failed'}`);
  for (const c of cases) {
    if (c.prepare) await c.prepare(c.dir!);
    else if (c.name === 'ENOSPC') for (const s of [2, 4]) await saveCheckpoint(c.dir!, checkpointAt(s)).catch(() => undefined);
    const before = hashFiles(c.dir!);
    // big enough to fill the tiny disk
    const big = checkpointAt(8);
    big.weights['fc0/kernel'] = tensor([128, 128]);
    await assert.rejects(saveCheckpoint(c.dir!, big), (e: Error) => {
      assert.ok(e instanceof FileError, `${c.name}: ${String(e)}`);
      assert.match(e.message, c.expect, c.name);
      return true;
    });
    assert.deepEqual(hashFiles(c.dir!), before, c.name);
    assert.deepEqual(tempsUnder(c.dir!), [], c.name);
    if (c.name !== 'ENOTDIR' && c.name !== 'ENAMETOOLONG') assert.ok(Object.keys(before).length > 0, `${c.name}: earlier checkpoints were there to protect`);
  }
});
