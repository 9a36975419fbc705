/**
 * Cost of the backward pass that core/onnx/grad appends: an MLP 784-256-10 (batch 256) and a
 * small GPT (V 2000, d 128, 2 blocks, T 64, batch 8), each run in onnxruntime (1 thread) as its
 * forward loss graph and as forward + gradients of every weight, timed in alternation; and the
 * node counts of the backward graphs (with the broadcast reductions whose axes had to be
 * computed in the graph from Shape()).
 * Run: npx tsx scripts/bench/onnx-grad.ts [--quick] [--out bench/onnx-grad.json]
 */
import { appendGradients, encodeModel, GraphBuilder, gpt, type ModelProto, type Weight } from '../../src/core/onnx/index.js';
import { Teacher, type PlainTensor } from '../../src/core/runtime/index.js';
import { Rng } from '../../src/core/util/index.js';
import { isMain, runSection } from './lib/cli.js';
import { fmt, interleavedRuns, spread, type Spread } from './lib/stats.js';
import { printTable } from './lib/table.js';

interface CaseResult {
  label: string;
  forwardNodes: number;
  backwardNodes: number;
  shapeComputedReductions: number;
  /** Wall time per run. */
  forwardMs: Spread;
  trainMs: Spread;
  /** This process's CPU time per run: on a busy shared machine it leaves out time spent waiting for a core. */
  forwardCpuMs: Spread;
  trainCpuMs: Spread;
  /** (forward + backward) / forward, from the median CPU times. */
  ratio: number;
}

interface Case { label: string; model: ModelProto; wrt: string[]; feeds: Record<string, PlainTensor> }

const rng = new Rng(1);
const weight = (dims: number[], scale = 0.05): Weight => ({ data: Float32Array.from({ length: dims.reduce((a, b) => a * b) }, () => scale * rng.normal()), dims });
/** loss = mean over rows of logsumexp(logits). */
const lseLoss = (g: GraphBuilder, logits: string): string => g.op('ReduceMean', [g.op('ReduceLogSumExp', [logits], { axes: [-1], keepdims: 0 })], { keepdims: 0 });
const floatInitializers = (m: ModelProto): string[] => (m.graph!.initializer ?? []).filter((t) => t.dataType === 1 && (t.dims?.length ?? 0) > 0).map((t) => t.name!);

function mlpCase(): Case {
  const [B, I, H, O] = [256, 784, 256, 10];
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', ['batch', I]);
  const [W1, b1, W2, b2] = [weight([I, H]), weight([H]), weight([H, O]), weight([O])].map((w, i) => g.initializer(`w${i}`, w.data, w.dims));
  const logits = g.op('Add', [g.op('MatMul', [g.op('Relu', [g.op('Add', [g.op('MatMul', [x, W1!]), b1!])]), W2!]), b2!]);
  g.output('loss', 'float32', [], lseLoss(g, logits));
  const model = g.toModel();
  return { label: 'mlp 784-256-10 b256', model, wrt: floatInitializers(model), feeds: { x: { type: 'float32', data: Float32Array.from({ length: B * I }, () => rng.next()), dims: [B, I] } } };
}

function gptCase(): Case {
  const [V, d, T, B, L] = [2000, 128, 64, 8, 2];
  const ln = (): { gamma: Weight; beta: Weight } => ({ gamma: weight([d], 1), beta: weight([d]) });
  const dense = (i: number, o: number): { W: Weight; b: Weight } => ({ W: weight([i, o]), b: weight([o]) });
  const blocks = Array.from({ length: L }, () => ({ ln1: ln(), ln2: ln(), attn: { q: dense(d, d), k: dense(d, d), v: dense(d, d), o: dense(d, d) }, mlp: { fc: dense(d, 4 * d), proj: dense(4 * d, d) } }));
  const g = new GraphBuilder({ opset: 17 });
  g.output('loss', 'float32', [], lseLoss(g, gpt(g, g.input('ids', 'int64', ['batch', 'seq']), { wte: weight([V, d]), wpe: weight([T, d]), lnF: ln(), blocks }, { heads: 4 })));
  const model = g.toModel();
  return { label: `gpt V${V} d${d} L${L} T${T} b${B}`, model, wrt: floatInitializers(model), feeds: { ids: { type: 'int64', data: BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(V))), dims: [B, T] } } };
}

async function measure(c: Case, reps: number): Promise<CaseResult> {
  const forward = encodeModel(c.model);
  const forwardNodes = c.model.graph!.node!.length;
  const { gradients } = appendGradients(c.model.graph!, { loss: 'loss', wrt: c.wrt });
  const added = c.model.graph!.node!.slice(forwardNodes);
  const fwd = await Teacher.create(forward, 'forward', { threads: 1 });
  const train = await Teacher.create(encodeModel(c.model), 'forward+backward', { threads: 1 });
  const times = await interleavedRuns({
    forward: () => fwd.run(c.feeds, ['loss']),
    train: () => train.run(c.feeds, ['loss', ...Object.values(gradients)]),
  }, { warmup: 3, reps, pauseMs: 20 });
  await fwd.release();
  await train.release();
  return {
    label: c.label, forwardNodes, backwardNodes: added.length,
    shapeComputedReductions: added.filter((n) => n.opType === 'NonZero').length,
    forwardMs: spread(times.forward.wall), trainMs: spread(times.train.wall),
    forwardCpuMs: spread(times.forward.cpu), trainCpuMs: spread(times.train.cpu),
    ratio: spread(times.train.cpu).median / spread(times.forward.cpu).median,
  };
}

export async function onnxGradBench(quick: boolean): Promise<{ cases: CaseResult[] }> {
  const reps = quick ? 5 : 20;
  return { cases: [await measure(mlpCase(), reps), await measure(gptCase(), reps)] };
}

if (isMain(import.meta.url)) {
  await runSection('onnx-grad', onnxGradBench, (r) => printTable('onnx grad: forward vs forward + backward (onnxruntime, 1 thread, ms median [min-max]; ratio of CPU times)',
    ['case', 'nodes fwd', 'nodes bwd', 'Shape-computed reductions', 'forward wall', 'fwd+bwd wall', 'forward cpu', 'fwd+bwd cpu', 'ratio'],
    r.cases.map((c) => [c.label, c.forwardNodes, c.backwardNodes, c.shapeComputedReductions, fmt(c.forwardMs, 2), fmt(c.trainMs, 2), fmt(c.forwardCpuMs, 2), fmt(c.trainCpuMs, 2), c.ratio.toFixed(2)])));
}
