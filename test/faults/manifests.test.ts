import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest, verifyCache, type Manifest } from '../../src/cache/index.js';
import { CacheError } from '../../src/core/errors/index.js';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { train } from '../../src/train/index.js';
import { kennis, treeHashes, workspace } from '../fixtures/cli.js';

// one finished top-4 cache of 10 classes; every case lies in its own copy
const ws = workspace('manifests', { rows: 300, shardRows: 100 });
const finished = await precompute(loadRecipe(ws.recipe('good.yaml')), { onWarning: () => undefined });
let copies = 0;
function copy(edit: (dir: string, m: Manifest) => void): string {
  const root = join(ws.dir, `case-${copies++}`);
  const dir = join(root, finished.key);
  cpSync(finished.cacheDir, dir, { recursive: true });
  cpSync(join(finished.cacheDir, '..', 'by-request'), join(root, 'by-request'), { recursive: true });
  edit(dir, JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest);
  return dir;
}
const rewrite = (dir: string, m: Manifest) => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
const lie = (change: (m: Manifest) => void) => copy((dir, m) => { change(m); rewrite(dir, m); });

const lies: { name: string; dir: () => string; problem: RegExp }[] = [
  { name: 'a smaller vocabulary than the shards hold', dir: () => lie((m) => { m.targets.vocab = 5; }), problem: /^holds id [5-9] in column 'topk_ids', outside the manifest's vocabulary of 5$/ },
  { name: 'another k', dir: () => lie((m) => { m.targets.k = 5; }), problem: /^targets \(topk, vocab 10, k 5, float32\/uint8\) call for column 'topk_ids' of type FixedSizeList\[5\]<Uint8>, but the schema has FixedSizeList\[4\]<Uint8>$/ },
  { name: 'an id dtype too small for the vocabulary', dir: () => lie((m) => { m.targets.vocab = 300; }), problem: /^targets stores ids as uint8, but a vocabulary of 300 needs uint16$/ },
  { name: 'another value dtype', dir: () => lie((m) => { m.targets.valueDtype = 'float16'; }), problem: /^targets .* call for column 'topk_logits' of type FixedSizeList\[4\]<Float16>, but the schema has FixedSizeList\[4\]<Float32>$/ },
  { name: 'a sequence length the shards do not have', dir: () => lie((m) => { m.targets.seqLen = 8; }), problem: /^targets \(topk, vocab 10, k 4, seq_len 8, float32\/uint8\) call for column 'topk_ids' of type FixedSizeList\[8\]<FixedSizeList\[4\]<Uint8>>/ },
  { name: 'k above the vocabulary', dir: () => lie((m) => { m.targets.k = 11; }), problem: /^targets says top-11 of a vocabulary of 10$/ },
];

test('cache verify checks the manifest target spec against the shards: each lie is one problem naming it; nothing is written', async () => {
  for (const l of lies) {
    const dir = l.dir();
    const before = treeHashes(dir);
    const report = await verifyCache(dir);
    assert.equal(report.ok, false, l.name);
    assert.match(report.problems[0]!.problem, l.problem, l.name);
    assert.ok(!report.message.includes('\n'));
    assert.deepEqual(treeHashes(dir), before, l.name);
  }
});

test('train refuses a cache whose manifest lies, naming the problem, instead of crashing mid-run', async () => {
  const dir = lies[0]!.dir();
  const recipe = ws.recipe('lie.yaml', { cache: { root: join(dir, '..') }, output: { dir: join(ws.dir, 'lie-run') } });
  await assert.rejects(train(loadRecipe(recipe)), (e: Error) => e instanceof CacheError && /failed verification at part-0000\d\.parquet: holds id \d in column 'topk_ids', outside the manifest's vocabulary of 5/.test(e.message));
});

test("manifest.json must be the cache's own regular file: a symlink out or a directory is refused", async () => {
  const outside = join(ws.dir, 'outside-manifest.json');
  const linked = copy((dir) => {
    cpSync(join(dir, 'manifest.json'), outside);
    rmSync(join(dir, 'manifest.json'));
    symlinkSync(outside, join(dir, 'manifest.json'));
  });
  await assert.rejects(readManifest(linked), { name: 'CacheError', message: `'${linked}/manifest.json' is a symlink to '${outside}' outside the cache directory '${linked}'; replace it with the manifest file itself, or delete '${linked}' and re-run precompute` });
  assert.equal((await verifyCache(linked)).ok, false);
  const dirAsManifest = copy((dir) => { rmSync(join(dir, 'manifest.json')); mkdirSync(join(dir, 'manifest.json')); });
  await assert.rejects(readManifest(dirAsManifest), { message: `'${dirAsManifest}/manifest.json' is a directory, not a regular file; delete it and re-run precompute` });
});

test('cache verify on an incomplete cache says so and exits non-zero', async () => {
  const dir = lie((m) => { m.complete = false; m.shards.pop(); });
  const report = await verifyCache(dir);
  assert.equal(report.ok, false);
  assert.equal(report.message, `cache '${dir}' is incomplete: 200 of 300 rows in 2 shards; run \`kennis precompute\` with its recipe to finish it`);
  const r = await kennis(['cache', 'verify', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^bad: manifest\.json: is incomplete: 200 of 300 rows in 2 shards$/m);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});
