import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Manifest } from '../../src/cache/index.js';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { kennis, workspace, type CliResult } from '../fixtures/cli.js';

// one finished cache; every case damages its own copy of it
const ws = workspace('corrupt', { rows: 600, shardRows: 100 });
const finished = await precompute(loadRecipe(ws.recipe('finished.yaml')), { onWarning: () => undefined });

interface Damage {
  /** What is done to the cache. */
  name: string;
  /** Damages the copy in `dir`. */
  apply: (dir: string, manifest: Manifest) => void;
  /** What verify and train must say, naming the shard. */
  expect: RegExp;
}

const editManifest = (dir: string, edit: (m: Manifest) => void) => {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
};

const damages: Damage[] = [
  {
    name: 'a flipped byte', expect: /part-00002\.parquet.*has sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…/,
    apply: (dir) => {
      const file = join(dir, 'part-00002.parquet');
      const bytes = readFileSync(file);
      bytes[bytes.length >> 1]! ^= 0x10;
      writeFileSync(file, bytes);
    },
  },
  {
    name: 'a truncated shard', expect: /part-00003\.parquet.*has \d+ bytes, expected \d+/,
    apply: (dir, m) => truncateSync(join(dir, 'part-00003.parquet'), Math.floor(m.shards[3]!.bytes / 2)),
  },
  { name: 'a deleted shard', expect: /part-00001\.parquet.*is missing/, apply: (dir) => unlinkSync(join(dir, 'part-00001.parquet')) },
  {
    name: 'a manifest edited to record other rows', expect: /part-00005\.parquet.*holds 100 rows, expected 99/,
    apply: (dir) => editManifest(dir, (m) => { m.shards[5]!.rows = 99; }),
  },
  {
    name: "a shard name with '../'", expect: /shards\[2\] file '\.\.\/outside\.parquet' contains a path separator; shard files must be plain names inside the cache directory/,
    apply: (dir) => {
      writeFileSync(join(dir, '..', 'outside.parquet'), readFileSync(join(dir, 'part-00002.parquet')));
      editManifest(dir, (m) => { m.shards[2]!.file = '../outside.parquet'; });
    },
  },
  {
    name: 'an absolute shard path', expect: /shards\[0\] file '\/etc\/hostname' is an absolute path/,
    apply: (dir) => editManifest(dir, (m) => { m.shards[0]!.file = '/etc/hostname'; }),
  },
  {
    // the target even holds the right bytes: the shard must still be the cache's own file
    name: 'a shard that is a symlink out of the cache', expect: /shards\[3\] file 'part-00003\.parquet' is a symlink to '.*outside-3\.parquet' outside the cache directory/,
    apply: (dir) => {
      const outside = join(dir, '..', 'outside-3.parquet');
      writeFileSync(outside, readFileSync(join(dir, 'part-00003.parquet')));
      unlinkSync(join(dir, 'part-00003.parquet'));
      symlinkSync(outside, join(dir, 'part-00003.parquet'));
    },
  },
];

const oneError = (r: CliResult): string => {
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  return lines[0]!;
};

test('cache verify and train refuse a damaged cache or an escaping manifest, naming the shard', async () => {
  const manifest = JSON.parse(readFileSync(join(finished.cacheDir, 'manifest.json'), 'utf8')) as Manifest;
  const limit = pLimit(2);
  await Promise.all(damages.map((d, i) => limit(async () => {
    const root = join(ws.dir, `case-${i}`);
    const dir = join(root, finished.key);
    cpSync(finished.cacheDir, dir, { recursive: true });
    // train finds a cache through its root's address book
    cpSync(join(finished.cacheDir, '..', 'by-request'), join(root, 'by-request'), { recursive: true });
    d.apply(dir, manifest);
    const run = join(ws.dir, `run-${i}`);
    const recipe = ws.recipe(`case-${i}.yaml`, { cache: { root }, output: { dir: run } });
    const [verify, train] = await Promise.all([kennis(['cache', 'verify', dir]), kennis(['train', recipe])]);
    assert.equal(verify.code, 1, `${d.name}: verify exits 1\n${verify.stdout}${verify.stderr}`);
    assert.match(`${verify.stdout}${verify.stderr}`, d.expect, `${d.name}: verify names the shard`);
    assert.doesNotMatch(verify.stderr, /^\s+at /m);
    assert.notEqual(train.code, 0, `${d.name}: train refuses`);
    assert.match(oneError(train), d.expect, `${d.name}: train names the shard`);
    assert.ok(!existsSync(join(run, 'metrics.jsonl')), `${d.name}: train wrote no run`);
    rmSync(root, { recursive: true, force: true });
  })));
});
