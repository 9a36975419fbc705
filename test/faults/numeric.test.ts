import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { encodeShard } from '../../src/cache/index.js';
import { DatasetError, TeacherError } from '../../src/core/errors/index.js';
import { GraphBuilder, dense, reduce } from '../../src/core/onnx/index.js';
import { fixedSizeListVector, primitiveVector } from '../../src/core/util/arrow.js';
import { Rng } from '../../src/core/util/rng.js';
import { openFileDataset } from '../../src/data/file.js';
import { evaluateModels } from '../../src/evaluate/eval/index.js';
import { precompute } from '../../src/precompute/index.js';
import { loadRecipe } from '../../src/recipe/index.js';
import { FEATURES, treeHashes, workspace } from '../fixtures/cli.js';
import { randomWeight } from '../fixtures/teachers.js';

const ws = workspace('numeric', { rows: 120 });
const before = treeHashes(ws.dir);

/** A 20-row Parquet file with a float `label` column holding `labels`. */
function labelled(name: string, labels: number[]): string {
  const rng = new Rng(3);
  const image = Float32Array.from({ length: labels.length * FEATURES }, () => rng.next());
  const file = join(ws.dir, name);
  writeFileSync(file, encodeShard(new arrow.Table({
    image: fixedSizeListVector(image, [FEATURES], 'float32'), label: primitiveVector(Float64Array.from(labels), 'float64'),
  }), 'parquet'));
  return file;
}

test('NaN or fractional labels are refused naming the first row; whole-number float labels are class ids', async () => {
  const base = Array.from({ length: 20 }, (_, i) => i % 10);
  const nan = labelled('nan.parquet', base.map((v, i) => (i === 3 || i === 11 ? NaN : v)));
  await assert.rejects(openFileDataset({ path: nan, label: 'label' }), (e: Error) => e instanceof DatasetError
    && e.message === `label column 'label' of ${nan} holds NaN at row 3 (and 1 more non-integer values); labels must be whole class or token ids: fix or drop these rows`);
  const half = labelled('half.parquet', base.map((v, i) => (i === 7 ? 2.5 : v)));
  await assert.rejects(openFileDataset({ path: half, label: 'label' }), { message: `label column 'label' of ${half} holds 2.5 at row 7; labels must be whole class or token ids: fix or drop these rows` });
  const whole = await openFileDataset({ path: labelled('whole.parquet', base), label: 'label' });
  assert.equal(whole.numClasses, 10);
  assert.equal(String(whole.schema.fields.find((f) => f.name === 'label')!.type), 'Int32');
});

test('eval of a model whose outputs are NaN fails with the count of bad rows, counted independently from the data', async () => {
  const rows = readFileSync(join(ws.dir, 'data.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: number[] });
  const sums = rows.map((r) => r.image.reduce((a, b) => a + b, 0)).sort((a, b) => a - b);
  // log(sum - c) is NaN for rows summing below c: c between two row sums, far from both in float32
  const c = (sums[40]! + sums[41]!) / 2;
  assert.ok(sums[41]! - sums[40]! > 1e-3, 'fixture: a clear gap between the two sums');
  const rng = new Rng(4);
  const g = new GraphBuilder({ name: 'nan-below' });
  const x = g.input('image', 'float32', ['N', FEATURES]);
  const shift = g.op('Log', [g.op('Sub', [reduce(g, 'ReduceSum', x, [1], true), g.scalar(c)])]);
  const logits = g.op('Add', [dense(g, x, randomWeight(rng, [FEATURES, 10], 0.1), randomWeight(rng, [10], 0.1), 'linear', 'fc'), shift]);
  g.output('logits', 'float32', ['N', 10], logits);
  const model = join(ws.dir, 'nan-below.onnx');
  writeFileSync(model, g.toBytes());
  const firstBad = rows.findIndex((r) => r.image.reduce((a, b) => a + b, 0) < c);
  await assert.rejects(evaluateModels([model], { dataset: { name: 'file', path: join(ws.dir, 'data.jsonl'), label: 'label' }, repeats: 1, batchSize: 32 }), (e: Error) =>
    e instanceof TeacherError && e.message === `model '${model}' output 'logits' has NaN/Inf in 41 of ${rows.length} rows (first at dataset row ${firstBad}); its metrics would be meaningless: check the model (a diverged training run?) and its inputs`);
});

test('a string column fed to the teacher is named with its type, not reported as unreadable', async () => {
  const file = join(ws.dir, 'strings.arrow');
  writeFileSync(file, arrow.tableToIPC(arrow.tableFromArrays({ image: Array.from({ length: 20 }, (_, i) => `img-${i}`), label: Int32Array.from({ length: 20 }, (_, i) => i % 10) }), 'file'));
  await assert.rejects(precompute(loadRecipe(ws.recipe('strings.yaml', { dataset: { path: file } }))), {
    name: 'TeacherError', message: "column 'image' is Dictionary<Int32, Utf8>; expected numbers or a fixed-length list of numbers to feed teacher input 'image'",
  });
  const after = treeHashes(ws.dir);
  for (const [f, hash] of Object.entries(before)) assert.equal(after[f], hash, `${f} unchanged`);
});
