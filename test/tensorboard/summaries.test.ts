import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type protobuf from 'protobufjs';
import {
  SummaryWriter, graphDefFromOnnx, histogramOf, flattenHParams, memoryScalars, PhaseTimes, tensorboardType,
  EXPERIMENT_TAG, SESSION_START_TAG, SESSION_END_TAG,
} from '../../src/train/tensorboard/index.js';
import { GraphBuilder, decodeModel, dense, attr } from '../../src/core/onnx/index.js';
import { KennisError } from '../../src/core/errors/index.js';
import { Rng } from '../../src/core/util/index.js';
import { parseMessage, readRecords } from './helpers.js';

// Field numbers as tensorflow/tensorboard's .proto files give them, for wire-level checks that do
// not go through the schema under test.
const EVENT = { wallTime: 1, step: 2, fileVersion: 3, graphDef: 4, summary: 5 };
const VALUE = { tag: 1, histo: 5, tensor: 8, metadata: 9 };
const HISTO = { min: 1, max: 2, num: 3, sum: 4, sumSquares: 5, bucketLimit: 6, bucket: 7 };

const Event = (): protobuf.Type => tensorboardType('tensorboard.Event');
const toPlain = (type: protobuf.Type, bytes: Uint8Array): Record<string, any> =>
  type.toObject(type.decode(bytes), { longs: Number }) as Record<string, any>;

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kennis-tb-'));
}

/** Every record of an event file, CRCs checked by the independent reader, decoded with TensorBoard's Event. */
function readEvents(file: string): { raw: Uint8Array; event: Record<string, any> }[] {
  return readRecords(fs.readFileSync(file)).map((raw) => ({ raw, event: toPlain(Event(), raw) }));
}

function field(bytes: Uint8Array, number: number) {
  return parseMessage(bytes).filter((f) => f.field === number);
}

function packedDoubles(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, i) => view.getFloat64(8 * i, true));
}

test('histograms: buckets, counts and moments against a float64 reference, edges and non-finite values', () => {
  const rng = new Rng(7);
  const values = Float32Array.from({ length: 5000 }, () => rng.normal() * 0.3 + 0.1);
  values[17] = NaN;
  values[99] = Infinity;
  const h = histogramOf(values, 20);
  const finite = [...values].filter(Number.isFinite);
  assert.equal(h.num, finite.length);
  assert.equal(h.min, Math.min(...finite));
  assert.equal(h.max, Math.max(...finite));
  const sum = finite.reduce((a, v) => a + v, 0);
  const sumSquares = finite.reduce((a, v) => a + v * v, 0);
  assert.ok(Math.abs(h.sum - sum) <= 1e-9 * finite.length, `sum ${h.sum} vs ${sum}`);
  assert.ok(Math.abs(h.sumSquares - sumSquares) <= 1e-9 * finite.length);
  assert.equal(h.bucket.length, 20);
  const width = (h.max - h.min) / 20;
  h.bucketLimit.forEach((limit, i) => assert.ok(Math.abs(limit - (h.min + width * (i + 1))) <= 1e-12, `limit ${i}`));
  assert.equal(h.bucketLimit.at(-1), h.max);
  // an independent count: bucket i holds (limit[i-1], limit[i]], bucket 0 everything from min
  const counts = h.bucket.map((_, i) => finite.filter((v) => v <= h.bucketLimit[i]! && (i === 0 || v > h.bucketLimit[i - 1]!)).length);
  assert.deepEqual(h.bucket, counts);

  // values on bucket edges belong to the bucket they close
  const edges = histogramOf([0, 1, 2, 3, 4], 4);
  assert.deepEqual(edges.bucketLimit, [1, 2, 3, 4]);
  assert.deepEqual(edges.bucket, [2, 1, 1, 1]);
  // all equal: one bucket
  assert.deepEqual(histogramOf([2.5, 2.5, 2.5]), { min: 2.5, max: 2.5, num: 3, sum: 7.5, sumSquares: 18.75, bucketLimit: [2.5], bucket: [3] });
  assert.throws(() => histogramOf([NaN, Infinity]), (e: Error) => e instanceof KennisError && /none finite/.test(e.message));
  assert.throws(() => histogramOf([1], 0), KennisError);
});

test('histogram events decode with the .proto definitions and on the wire (histo = 5, packed bucket_limit = 6, bucket = 7)', () => {
  const dir = tmpdir();
  const w = new SummaryWriter(dir);
  const rng = new Rng(3);
  const weights = Float32Array.from({ length: 300 }, () => rng.normal());
  const grads = Float32Array.from({ length: 50 }, () => rng.normal() * 1e-3);
  w.histograms({ 'weights/dense0.W': weights, 'gradients/dense0.W': grads }, 40, 12, 1_700_000_000.5);
  w.histogram('weights/bias', [0, 0, 0], 41);
  w.close();

  const events = readEvents(w.path);
  assert.equal(events.length, 3);
  const { raw, event } = events[1]!;
  assert.equal(event['step'], 40);
  assert.equal(event['wallTime'], 1_700_000_000.5);
  const values = event['summary'].value as Record<string, any>[];
  assert.deepEqual(values.map((v) => v['tag']), ['weights/dense0.W', 'gradients/dense0.W']);
  for (const [v, data] of [[values[0]!, weights], [values[1]!, grads]] as const) {
    const histo = v['histo'];
    const ref = [...data];
    assert.equal(histo.num, ref.length);
    assert.equal(histo.min, Math.min(...ref));
    assert.equal(histo.max, Math.max(...ref));
    assert.equal(histo.bucket.length, 12);
    assert.equal(histo.bucket.reduce((a: number, b: number) => a + b, 0), ref.length);
  }

  // the same numbers through the wire-level reader, by TensorBoard's field numbers
  const summary = field(raw, EVENT.summary)[0]!.bytes!;
  const firstValue = field(summary, 1)[0]!.bytes!;
  assert.equal(new TextDecoder().decode(field(firstValue, VALUE.tag)[0]!.bytes), 'weights/dense0.W');
  const histo = field(firstValue, VALUE.histo)[0]!.bytes!;
  assert.equal(field(histo, HISTO.num)[0]!.f64, 300);
  assert.equal(field(histo, HISTO.min)[0]!.f64, values[0]!['histo'].min);
  assert.deepEqual(packedDoubles(field(histo, HISTO.bucketLimit)[0]!.bytes!), values[0]!['histo'].bucketLimit);
  assert.deepEqual(packedDoubles(field(histo, HISTO.bucket)[0]!.bytes!), values[0]!['histo'].bucket);
  assert.deepEqual(events[2]!.event['summary'].value[0].histo.bucket, [3]);
});

/** A small two-layer model with a two-output node and names TensorBoard does not accept as they are. */
function smallModel() {
  const g = new GraphBuilder({ opset: 17 });
  const rng = new Rng(1);
  const w = (dims: number[]) => ({ data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()), dims });
  const x = g.input('pixels:0', 'float32', ['batch', 4]);
  const h = dense(g, x, w([4, 8]), w([8]), 'relu', 'layer1/dense');
  const logits = dense(g, h, w([8, 3]), w([3]), 'linear', 'layer2/dense');
  const [values, indices] = g.node('TopK', [logits, g.int64s([2], 'k')], 2, { axis: -1, largest: 1 }, { name: 'top' });
  g.output('probs', 'float32', ['batch', 3], g.op('Softmax', [logits], { axis: attr.int(-1) }));
  g.output('top_values', 'float32', ['batch', 2], values);
  g.output('top_indices', 'int64', ['batch', 2], indices);
  return decodeModel(g.toBytes());
}

test('the ONNX graph as a GraphDef: every node, weight and input with its op, edges, dtypes and shapes; decodes from the event file', () => {
  const model = smallModel();
  const onnx = model.graph!;
  const dir = tmpdir();
  const w = new SummaryWriter(dir);
  w.graph(graphDefFromOnnx(model), 1_700_000_000);
  w.close();
  const events = readEvents(w.path);
  assert.equal(events.length, 2);
  const { raw, event } = events[1]!;
  const graphBytes = field(raw, EVENT.graphDef)[0]!.bytes!;
  assert.ok(graphBytes.length > 0, 'Event.graph_def (field 4) holds the serialized GraphDef');
  const graph = toPlain(tensorboardType('tensorboard.GraphDef'), event['graphDef']);
  const nodes = graph['node'] as { name: string; op: string; input?: string[]; attr?: Record<string, any> }[];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  assert.equal(byName.size, nodes.length, 'node names are unique');
  for (const n of nodes) assert.match(n.name, /^[A-Za-z0-9.][A-Za-z0-9_>./]*$/, `'${n.name}' is a valid NodeDef name`);

  // which GraphDef node produces each ONNX value, found independently from the ONNX graph
  const producerOf = new Map<string, string>();
  const placeholder = nodes.find((n) => n.op === 'Placeholder')!;
  assert.equal(nodes.filter((n) => n.op === 'Placeholder').length, 1);
  assert.equal(placeholder.name, 'pixels_0', "the input 'pixels:0' under a valid name");
  assert.equal(placeholder.attr!['dtype'].type, 1, 'DT_FLOAT');
  assert.deepEqual(placeholder.attr!['shape'].shape.dim, [{ size: -1, name: 'batch' }, { size: 4 }]);
  producerOf.set('pixels:0', placeholder.name);
  // an ONNX node keeps its name, under the scope of its weights when it has none of its own
  const nodeFor = (onnxName: string) => nodes.find((n) => n.name === onnxName || n.name.endsWith(`/${onnxName}`));
  for (const t of onnx.initializer!) {
    const n = nodeFor(t.name!)!;
    assert.equal(n.op, 'Const', `initializer ${t.name}`);
    assert.deepEqual((n.attr!['shape'].shape.dim ?? []).map((d: { size?: number }) => d.size ?? 0), (t.dims ?? []).map(Number));
    assert.equal(n.attr!['dtype'].type, t.dataType === 7 ? 9 : 1, 'DT_INT64 for int64, DT_FLOAT for float');
    producerOf.set(t.name!, n.name);
  }
  for (const node of onnx.node!) {
    const n = nodeFor(node.name!)!;
    assert.ok(n, `ONNX node ${node.name} is in the GraphDef`);
    assert.equal(n.op, node.opType);
    assert.deepEqual(n.input ?? [], node.input!.map((v) => producerOf.get(v)), `edges into ${node.name}`);
    node.output!.forEach((o, k) => producerOf.set(o, k === 0 ? n.name : `${n.name}:${k}`));
  }
  assert.equal(nodes.length, 1 + onnx.initializer!.length + onnx.node!.length + onnx.output!.length);
  const topk = nodeFor(onnx.node!.find((n) => n.opType === 'TopK')!.name!)!;
  assert.equal(topk.attr!['axis'].i, -1);
  const indices = nodeFor(onnx.node!.find((n) => n.output!.includes('top_indices'))!.name!)!;
  assert.deepEqual(indices.input, [`${topk.name}:1`], "a second output is referenced as 'node:1'");
  assert.deepEqual(byName.get('output/top_indices')!.input, [indices.name]);
  assert.equal(byName.get('output/top_indices')!.op, 'Identity');
  // layer scopes: each MatMul/Add joins its weights' scope, the activation after it the same one
  assert.deepEqual(nodes.filter((n) => ['MatMul', 'Add', 'Relu'].includes(n.op)).map((n) => `${n.op}@${n.name.split('/')[0]}`),
    ['MatMul@layer1', 'Add@layer1', 'Relu@layer1', 'MatMul@layer2', 'Add@layer2']);
  assert.equal(topk.name.split('/')[0], 'layer2', 'an op without weights follows its input');
  assert.ok(byName.has('layer1/dense.W') && byName.has('layer2/k'), 'weights keep their scope, an unscoped constant joins its consumer');
});

test('HParams: experiment, session start with the flattened recipe, session end; plugin content decodes as HParamsPluginData', () => {
  const recipe = { student: { arch: 'mlp', hidden: [800, 800], dropout: 0 }, distill: { alpha: 0.9, temperature: 8 }, train: { lr: 1e-3, max_steps: undefined, shuffle: true }, cache: null };
  const hparams = flattenHParams(recipe);
  assert.deepEqual(hparams, {
    'student.arch': 'mlp', 'student.hidden': '[800,800]', 'student.dropout': 0, 'distill.alpha': 0.9,
    'distill.temperature': 8, 'train.lr': 1e-3, 'train.shuffle': true,
  });
  const dir = tmpdir();
  const w = new SummaryWriter(dir);
  w.hparams(hparams, { metrics: [{ tag: 'eval/accuracy', dataset: 'validation' }, { tag: 'loss' }], groupName: 'T8-a0.9', startTime: 1_700_000_000 });
  w.scalar('eval/accuracy', 0.97, 100);
  w.hparamsEnd('success', 1_700_000_050);
  w.close();

  const events = readEvents(w.path);
  assert.equal(events.length, 4);
  const Plugin = tensorboardType('tensorboard.hparams.HParamsPluginData');
  const start = events[1]!;
  const values = start.event['summary'].value as Record<string, any>[];
  assert.deepEqual(values.map((v) => v['tag']), [EXPERIMENT_TAG, SESSION_START_TAG]);
  for (const v of values) {
    assert.equal(v['metadata'].pluginData.pluginName, 'hparams');
    assert.deepEqual(v['tensor'], { dtype: 1, tensorShape: { dim: [{}] } }, 'the empty float tensor the plugin writes');
  }
  // wire level: the plugin data sits in Summary.Value.metadata (9), and the value is a tensor (8)
  const rawValue = field(field(start.raw, EVENT.summary)[0]!.bytes!, 1)[1]!.bytes!;
  assert.equal(field(rawValue, VALUE.metadata).length, 1);
  assert.equal(field(rawValue, VALUE.tensor).length, 1);

  const experiment = toPlain(Plugin, values[0]!['metadata'].pluginData.content)['experiment'];
  assert.equal(experiment.timeCreatedSecs, 1_700_000_000);
  assert.deepEqual(Object.fromEntries(experiment.hparamInfos.map((h: { name: string; type: number }) => [h.name, h.type])), Object.fromEntries(
    Object.entries(hparams).map(([k, v]) => [k, typeof v === 'number' ? 3 : typeof v === 'boolean' ? 2 : 1])));
  // a single run's domain is its own value
  assert.deepEqual(experiment.hparamInfos.map((h: { domainDiscrete: { values: Record<string, unknown>[] } }) => h.domainDiscrete.values.map((x) => Object.values(x)[0])),
    Object.values(hparams).map((v) => [v]));
  assert.deepEqual(experiment.metricInfos, [{ name: { tag: 'eval/accuracy' }, datasetType: 2 }, { name: { tag: 'loss' } }]);

  const session = toPlain(Plugin, values[1]!['metadata'].pluginData.content)['sessionStartInfo'];
  assert.equal(session.groupName, 'T8-a0.9');
  assert.equal(session.startTimeSecs, 1_700_000_000);
  const decoded = Object.fromEntries(Object.entries(session.hparams as Record<string, Record<string, unknown>>).map(([k, v]) => [k, v['numberValue'] ?? v['stringValue'] ?? v['boolValue']]));
  assert.deepEqual(decoded, hparams);

  const end = events[3]!.event['summary'].value[0];
  assert.equal(end.tag, SESSION_END_TAG);
  assert.deepEqual(toPlain(Plugin, end.metadata.pluginData.content)['sessionEndInfo'], { status: 1, endTimeSecs: 1_700_000_050 });

  // a sweep's experiment, written once above its runs: every value each hyperparameter takes
  const sweep = new SummaryWriter(tmpdir());
  sweep.experiment({ 'distill.temperature': [1, 2, 4, 8], 'distill.divergence': ['forward_kl', 'jsd'] }, [{ tag: 'eval/accuracy' }], 1_700_000_001);
  sweep.close();
  const swept = toPlain(Plugin, readEvents(sweep.path)[1]!.event['summary'].value[0].metadata.pluginData.content)['experiment'];
  assert.deepEqual(swept.hparamInfos, [
    { name: 'distill.temperature', type: 3, domainDiscrete: { values: [1, 2, 4, 8].map((numberValue) => ({ numberValue })) } },
    { name: 'distill.divergence', type: 1, domainDiscrete: { values: [{ stringValue: 'forward_kl' }, { stringValue: 'jsd' }] } },
  ]);

  const bad = new SummaryWriter(dir);
  assert.throws(() => bad.experiment({ lr: [] }, []), (e: Error) => e instanceof KennisError && /'lr' has no values/.test(e.message));
  assert.throws(() => bad.hparams({ lr: Infinity }), (e: Error) => e instanceof KennisError && /'lr' is Infinity/.test(e.message));
  assert.throws(() => bad.histogram('', [1], 0), KennisError);
  assert.throws(() => bad.hparams({}, { metrics: [{ tag: '' }] }), KennisError);
  bad.close();
});

test('memory and per-phase step times as scalars', async () => {
  const m = memoryScalars({ numBytes: 3 * 2 ** 20, numTensors: 7 });
  assert.equal(m['memory/backend_tensors_mib'], 3);
  assert.equal(m['memory/backend_tensors'], 7);
  assert.ok(m['memory/rss_mib']! > m['memory/heap_used_mib']! && m['memory/heap_used_mib']! > 0);
  assert.deepEqual(Object.keys(memoryScalars()).sort(), ['memory/array_buffers_mib', 'memory/heap_used_mib', 'memory/rss_mib']);

  const times = new PhaseTimes();
  times.add('data', 10);
  times.add('data', 20);
  times.add('optimizer', 5);
  assert.equal(await times.time('forward_backward', () => 42), 42);
  await assert.rejects(times.time('eval', () => Promise.reject(new Error('boom'))), /boom/);
  const s = times.scalars(2);
  assert.equal(s['time/data_ms'], 15);
  assert.equal(s['time/optimizer_ms'], 2.5);
  assert.ok(s['time/forward_backward_ms']! >= 0 && s['time/eval_ms']! >= 0, 'a failed phase is timed too');
  assert.deepEqual(times.scalars(1), {}, 'each report starts a new window');

  const dir = tmpdir();
  const w = new SummaryWriter(dir);
  w.scalars({ ...m, ...s }, 5);
  w.close();
  const logged = readEvents(w.path)[1]!.event['summary'].value as { tag: string; simpleValue: number }[];
  assert.deepEqual(logged.map((v) => v.tag), Object.keys({ ...m, ...s }));
  assert.equal(logged.find((v) => v.tag === 'time/data_ms')!.simpleValue, 15);
});
