import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SESSION_END_TAG, SESSION_START_TAG, tensorboardType } from '../../src/train/tensorboard/index.js';
import { loadStudent, train } from '../../src/train/index.js';
import { readRecords } from '../tensorboard/helpers.js';
import { mnistWorkspace } from './helpers.js';

const ws = await mnistWorkspace();

test('a run writes its graph, HParams, memory, phase times and weight histograms to TensorBoard', async () => {
  const run = join(ws.dir, 'run-tb');
  await train(ws.recipe([`output.dir=${run}`, 'train.max_steps=10', 'train.histogram_every=5', 'train.eval_every=5']));
  const dir = join(run, 'tensorboard');
  const file = join(dir, readdirSync(dir).find((f) => f.startsWith('events.out.tfevents.'))!);
  const Event = tensorboardType('tensorboard.Event');
  // CRCs checked by the test's own bitwise reader, messages decoded with TensorBoard's Event
  const events = readRecords(readFileSync(file)).map((raw) => Event.toObject(Event.decode(raw), { longs: Number }) as Record<string, any>);
  const graph = events.find((e) => e.graphDef);
  assert.ok(graph, 'a GraphDef event');
  const GraphDef = tensorboardType('tensorboard.GraphDef');
  const nodes = (GraphDef.toObject(GraphDef.decode(graph.graphDef)) as { node: { name: string; op: string }[] }).node;
  const student = loadStudent(join(run, 'student'));
  for (const name of Object.keys(student.weights)) assert.ok(nodes.some((n) => n.name.endsWith(name)), `graph has weight ${name}`);
  assert.ok(nodes.some((n) => n.op === 'MatMul' || n.op === 'Gemm'));
  const values = events.flatMap((e) => (e.summary?.value ?? []).map((v: Record<string, any>) => ({ ...v, step: e.step ?? 0 })));
  const tags = new Set(values.map((v) => v.tag as string));
  for (const tag of [SESSION_START_TAG, SESSION_END_TAG, 'memory/rss_mib', 'time/step_ms', 'time/data_ms', 'time/eval_ms', 'weights/dense_0/kernel', 'eval/accuracy']) {
    assert.ok(tags.has(tag), `tag ${tag} (have ${[...tags].filter((t) => !t.startsWith('weights')).join(', ')})`);
  }
  const histo = values.filter((v) => v.tag === 'weights/dense_0/kernel');
  assert.deepEqual(histo.map((v) => v.step), [5, 10]);
  // the last histogram counts every weight of the final student
  assert.equal(histo.at(-1)!.histo.num, student.weights['dense_0/kernel']!.data.length);
});

test('onnxruntime runs also write gradient histograms, whose global norm is the logged grad_norm', async () => {
  const run = join(ws.dir, 'run-tb-ort');
  await train(ws.recipe([`output.dir=${run}`, 'train.backend=onnxruntime', 'train.max_steps=10', 'train.histogram_every=5', 'train.log_every=5']));
  const dir = join(run, 'tensorboard');
  const file = join(dir, readdirSync(dir).find((f) => f.startsWith('events.out.tfevents.'))!);
  const Event = tensorboardType('tensorboard.Event');
  const events = readRecords(readFileSync(file)).map((raw) => Event.toObject(Event.decode(raw), { longs: Number }) as Record<string, any>);
  const grads = events.flatMap((e) => (e.summary?.value ?? []).filter((v: Record<string, any>) => v.tag.startsWith('gradients/')).map((v: Record<string, any>) => ({ ...v, step: e.step })));
  const names = Object.keys(loadStudent(join(run, 'student')).weights);
  const logged = new Map(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>)
    .filter((l) => 'grad_norm' in l).map((l) => [l.step!, l.grad_norm!]));
  for (const step of [5, 10]) {
    const at = grads.filter((v) => v.step === step);
    assert.deepEqual(at.map((v) => v.tag.slice('gradients/'.length)).sort(), [...names].sort());
    const norm = Math.sqrt(at.reduce((a, v) => a + v.histo.sumSquares, 0));
    assert.ok(Math.abs(norm - logged.get(step)!) <= 1e-4 * logged.get(step)!, `step ${step}: histogram norm ${norm} vs logged ${logged.get(step)}`);
  }
});
