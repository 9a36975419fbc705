import { appendGradients } from '../../core/onnx/grad/index.js';
import { GraphBuilder, reshape, type ModelProto } from '../../core/onnx/index.js';
import { cnnGraph, gptGraph, inputWeights, mlpGraph, type MaskShape, type StudentGraphOptions, type WeightSource } from '../students/onnx/index.js';
import type { StudentSpec } from '../students/index.js';
import { kdLossGraph, rowInputs, type LossGraphSpec, type LossSums } from './loss-graph.js';
import { sumOfSquares } from './optimizer-graph.js';

/**
 * The two graphs of the onnxruntime trainer, both with the student's weights as graph inputs
 * (kennis names) and its batch as input `input` (float32 [batch, features], gpt: int32 [batch, seq]):
 * - the step graph: forward with dropout masks fed as `dropout/<n>`, the KD loss sums, their
 *   gradients `grad.<name>` (core/onnx/grad) and `sumsq`, the squared global norm of the gradients;
 * - the evaluation graph: forward without dropout, the loss sums, the KL-at-T=1 head
 *   (`metric/` inputs) and the student's `argmax` per position.
 */

/** Opset of the training graphs (LayerNormalization needs 17). */
export const TRAIN_OPSET = 17;

/** A dropout mask input of the step graph, in the order DropoutStream draws them. */
export interface DropoutInput {
  name: string;
  rate: number;
  shape: MaskShape;
}

/** The step graph and what to feed it. */
export interface StepGraph {
  bytes: Uint8Array;
  masks: DropoutInput[];
}

/** Declares the student's batch input. */
function studentInput(g: GraphBuilder, spec: StudentSpec, valuesPerRow: number): string {
  return spec.arch === 'gpt' ? g.input('input', 'int32', ['batch', 'seq']) : g.input('input', 'float32', ['batch', valuesPerRow]);
}

/** Logits of the student as rows [M, V] (gpt: [B*T, V]). */
function studentLogits(g: GraphBuilder, spec: StudentSpec, w: WeightSource, x: string, opts: StudentGraphOptions): string {
  switch (spec.arch) {
    case 'mlp': return mlpGraph(g, spec, w, x, opts);
    case 'cnn': return cnnGraph(g, spec, w, x, opts);
    case 'gpt': return reshape(g, gptGraph(g, spec, w, x, undefined, opts), [-1, spec.vocab]);
  }
}

/** The forward + loss + backward graph of one micro-batch. */
export function stepGraph(spec: StudentSpec, shapes: Readonly<Record<string, readonly number[]>>, valuesPerRow: number, loss: LossGraphSpec): StepGraph {
  const g = new GraphBuilder({ name: `kennis_${spec.arch}_step`, opset: TRAIN_OPSET });
  const masks: DropoutInput[] = [];
  const dropout = (b: GraphBuilder, x: string, rate: number, shape: MaskShape): string => {
    const name = b.input(`dropout/${masks.length}`, 'float32', [...shape]);
    masks.push({ name, rate, shape });
    return b.op('Mul', [x, name]);
  };
  const x = studentInput(g, spec, valuesPerRow);
  const objective = addLossHeads(g, studentLogits(g, spec, inputWeights(shapes), x, { dropout }), loss, false);
  const { gradients } = appendGradients(g.graph, { ...objective, wrt: Object.keys(shapes), opset: TRAIN_OPSET });
  addSumOfSquares(g.toModel(), Object.values(gradients));
  return { bytes: g.toBytes(), masks };
}

/** The evaluation graph: loss sums, the T=1 forward-KL metric head and the argmax per position. */
export function evalGraph(spec: StudentSpec, shapes: Readonly<Record<string, readonly number[]>>, valuesPerRow: number, loss: LossGraphSpec): Uint8Array {
  const g = new GraphBuilder({ name: `kennis_${spec.arch}_eval`, opset: TRAIN_OPSET });
  const x = studentInput(g, spec, valuesPerRow);
  addLossHeads(g, studentLogits(g, spec, inputWeights(shapes), x, {}), loss, true);
  return g.toBytes();
}

/** What the backward pass starts from (appendGradients' loss and seed). */
export interface Objective {
  loss: string;
  /** The gradient of the loss sum at `loss` (the logits), when the loss has a closed form. */
  seedInput?: string;
}

/** The loss sum, or the logits seeded with the loss's closed-form gradient where it has one. */
export function objectiveOf(logits: string, sums: LossSums): Objective {
  return sums.logitsGradient ? { loss: logits, seedInput: sums.logitsGradient } : { loss: sums.sum };
}

/**
 * The loss on logit rows [M, V] and its outputs: the step graph's `sum`, `distill_sum`,
 * `hard_sum`; the evaluation graph's `sum`, `hard_sum`, `kl_sum` (metric head) and `argmax`.
 * Returns what to differentiate.
 */
export function addLossHeads(g: GraphBuilder, logits: string, loss: LossGraphSpec, evaluation: boolean): Objective {
  const rows = rowInputs(g);
  const sums = kdLossGraph(g, logits, rows, loss, { gradient: !evaluation });
  g.output('sum', 'float32', [], sums.sum);
  g.output('hard_sum', 'float32', [], sums.hardSum);
  if (!evaluation) {
    g.output('distill_sum', 'float32', [], sums.distillSum);
    return objectiveOf(logits, sums);
  }
  g.output('kl_sum', 'float32', [], kdLossGraph(g, logits, rows, metricSpec(loss)).distillSum);
  g.output('argmax', 'int64', ['M'], g.op('ArgMax', [logits], { axis: 1, keepdims: 0 }));
  if (loss.kind === 'full') {
    // the teacher's top-1 over [M, V] in the graph too, not in a host loop over a decoded copy
    const t = `${loss.prefix}teacher_logits`;
    const zt = loss.teacherDtype === 'float32' ? t : g.op('Cast', [t], { to: 1 });
    g.output('teacher_argmax', 'int64', ['M'], g.op('ArgMax', [zt], { axis: 1, keepdims: 0 }));
  }
  return { loss: sums.sum };
}

/** Adds output `sumsq`, the squared global norm of `gradients`, to a model. */
export function addSumOfSquares(model: ModelProto, gradients: readonly string[]): void {
  const norm = GraphBuilder.wrap(model, 'norm/');
  norm.output('sumsq', 'float32', [], sumOfSquares(norm, gradients));
}

/** The KL-to-teacher metric head (metrics.ts): forward KL at T = 1, the loss's topk tail. */
export function metricSpec(loss: LossGraphSpec): LossGraphSpec {
  return { ...loss, temperature: 1, divergence: 'forward_kl', alpha: 1, prefix: 'metric/' };
}
