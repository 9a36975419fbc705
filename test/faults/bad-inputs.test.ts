import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import pLimit from 'p-limit';
import { encodeShard } from '../../src/cache/index.js';
import { GraphBuilder, dense, unsqueeze } from '../../src/core/onnx/index.js';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { train } from '../../src/train/index.js';
import { fixedSizeListVector, primitiveVector } from '../../src/core/util/arrow.js';
import { Rng } from '../../src/core/util/rng.js';
import { FEATURES, kennis, treeHashes, workspace } from '../fixtures/cli.js';
import { mlpClassifier, randomWeight } from '../fixtures/teachers.js';

// a finished cache and a finished run: no bad input may touch them
const ws = workspace('bad-inputs', { rows: 300, shardRows: 100 });
const good = ws.recipe('good.yaml');
await precompute(loadRecipe(good), { onWarning: () => undefined });
await train(loadRecipe(good, ['train.max_steps=4']));
const file = (name: string, content: string | Uint8Array) => {
  writeFileSync(join(ws.dir, name), content);
  return join(ws.dir, name);
};
const recipe = (name: string, changes: Parameters<typeof ws.recipe>[1]) => ws.recipe(`${name}.yaml`, changes);
const teacherBytes = readFileSync(join(ws.dir, 'teacher.onnx'));

/** MNIST-like JSONL rows built by `row(i)`. */
const jsonl = (name: string, row: (i: number) => unknown) => file(name, Array.from({ length: 20 }, (_, i) => JSON.stringify(row(i))).join('\n') + '\n');
const pixels = (n: number, seed: number) => Array.from({ length: n }, (_, j) => ((seed * 31 + j) % 17) / 17);

/** A Parquet file of 20 rows with an `image` column of `width` floats and optionally a `label`. */
function parquet(name: string, width: number, withLabel: boolean): string {
  const rng = new Rng(1);
  const image = Float32Array.from({ length: 20 * width }, () => rng.next());
  const columns: Record<string, arrow.Vector> = { image: fixedSizeListVector(image, [width], 'float32') };
  if (withLabel) columns.label = primitiveVector(Int32Array.from({ length: 20 }, (_, i) => i % 10), 'int32');
  return file(name, encodeShard(new arrow.Table(columns), 'parquet'));
}

/** A teacher whose logits come out as [N, 1, 1, 10]: a rank-4 output no target kind fits. */
function rank4Teacher(): string {
  const rng = new Rng(2);
  const g = new GraphBuilder({ name: 'rank4' });
  const x = g.input('image', 'float32', ['N', FEATURES]);
  const y = dense(g, x, randomWeight(rng, [FEATURES, 10], 0.1), randomWeight(rng, [10], 0.1), 'linear', 'fc');
  g.output('logits', 'float32', ['N', 1, 1, 10], unsqueeze(g, y, [1, 2]));
  return file('rank4.onnx', g.toBytes());
}

interface BadInput {
  /** What is wrong. */
  name: string;
  /** The CLI arguments (files are written when the case runs). */
  args: () => string[];
  /** What the one error line must say: the thing at fault and, mostly, the fix. */
  expect: RegExp;
}

const fileDataset = (path: string, more: Record<string, unknown> = {}) => ({ dataset: { name: 'file', path, ...more } });

const cases: BadInput[] = [
  // recipes: wrong types, unknown and missing keys
  { name: 'teacher.batch_size is a string', args: () => ['precompute', recipe('r1', { teacher: { batch_size: 'big' } })], expect: /recipe key 'teacher\.batch_size': expected number, received string, got "big"/ },
  { name: 'targets.k is fractional', args: () => ['precompute', recipe('r2', { targets: { k: 2.5 } })], expect: /recipe key 'targets\.k': .*int.*, got 2\.5/ },
  { name: 'targets.kind is not a kind', args: () => ['precompute', recipe('r3', { targets: { kind: 'logits' } })], expect: /recipe key 'targets\.kind': .*"full".*"topk".*"sampled".*, got "logits"/ },
  { name: 'an unknown top-level key', args: () => ['precompute', recipe('r5', { teachr: { path: 'x.onnx' } })], expect: /unknown recipe key 'teachr'; valid keys at the top level: teacher, dataset, targets/ },
  { name: 'an unknown nested key', args: () => ['precompute', recipe('r6', { cache: { shard_row: 10 } })], expect: /unknown recipe key 'cache\.shard_row'; valid keys under 'cache': root, dir, format, shard_rows/ },
  { name: 'the teacher section is missing', args: () => ['precompute', recipe('r7', { teacher: undefined })], expect: /recipe key 'teacher' is missing/ },
  { name: 'dataset.name is missing', args: () => ['precompute', file('r8.yaml', `teacher: { path: ${join(ws.dir, 'teacher.onnx')} }\ndataset: { split: train }\n`)], expect: /recipe key 'dataset\.name' is missing/ },
  { name: 'the recipe is a YAML list', args: () => ['precompute', file('r9.yaml', '- teacher\n- dataset\n')], expect: /must be a YAML mapping with keys teacher, dataset, \.\.\.; got a list/ },
  { name: 'the recipe is not valid YAML', args: () => ['precompute', file('r10.yaml', 'teacher: { path: [unclosed\n')], expect: /recipe '.*r10\.yaml' is not valid YAML/ },
  { name: 'the recipe file is missing', args: () => ['precompute', join(ws.dir, 'missing.yaml')], expect: /recipe '.*missing\.yaml' cannot be read \(ENOENT\); pass the path of a YAML recipe/ },
  { name: 'student.dropout out of range', args: () => ['train', recipe('r12', { student: { dropout: 2 } })], expect: /recipe key 'student\.dropout': .*<=0\.95.*, got 2/ },
  // overrides
  { name: 'an override without =', args: () => ['precompute', good, 'targets.k'], expect: /override 'targets\.k' is not key\.path=value; write e\.g\. targets\.k=16/ },
  { name: 'an override of an unknown key', args: () => ['precompute', good, 'targets.kk=3'], expect: /unknown recipe key 'targets\.kk'; valid keys under 'targets': kind, k,/ },
  { name: 'an override with a mistyped value', args: () => ['precompute', good, 'cache.shard_rows=abc'], expect: /recipe key 'cache\.shard_rows': expected number, received string, got "abc"/ },
  { name: 'an override into a value', args: () => ['precompute', good, 'teacher.path.x=1'], expect: /unknown recipe key 'teacher\.path\.x'/ },
  { name: 'an override with invalid YAML', args: () => ['precompute', good, 'targets.k=[1'], expect: /override 'targets\.k=\[1': value is not valid YAML/ },
  // datasets
  { name: 'an unknown dataset name', args: () => ['precompute', good, 'dataset.name=cifar'], expect: /dataset\.name 'cifar' is not a built-in; use mnist, moby-dick, sotu, or file with dataset\.path/ },
  { name: 'a file dataset without a path', args: () => ['precompute', recipe('d2', { dataset: { name: 'file', path: undefined } })], expect: /dataset 'file' needs dataset\.path/ },
  {
    name: 'JSONL without the column the teacher reads', expect: /teacher input 'image' has no dataset column; map it with teacher\.inputs\.image\.column=<one of pixels, label>/,
    args: () => ['precompute', recipe('d4', fileDataset(jsonl('d4.jsonl', (i) => ({ pixels: pixels(FEATURES, i), label: i % 10 })), { label: 'label' }))],
  },
  {
    name: 'JSONL with a mistyped column', expect: /d5\.jsonl line 2, column 'image': expected an array of shape \[64\] like line 1, got "dark"/,
    args: () => ['precompute', recipe('d5', fileDataset(jsonl('d5.jsonl', (i) => ({ image: i % 2 ? 'dark' : pixels(FEATURES, i), label: i % 10 })), { label: 'label' }))],
  },
  {
    name: 'JSONL with rows of different widths', expect: /d6\.jsonl line 8, column 'image': expected an array of shape \[64\] like line 1/,
    args: () => ['precompute', recipe('d6', fileDataset(jsonl('d6.jsonl', (i) => ({ image: pixels(i === 7 ? 10 : FEATURES, i), label: i % 10 })), { label: 'label' }))],
  },
  {
    name: 'Parquet without the label column', expect: /column 'label' not found in parquet file '.*d8\.parquet', which has columns: image/,
    args: () => ['precompute', recipe('d8', fileDataset(parquet('d8.parquet', FEATURES, false), { label: 'label' }))],
  },
  {
    name: 'Parquet whose image column does not fit the teacher', expect: /teacher input 'image' expects \[N,64\] but column 'image' has 10 values per row/,
    args: () => ['precompute', recipe('d9', fileDataset(parquet('d9.parquet', 10, true), { label: 'label' }))],
  },
  { name: 'a text dataset without seq_len', args: () => ['precompute', good, 'dataset.name=moby-dick'], expect: /dataset 'moby-dick' needs dataset\.seq_len/ },
  // teachers
  { name: 'a teacher that is not ONNX', args: () => ['precompute', recipe('t1', { teacher: { path: file('t1.onnx', 'this is not a model\n') } })], expect: /teacher 't1\.onnx' is not an ONNX model .*; set teacher\.path to an \.onnx file/ },
  { name: 'a truncated teacher', args: () => ['precompute', recipe('t2', { teacher: { path: file('t2.onnx', teacherBytes.subarray(0, teacherBytes.length >> 1)) } })], expect: /teacher 't2\.onnx' is not an ONNX model .*; set teacher\.path to an \.onnx file/ },
  { name: 'targets.k larger than the classes', args: () => ['precompute', good, 'targets.k=20'], expect: /targets\.k is 20 but the teacher has only 10 classes; set targets\.k to at most 10/ },
  { name: 'a teacher with a rank-4 output', args: () => ['precompute', recipe('t5', { teacher: { path: rank4Teacher() } })], expect: /teacher output 'logits' has shape \[N,1,1,10\]; expected \[N, classes\] or \[N, T, vocab\]/ },
  { name: 'a teacher output that does not exist', args: () => ['precompute', good, 'teacher.output=probs'], expect: /teacher output 'probs' does not exist; the model's outputs are logits; set teacher\.output/ },
  { name: 'a teacher input mapped to a missing column', args: () => ['precompute', recipe('t7', { teacher: { inputs: { image: { column: 'pixels' } } } })], expect: /teacher\.inputs\.image\.column is 'pixels', which the dataset does not have; its columns are image, label/ },
  {
    name: 'a teacher with fewer classes than the dataset', expect: /teacher output 'logits' has 5 classes but dataset '.*data\.jsonl' has 10; use a teacher with 10 outputs/,
    args: () => ['precompute', recipe('t9', { teacher: { path: file('t9.onnx', mlpClassifier({ seed: 4, inputs: FEATURES, hidden: [8], classes: 5 }).bytes) } })],
  },
  // students that do not fit the cache, and runs that must not be overwritten
  { name: 'a gpt student on a classification cache', args: () => ['train', good, 'student.arch=gpt'], expect: /holds classification targets; a gpt student needs per-token targets/ },
  { name: 'a cnn input_shape that does not fit the cache', args: () => ['train', good, 'student.arch=cnn', 'student.input_shape=[28,28,2]'], expect: /student\.input_shape \[28,28,2\] holds 1568 values, but cache column 'image' has 64 per row/ },
  {
    name: 'training on a distributed cache that is not merged', expect: /was written by `precompute --worker` and is not merged; run 'kennis cache merge .*unmerged'/,
    args: () => {
      mkdirSync(join(ws.dir, 'unmerged'), { recursive: true });
      file('unmerged/manifest.worker-0-of-2.json', '{}');
      return ['train', recipe('s4', { cache: { dir: join(ws.dir, 'unmerged') } })];
    },
  },
  { name: 'training over a finished run', args: () => ['train', good], expect: /already holds a run; pass --resume to continue it, --overwrite to replace it/ },
  // the command line
  { name: 'an unknown flag', args: () => ['precompute', good, '--fast'], expect: /unknown option '--fast'/ },
  { name: '--worker out of range', args: () => ['precompute', good, '--worker', '4/4'], expect: /--worker is '4\/4', expected an index in 0\.\.3 for 4 workers/ },
  { name: '--worker that is not i/n', args: () => ['precompute', good, '--worker', 'half'], expect: /--worker is 'half', expected i\/n/ },
  { name: 'cache merge of a single-process cache in progress', args: () => ['cache', 'merge', ws.dir], expect: /holds no worker manifests/ },
];

test(`${cases.length} malformed inputs each give one error line naming the fault, a non-zero exit, and touch no finished output`, async () => {
  assert.ok(cases.length >= 30);
  const outputs = () => ({ cache: treeHashes(join(ws.dir, 'cache')), run: treeHashes(join(ws.dir, 'run')) });
  const before = outputs();
  assert.ok(Object.keys(before.cache).some((f) => f.endsWith('manifest.json')) && Object.keys(before.run).includes('student/weights.bin'));
  const failures: string[] = [];
  const limit = pLimit(2);
  await Promise.all(cases.map((c) => limit(async () => {
    const r = await kennis(c.args(), { cwd: ws.dir });
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    const problems = [
      r.code === 0 || r.code === null ? `exit code ${r.code}` : '',
      errors.length !== 1 ? `${errors.length} error lines` : '',
      /^\s+at |^\w*Error\b/m.test(r.stderr) ? 'a stack trace' : '',
      errors.length === 1 && !c.expect.test(errors[0]!) ? `a message not matching ${c.expect}` : '',
    ].filter(Boolean);
    if (problems.length > 0) failures.push(`${c.name}: ${problems.join(', ')}\n${r.stderr.trim().split('\n').slice(0, 6).join('\n')}`);
  })));
  assert.deepEqual(failures, []);
  assert.deepEqual(outputs(), before, 'the finished cache and run are untouched');
});
