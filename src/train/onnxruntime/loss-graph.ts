import { attr, logSumExp, reduce, tensorFromArray, unsqueeze, type GraphBuilder } from '../../core/onnx/index.js';
import { NEG_BIG, REVERSE_LOG_FLOOR } from '../losses/divergence.js';
import type { Divergence, TopkTail } from '../losses/index.js';

/**
 * The KD objective of train/losses as ONNX nodes, term by term the same formulas (kd.ts,
 * buckets.ts, divergence.ts), on student logits [M, V]. What depends on the teacher alone (its
 * log-probabilities over the buckets for topk, the entropy term of sampled targets) is computed
 * on the host in float64 by loss-feeds.ts; full teacher logits [M, V] are tempered in the graph.
 */

/** What the loss graph computes. */
export interface LossGraphSpec {
  /** Target kind of the cache. */
  kind: 'full' | 'topk' | 'sampled';
  /** Classes / vocabulary V. */
  vocab: number;
  /** Element type of full teacher logits as stored (cast in the graph). */
  teacherDtype: 'float32' | 'float16';
  temperature: number;
  divergence: Divergence;
  beta: number;
  tail: TopkTail;
  /** Weight of the distillation term; 1 - alpha weighs hard-label CE. */
  alpha: number;
  /** Prefix of the teacher-side inputs (two heads in one graph need two). */
  prefix: string;
}

/** Graph inputs shared by every loss head of a graph. */
export interface RowInputs {
  /** bool [M]: the position counts. */
  keep: string;
  /** int32 [M]: flat index m * V + label (0 for masked rows). */
  labelIndex: string;
}

/** Value names of the scalar sums a loss head outputs. */
export interface LossSums {
  /** Sum over kept rows of (1 - alpha) CE + alpha T^2 D: what is differentiated. */
  sum: string;
  /** Sum over kept rows of T^2 D. */
  distillSum: string;
  /** Sum over kept rows of the hard-label CE at T = 1. */
  hardSum: string;
}

/** Declares the row inputs (keep mask and hard-label indices). */
export function rowInputs(g: GraphBuilder): RowInputs {
  return { keep: g.input('keep', 'bool', ['M']), labelIndex: g.input('label_index', 'int32', ['M']) };
}

/** Appends one loss head on `logits` [M, V]; declares its teacher inputs. */
export function kdLossGraph(g: GraphBuilder, logits: string, rows: RowInputs, spec: LossGraphSpec): LossSums {
  const T = g.scalar(spec.temperature, 'float32', 'temperature');
  const keepCol = unsqueeze(g, rows.keep, [1]);
  const zero = g.scalar(0);
  // masked rows are zeroed so padding can not reach the value or, via 0 * NaN, the gradient
  const zs = g.op('Where', [keepCol, logits, zero]);
  // T = 1 (the usual LM setting) skips a pass over [M, V] and its gradient's
  const zsT = spec.temperature === 1 ? zs : g.op('Div', [zs, T]);
  const { teacher, student } = buckets(g, spec, zsT, keepCol, T);
  let distill = spec.kind === 'sampled' ? sampledForwardKl(g, spec, zsT) : bucketDivergence(g, teacher!, student!, spec.divergence, spec.beta);
  distill = g.op('Mul', [distill, g.scalar(spec.temperature ** 2)]);
  const ce = g.op('Neg', [gatherFlat(g, g.op('LogSoftmax', [zs], { axis: -1 }), rows.labelIndex)]);
  // the CE term is left out of the differentiated sum when it has no weight (its gradient is a pass over [M, V])
  const total = spec.alpha === 1 ? distill
    : spec.alpha === 0 ? ce
      : g.op('Add', [g.op('Mul', [distill, g.scalar(spec.alpha)]), g.op('Mul', [ce, g.scalar(1 - spec.alpha)])]);
  const masked = (x: string): string => reduce(g, 'ReduceSum', g.op('Where', [rows.keep, x, zero]), [0], false);
  return { sum: masked(total), distillSum: masked(distill), hardSum: masked(ce) };
}

/** x reshaped to one axis, for gathers at flat indices m * V + id. */
function flat(g: GraphBuilder, x: string): string {
  return g.op('Reshape', [x, g.int64s([-1], 'flat')]);
}

/** x[index] over the flat axis; the indices are fed as int32 (half the bytes) and widened here for the gradient's ScatterND. */
function gatherFlat(g: GraphBuilder, x: string, index: string): string {
  return g.op('Gather', [flat(g, x), g.op('Cast', [index], { to: 7 })], { axis: 0 });
}

/** Teacher and student log-probabilities over the same buckets (buckets.ts); sampled has none. */
function buckets(g: GraphBuilder, spec: LossGraphSpec, zsT: string, keepCol: string, T: string): { teacher?: string; student?: string } {
  const p = spec.prefix;
  switch (spec.kind) {
    case 'full': {
      const raw = g.input(`${p}teacher_logits`, spec.teacherDtype, ['M', spec.vocab]);
      const zt = spec.teacherDtype === 'float32' ? raw : g.op('Cast', [raw], { to: 1 });
      const kept = g.op('Where', [keepCol, zt, g.scalar(0)]);
      return { teacher: g.op('LogSoftmax', [g.op('Div', [kept, T])], { axis: -1 }), student: g.op('LogSoftmax', [zsT], { axis: -1 }) };
    }
    case 'topk': {
      const index = g.input(`${p}topk_index`, 'int32', ['M', 'k']);
      const teacher = g.input(`${p}teacher_logprobs`, 'float32', ['M', 'buckets']);
      const top = gatherFlat(g, zsT, index);
      if (spec.tail === 'renormalize') return { teacher, student: g.op('LogSoftmax', [top], { axis: -1 }) };
      const lse = logSumExp(g, zsT, [1], true);
      const outside = withTopAt(g, zsT, index, NEG_BIG);
      const ghost = g.op('Sub', [logSumExp(g, outside, [1], true), lse]);
      return { teacher, student: g.op('Concat', [g.op('Sub', [top, lse]), ghost], { axis: 1 }) };
    }
    case 'sampled':
      return {};
  }
}

/**
 * x [M, V] with `value` at the flat indices: one ScatterND over a copy (whose gradient zeroes
 * those positions), where a bool mask and Where took four passes over [M, V] and two more back.
 */
function withTopAt(g: GraphBuilder, x: string, index: string, value: number): string {
  const idx = unsqueeze(g, g.op('Cast', [index], { to: 7 }), [-1]);
  const fill = g.op('ConstantOfShape', [g.op('Shape', [index])], { value: attr.tensor(tensorFromArray('value', Float32Array.of(value), [1])) });
  return g.op('Reshape', [g.op('ScatterND', [flat(g, x), idx, fill]), g.op('Shape', [x])]);
}

/**
 * Sampled targets, forward KL: sum_v q_v log q_v (host: sample_negentropy, duplicates merged)
 * minus sum_j q_j log p_student(id_j) at T.
 */
function sampledForwardKl(g: GraphBuilder, spec: LossGraphSpec, zsT: string): string {
  const p = spec.prefix;
  const index = g.input(`${p}sample_index`, 'int32', ['M', 'n']);
  const q = g.input(`${p}sample_q`, 'float32', ['M', 'n']);
  const negEntropy = g.input(`${p}sample_negentropy`, 'float32', ['M']);
  const ls = gatherFlat(g, g.op('LogSoftmax', [zsT], { axis: -1 }), index);
  return g.op('Sub', [negEntropy, reduce(g, 'ReduceSum', g.op('Mul', [q, ls]), [1], false)]);
}

/** KL(p || q) per row with p the teacher (lp may be -Infinity): where p = 0 the difference is 0. */
function klFromTeacher(g: GraphBuilder, lp: string, lq: string): string {
  const p = g.op('Exp', [lp]);
  const diff = g.op('Sub', [g.op('Where', [g.op('Greater', [p, g.scalar(0)]), lp, lq]), lq]);
  return reduce(g, 'ReduceSum', g.op('Mul', [p, diff]), [-1], false);
}

/** KL(p || q) per row with p the student (both finite). */
function klFromStudent(g: GraphBuilder, lp: string, lq: string): string {
  return reduce(g, 'ReduceSum', g.op('Mul', [g.op('Exp', [lp]), g.op('Sub', [lp, lq])]), [-1], false);
}

/** D(teacher, student) per row [M] (divergence.ts). */
function bucketDivergence(g: GraphBuilder, lt: string, ls: string, divergence: Divergence, beta: number): string {
  const reverse = (): string => klFromStudent(g, ls, g.op('Max', [lt, g.scalar(REVERSE_LOG_FLOOR)]));
  switch (divergence) {
    case 'forward_kl': return klFromTeacher(g, lt, ls);
    case 'reverse_kl': return reverse();
    case 'symmetric':
      return g.op('Add', [g.op('Mul', [klFromTeacher(g, lt, ls), g.scalar(beta)]), g.op('Mul', [reverse(), g.scalar(1 - beta)])]);
    case 'jsd': {
      // log(exp(a) + exp(b)) = hi + log(1 + exp(lo - hi)); exact when the teacher side is -Infinity
      const hi = g.op('Max', [lt, ls]);
      const lo = g.op('Min', [lt, ls]);
      const lm = g.op('Add', [g.op('Add', [hi, g.op('Log', [g.op('Add', [g.scalar(1), g.op('Exp', [g.op('Sub', [lo, hi])])])])]), g.scalar(Math.log(0.5))]);
      return g.op('Mul', [g.op('Add', [klFromTeacher(g, lt, lm), klFromStudent(g, ls, lm)]), g.scalar(0.5)]);
    }
  }
}
