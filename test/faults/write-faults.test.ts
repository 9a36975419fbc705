import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileError } from '../../src/core/errors/index.js';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { train } from '../../src/train/index.js';
import { kennis, treeHashes, workspace, type CliResult } from '../fixtures/cli.js';
import { LONG_NAME, makeReadOnly, noDisk, tempsUnder, tinyDisk } from './disk.js';

// a finished cache and a finished run; no write fault may change a byte of them
const ws = workspace('write-faults', { rows: 300, shardRows: 100 });
const good = ws.recipe('good.yaml');
await precompute(loadRecipe(good), { onWarning: () => undefined });
await train(loadRecipe(good, ['train.max_steps=4']));
const before = treeHashes(ws.dir);
const aFile = join(ws.dir, 'a-file');
writeFileSync(aFile, 'not a directory\n');

/** Fills a tiny disk but for about `freeKib` KiB, with a file that must survive the fault byte for byte. */
function nearlyFull(kib: number, freeKib: number): string | undefined {
  const disk = tinyDisk(kib);
  if (disk) writeFileSync(join(disk, 'filler.bin'), Buffer.alloc((kib - freeKib) * 1024, 7));
  return disk;
}

/** The one-line FileError a library call must fail with. */
async function fails(call: Promise<unknown>, expect: RegExp): Promise<FileError> {
  let caught: unknown;
  await call.catch((e: unknown) => { caught = e; });
  assert.ok(caught instanceof FileError, `expected a FileError, got ${String(caught)}`);
  assert.match(caught.message, expect);
  assert.ok(!caught.message.includes('\n'), caught.message);
  return caught;
}

/** A CLI run that ended in exactly one `error:` line and no stack trace. */
function oneErrorLine(r: CliResult, expect: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, expect);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

/** Nothing the fault touched is left half-written: no temp files, no lock of a dead run. */
function clean(dir: string): void {
  assert.deepEqual(tempsUnder(dir), []);
  const locks: string[] = [];
  const walk = (d: string): void => {
    for (const n of existsSync(d) && statSync(d).isDirectory() ? readdirSync(d) : []) {
      if (n === '.lock') locks.push(join(d, n));
      walk(join(d, n));
    }
  };
  walk(dir);
  assert.deepEqual(locks, [], 'locks released');
}

/** Every file of the workspace's cache and run as it was before the faults. */
function unchanged(): void {
  const after = treeHashes(ws.dir);
  for (const [file, hash] of Object.entries(before)) assert.equal(after[file], hash, `${file} unchanged`);
}

const resumable = "free space and rerun precompute \\(it resumes\\)";

test('precompute: a disk that fills up is one line naming the file; the filler survives, no temp file or lock is left', { skip: noDisk }, async () => {
  const disk = nearlyFull(160, 48)!;
  const filler = treeHashes(disk);
  await fails(precompute(loadRecipe(good, [`cache.root=${disk}/cache`]), { onWarning: () => undefined }),
    new RegExp(`^no space left on device writing '${disk}/cache/[^']+'; ${resumable}$`));
  assert.equal(treeHashes(disk)['filler.bin'], filler['filler.bin']);
  clean(disk);
});

test('precompute: a read-only file system, a path under a file and a name too long are one line each', async (t) => {
  const cases: [string, RegExp][] = [
    [`${aFile}/cache`, new RegExp(`^not a directory creating cache directory '${aFile}/cache/[0-9a-f]{64}'; '${aFile}' is a file, not a directory; set cache\\.root or cache\\.dir to another location$`)],
    [join(ws.dir, LONG_NAME), /^file name too long creating cache directory '.*n{300}\/[0-9a-f]{64}'; set cache\.root or cache\.dir to a shorter path$/],
  ];
  const ro = tinyDisk(64);
  if (ro) {
    makeReadOnly(ro);
    cases.push([`${ro}/cache`, new RegExp(`^read-only file system creating cache directory '${ro}/cache/[0-9a-f]{64}'; set cache\\.root or cache\\.dir to another location on a writable file system and rerun$`)]);
  } else t.diagnostic(`EROFS case skipped: ${noDisk || 'mount failed'}`);
  for (const [root, expect] of cases) await fails(precompute(loadRecipe(good, [`cache.root=${root}`]), { onWarning: () => undefined }), expect);
  unchanged();
});

test('train: a disk that fills up mid-run is one line with the fix (free space, --resume); the lock is released, no temp file left', { skip: noDisk }, async () => {
  const disk = nearlyFull(256, 24)!;
  const out = join(disk, 'run');
  const err = await fails(train(loadRecipe(good, [`output.dir=${out}`, 'train.max_steps=40', 'train.checkpoint_every=1'])),
    /^no space left on device [a-z ]+ '[^']+'; free space and rerun with --resume$/);
  assert.ok(err.path.startsWith(out), err.message);
  clean(disk);
});

test('train: a read-only file system and a path under a file are one line naming output.dir', async (t) => {
  const cases: [string, RegExp][] = [
    [`${aFile}/run`, new RegExp(`^not a directory creating output directory '${aFile}/run'; '${aFile}' is a file, not a directory; set output\\.dir to another location$`)],
  ];
  const ro = tinyDisk(64);
  if (ro) {
    makeReadOnly(ro);
    cases.push([`${ro}/run`, new RegExp(`^read-only file system creating output directory '${ro}/run'; set output\\.dir to another location on a writable file system and rerun$`)]);
  } else t.diagnostic(`EROFS case skipped: ${noDisk || 'mount failed'}`);
  for (const [out, expect] of cases) await fails(train(loadRecipe(good, [`output.dir=${out}`, 'train.max_steps=2'])), expect);
});

test('through the CLI: train under a file, export onto a directory, and (as an unprivileged user) train where it may not write', async (t) => {
  const dirAsOut = join(ws.dir, 'a-directory');
  mkdirSync(dirAsOut);
  const runs: Promise<void>[] = [
    kennis(['train', good, `output.dir=${aFile}/run`]).then((r) => oneErrorLine(r, new RegExp(`^error: not a directory creating output directory '${aFile}/run'; '${aFile}' is a file, not a directory; set output\\.dir to another location$`))),
    kennis(['export', join(ws.dir, 'run'), '--out', dirAsOut]).then((r) => oneErrorLine(r, new RegExp(`^error: a directory is in the way writing '${dirAsOut}'; set --out to a file path, not a directory$`))),
  ];
  if (process.getuid?.() === 0) {
    // root writes anywhere: meet EACCES as nobody, in a directory only root may write
    const locked = join(ws.dir, 'root-only');
    mkdirSync(locked);
    for (const p of [ws.dir, locked]) chmodSync(p, 0o755);
    runs.push(kennis(['train', good, `output.dir=${locked}/run`], { uid: 65534, cwd: ws.dir }).then((r) => oneErrorLine(r,
      new RegExp(`^error: permission denied creating output directory '${locked}/run'; make it writable for this user or set output\\.dir to another location and rerun$`))));
  } else t.diagnostic('EACCES case needs root (to run the CLI as nobody)');
  await Promise.all(runs);
  assert.deepEqual(readdirSync(dirAsOut), [], 'export left nothing in the directory');
  unchanged();
});
