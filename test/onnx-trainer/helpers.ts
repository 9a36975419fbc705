import type { Manifest } from '../../src/cache/index.js';
import { GraphBuilder } from '../../src/core/onnx/index.js';
import { appendGradients } from '../../src/core/onnx/grad/index.js';
import { GraphSession, runtimeTensor, type PlainTensor, type RuntimeTensor } from '../../src/core/runtime/index.js';
import { TrainError } from '../../src/core/errors/index.js';
import type { LoaderBatch } from '../../src/train/loader/index.js';
import { kdLossGraph, rowInputs, type LossGraphSpec } from '../../src/train/onnxruntime/loss-graph.js';
import { objectiveOf } from '../../src/train/onnxruntime/graphs.js';
import type { RefTarget } from '../losses/reference.js';

/** The manifest fields the onnxruntime trainer reads, for targets built in a test. */
export function fakeManifest(targets: Partial<Manifest['targets']> & Pick<Manifest['targets'], 'kind' | 'vocab'>, labelColumn: string | undefined = 'label', input = 'x'): Manifest {
  return {
    dataset: { name: 'test', fingerprint: '', split: 'train', rows: 0, inputColumns: [input], ...(labelColumn ? { labelColumn } : {}) },
    targets: { valueDtype: 'float32', idDtype: 'uint32', ...targets },
  } as unknown as Manifest;
}

/** A loader batch holding reference targets (one kind for all rows) in cache column layout. */
export function batchOf(targets: RefTarget[], labels: number[], extra: Record<string, Float32Array | Int32Array> = {}): LoaderBatch {
  const first = targets[0]!;
  const columns: LoaderBatch['columns'] = { label: Int32Array.from(labels), ...extra };
  if (first.kind === 'full') columns.logits = Float32Array.from(targets.flatMap((t) => (t as typeof first).logits));
  else if (first.kind === 'topk') {
    const ts = targets as (typeof first)[];
    columns.topk_ids = Int32Array.from(ts.flatMap((t) => t.ids));
    columns.topk_logits = Float32Array.from(ts.flatMap((t) => t.logits));
    columns.logsumexp = Float32Array.from(ts.map((t) => t.lse));
  } else {
    const ts = targets as Extract<RefTarget, { kind: 'sampled' }>[];
    columns.sample_ids = Int32Array.from(ts.flatMap((t) => t.ids));
    columns.sample_counts = Float32Array.from(ts.flatMap((t) => t.counts));
  }
  return { size: targets.length, columns };
}

/** A session computing one loss head on fed logits [M, V]: outputs sum, distill_sum, hard_sum. */
export async function lossSession(spec: LossGraphSpec): Promise<GraphSession> {
  const g = new GraphBuilder({ name: 'loss', opset: 17 });
  const logits = g.input('logits', 'float32', ['M', spec.vocab]);
  const sums = kdLossGraph(g, logits, rowInputs(g), spec, { gradient: true });
  g.output('sum', 'float32', [], sums.sum);
  g.output('distill_sum', 'float32', [], sums.distillSum);
  g.output('hard_sum', 'float32', [], sums.hardSum);
  // output grad.logits: the gradient of the sum, as the step graph gets it (closed form where there is one)
  appendGradients(g.graph, { ...objectiveOf(logits, sums), wrt: [logits] });
  return GraphSession.create(g.toBytes(), 'loss', (m) => new TrainError(m));
}

/** PlainTensors as runtime tensors. */
export function toRuntime(feeds: Record<string, PlainTensor>): Record<string, RuntimeTensor> {
  return Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, runtimeTensor(t.type, t.data, t.dims)]));
}

/** Reads a scalar output. */
export const scalar = (t: RuntimeTensor | undefined): number => Number(t!.data[0]);
