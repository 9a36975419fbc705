// Bad input: each case is one KennisError with a one-line message naming the problem, and no
// manifest is written or changed. Three cases also run through the CLI: one `error:` line, exit 1.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CacheError, FileError, KennisError, TeacherError } from '../../src/core/errors/index.js';
import { GraphBuilder, dense, reduce } from '../../src/core/onnx/index.js';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { Rng } from '../../src/core/util/rng.js';
import { mlpClassifier, randomWeight, sequenceModel } from '../fixtures/teachers.js';
import { datasetColumns, runCli, tempDir, writeRecipe } from './helpers.js';

const ROWS = 100;
let dir: string;
let recipe: string;
/** A complete cache of the good recipe that no failing run may touch. */
let goodCache: string;
let goodState: string;
/** Rows whose pixel sum is below the NaN teacher's threshold. */
let nanRows: number[];

/** An MLP whose logits get sqrt(pixel sum - c): NaN for rows with a pixel sum below c. */
function nanTeacher(c: number): Uint8Array {
  const rng = new Rng(61);
  const g = new GraphBuilder({ name: 'nan_teacher' });
  const x = g.input('image', 'float32', ['N', 784]);
  const logits = dense(g, x, randomWeight(rng, [784, 10], 0.05), randomWeight(rng, [10], 0.1));
  const root = g.op('Sqrt', [g.op('Sub', [reduce(g, 'ReduceSum', x, [1], true), g.scalar(c)])]);
  g.output('logits', 'float32', ['N', 10], g.op('Add', [logits, root]));
  return g.toBytes();
}

/** Files and sizes under a directory tree, to show that nothing changed. */
function snapshot(root: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push(`${path.relative(root, p)} ${st.size} ${st.mtimeMs} ${name === 'manifest.json' ? readFileSync(p, 'utf8') : ''}`);
    }
  };
  walk(root);
  return out.join('\n');
}

function manifestsUnder(root: string): string[] {
  try {
    return (readdirSync(root, { recursive: true }) as string[]).filter((n) => path.basename(n) === 'manifest.json');
  } catch {
    return []; // the root was never created
  }
}

before(async () => {
  dir = await tempDir('pre-errors');
  const model = mlpClassifier({ seed: 62 }).bytes;
  writeFileSync(path.join(dir, 'mlp.onnx'), model);
  writeFileSync(path.join(dir, 'random.onnx'), Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24));
  writeFileSync(path.join(dir, 'truncated.onnx'), model.subarray(0, Math.floor(model.length * 0.6)));
  writeFileSync(path.join(dir, 'a-file'), 'not a directory\n');
  writeFileSync(path.join(dir, 'lm100.onnx'), sequenceModel({ vocab: 100, dModel: 16, seed: 63 }).bytes);
  const image = (await datasetColumns({ name: 'mnist', split: 'train', limit: ROWS })).image as Float32Array;
  const sums = Array.from({ length: ROWS }, (_, r) => image.subarray(r * 784, (r + 1) * 784).reduce((a, b) => a + b, 0));
  const c = [...sums].sort((a, b) => a - b)[3]! + 1e-3; // the four darkest images
  nanRows = sums.flatMap((s, r) => (s < c ? [r] : []));
  writeFileSync(path.join(dir, 'nan.onnx'), nanTeacher(c));
  recipe = writeRecipe(dir, 'r.yaml', {
    teacher: { path: 'mlp.onnx', batch_size: ROWS, inputs: { image: { column: 'image' } } },
    dataset: { name: 'mnist', split: 'train', limit: ROWS },
    targets: { kind: 'topk', k: 4 },
    cache: { root: 'cache', shard_rows: ROWS },
  });
  goodCache = path.join(dir, 'good');
  const s = await precompute({ ...loadRecipe(recipe, [`cache.dir=${goodCache}`]), baseDir: dir });
  assert.equal(s.rows, ROWS);
  goodState = snapshot(goodCache);
});

const lm = ['teacher.path=lm100.onnx', 'teacher.inputs={}', 'dataset.name=moby-dick', 'dataset.seq_len=16', 'dataset.limit=8', 'teacher.batch_size=4'];
const cases: { name: string; overrides: string[]; error: abstract new (...args: never[]) => KennisError; message: RegExp }[] = [
  { name: 'missing teacher file', overrides: ['teacher.path=missing.onnx'], error: TeacherError, message: /teacher file 'missing\.onnx' cannot be read \(ENOENT\)/ },
  { name: 'random bytes as teacher', overrides: ['teacher.path=random.onnx'], error: TeacherError, message: /'random\.onnx' is not an ONNX model/ },
  { name: 'truncated teacher', overrides: ['teacher.path=truncated.onnx'], error: TeacherError, message: /'truncated\.onnx'/ },
  { name: 'unknown input name', overrides: ['teacher.inputs.pixels.column=image'], error: TeacherError, message: /teacher\.inputs names 'pixels', which the model does not have; the model expects image: float32 \[N,784\]/ },
  { name: 'shape that does not fit', overrides: ['teacher.inputs.image.shape=[3,3]'], error: TeacherError, message: /teacher\.inputs\.image\.shape \[3,3\] holds 9 values but column 'image' has 784 values per row/ },
  { name: 'missing dataset column', overrides: ['teacher.inputs.image.column=pixels'], error: TeacherError, message: /teacher\.inputs\.image\.column is 'pixels', which the dataset does not have; its columns are image, label/ },
  { name: 'k larger than the classes', overrides: ['targets.k=11'], error: TeacherError, message: /targets\.k is 11 but the teacher has only 10 classes/ },
  { name: 'NaN teacher outputs', overrides: ['teacher.path=nan.onnx'], error: TeacherError, message: /NaN/ },
  { name: 'token ids outside the teacher vocabulary', overrides: lm, error: TeacherError, message: /teacher output 'logits' has a vocabulary of 100 but dataset 'moby-dick' is bytes \(vocabulary 256\)/ },
  { name: 'cache root under a regular file', overrides: ['cache.root=a-file/sub'], error: FileError, message: /^not a directory creating cache directory '.*a-file\/sub\/[0-9a-f]{64}'; '.*a-file' is a file, not a directory; set cache\.root or cache\.dir to another location$/ },
];

for (const c of cases) {
  test(`${c.name}: one-line ${c.error.name}, no manifest written or changed`, async () => {
    const root = path.join(dir, `root-${c.name.replaceAll(' ', '-')}`);
    const overrides = [...c.overrides, ...(c.name.startsWith('cache root') ? [] : [`cache.root=${root}`])];
    await assert.rejects(precompute({ ...loadRecipe(recipe, overrides), baseDir: dir }), (e: Error) => {
      assert.ok(e instanceof c.error, `expected ${c.error.name}, got ${e.name}: ${e.message}`);
      assert.match(e.message, c.message);
      assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
      return true;
    });
    assert.deepEqual(manifestsUnder(root), []);
    if (c.error === FileError) return; // cache.dir would replace the bad cache.root
    // against an existing complete cache: the run fails and leaves it as it was
    await assert.rejects(precompute({ ...loadRecipe(recipe, [...c.overrides, `cache.dir=${goodCache}`]), baseDir: dir }), KennisError);
    assert.equal(snapshot(goodCache), goodState);
  });
}

test('an explicit cache.dir holding another recipe\'s complete cache is an error, not a hit', async () => {
  await assert.rejects(precompute({ ...loadRecipe(recipe, ['targets.k=3', `cache.dir=${goodCache}`]), baseDir: dir }),
    (e: Error) => e instanceof CacheError && /holds another cache \(key [0-9a-f]{12}…, teacher 'mlp\.onnx', mnist, topk targets\); this recipe's key is/.test(e.message));
  assert.equal(snapshot(goodCache), goodState);
});

test('the NaN error names exactly the dataset rows with NaN outputs', async () => {
  assert.ok(nanRows.length >= 4 && nanRows.length <= 8, `fixture: ${nanRows.length} NaN rows`);
  await assert.rejects(precompute({ ...loadRecipe(recipe, ['teacher.path=nan.onnx', `cache.root=${path.join(dir, 'nan-rows')}`]), baseDir: dir }),
    new RegExp(`has NaN/Inf in ${nanRows.length} row\\(s\\) of this batch \\(dataset rows ${nanRows.join(', ')}\\)`));
});

test('through the CLI: exactly one `error:` line on stderr, the same as {"error"} on stdout with --json, exit code 1', async () => {
  // later overrides win, so the last case keeps its own cache.root
  const runs = await Promise.all([['teacher.path=missing.onnx'], ['teacher.path=nan.onnx'], ['cache.root=a-file/sub']]
    .map((o) => runCli(['precompute', recipe, `cache.root=${path.join(dir, 'cli-root')}`, ...o, '--json'], dir)));
  for (const r of runs) {
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
    // with --json the same message is the one JSON line on stdout
    assert.deepEqual(JSON.parse(r.stdout), { error: lines[0]!.replace(/^error: /, '') });
    assert.match(lines[0]!, /^error: (teacher file 'missing\.onnx'|teacher output '.*' has NaN|not a directory creating cache directory)/);
  }
  assert.deepEqual(manifestsUnder(path.join(dir, 'cli-root')), []);
});
