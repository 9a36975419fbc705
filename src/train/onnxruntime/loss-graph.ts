import { filledTensor, logSumExp, reduce, unsqueeze, type GraphBuilder } from '../../core/onnx/index.js';
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
  /**
   * d sum / d logits [M, V] in closed form, when asked for and the divergence has one (forward
   * KL, and every sampled loss): zero on masked rows, ready to seed the backward pass at the logits.
   */
  logitsGradient?: string;
}

/** Declares the row inputs (keep mask and hard-label indices). */
export function rowInputs(g: GraphBuilder): RowInputs {
  return { keep: g.input('keep', 'bool', ['M']), labelIndex: g.input('label_index', 'int32', ['M']) };
}

/**
 * Appends one loss head on `logits` [M, V]; declares its teacher inputs. With `gradient`, also
 * the closed-form gradient of the sum where there is one: the loss and its gradient differentiated
 * op by op make ~30 passes over [M, V] (each op's backward, and the sums of branches), with the
 * closed form ~12 in all, which is most of an LM step at V = 32,000.
 */
export function kdLossGraph(g: GraphBuilder, logits: string, rows: RowInputs, spec: LossGraphSpec, options: { gradient?: boolean } = {}): LossSums {
  const T = g.scalar(spec.temperature, 'float32', 'temperature');
  const keepCol = unsqueeze(g, rows.keep, [1]);
  const zero = g.scalar(0);
  // masked rows are zeroed so padding can not reach the value or, via 0 * NaN, the gradient
  const zs = g.op('Where', [keepCol, logits, zero]);
  // T = 1 (the usual LM setting) skips a pass over [M, V] and its gradient's
  const zsT = spec.temperature === 1 ? zs : g.op('Div', [zs, T]);
  const ls1 = g.op('LogSoftmax', [zs], { axis: -1 });
  // at T != 1 a pass over [M, V] of its own, built only when read (not by renormalized top-k)
  let tempered: string | undefined;
  const lsT = (): string => (tempered ??= spec.temperature === 1 ? ls1 : g.op('LogSoftmax', [zsT], { axis: -1 }));
  const student: StudentLogits = { zsT, lsT, labelIndex: rows.labelIndex };
  const terms = spec.kind === 'sampled' ? sampledForwardKl(g, spec, lsT()) : bucketTerms(g, spec, student, keepCol, T);
  const distill = g.op('Mul', [terms.distill, g.scalar(spec.temperature ** 2)]);
  const ce = g.op('Neg', [gatherFlat(g, ls1, rows.labelIndex)]);
  // the CE term is left out of the differentiated sum when it has no weight (its gradient is a pass over [M, V])
  const total = spec.alpha === 1 ? distill
    : spec.alpha === 0 ? ce
      : g.op('Add', [g.op('Mul', [distill, g.scalar(spec.alpha)]), g.op('Mul', [ce, g.scalar(1 - spec.alpha)])]);
  const masked = (x: string): string => reduce(g, 'ReduceSum', g.op('Where', [rows.keep, x, zero]), [0], false);
  const sums: LossSums = { sum: masked(total), distillSum: masked(distill), hardSum: masked(ce) };
  if (options.gradient && terms.gradient) sums.logitsGradient = closedFormGradient(g, spec, logits, { ls1, lsT, keepCol, labelIndex: rows.labelIndex }, terms.gradient);
  return sums;
}

/** What the distillation terms see of the student. */
interface StudentLogits {
  /** Masked logits at T [M, V]. */
  zsT: string;
  /** Their log-softmax [M, V] (added to the graph on first call). */
  lsT: () => string;
  labelIndex: string;
}

/**
 * The distillation term's gradient with respect to the tempered logits zsT, per kept row:
 * `scale` [M, 1] times softmax(zsT), minus `dense` [M, V] (the full teacher's probabilities),
 * minus `ghost.coef` [M, 1] times `ghost.exp` [M, V] (the softmax outside the top k, unnormalized),
 * plus `sparse.values` added at the flat `sparse.index` (the teacher's top-k ids or samples).
 * Teacher-side values are zero on masked rows.
 */
interface DistillGradient {
  scale?: string;
  dense?: string;
  ghost?: { coef: string; exp: string };
  sparse?: { index: string; values: string };
}

/** The per-row distillation term D [M] and, for forward KL, its closed-form gradient parts. */
interface DistillTerms {
  distill: string;
  gradient?: DistillGradient;
}

/** x reshaped to one axis, for gathers at flat indices m * V + id. */
function flat(g: GraphBuilder, x: string): string {
  return g.op('Reshape', [x, g.int64s([-1], 'flat')]);
}

/** x[index] over the flat axis; the indices are fed as int32 (half the bytes) and widened here for the gradient's ScatterND. */
function gatherFlat(g: GraphBuilder, x: string, index: string): string {
  return g.op('Gather', [flat(g, x), g.op('Cast', [index], { to: 7 })], { axis: 0 });
}

/**
 * D over the teacher's buckets (buckets.ts) and, for forward KL, d D / d zsT:
 *   full:            softmax(zsT) - p                      (p the tempered teacher softmax)
 *   topk ghost:      S softmax(zsT) - p_top at the ids - p_ghost softmax over the rest
 *   topk renormalize: at the ids only, S softmax over the ids - p_top
 * with S the teacher's bucket mass (1 up to rounding).
 */
function bucketTerms(g: GraphBuilder, spec: LossGraphSpec, s: StudentLogits, keepCol: string, T: string): DistillTerms {
  const p = spec.prefix;
  const forward = spec.divergence === 'forward_kl';
  switch (spec.kind) {
    case 'full': {
      const raw = g.input(`${p}teacher_logits`, spec.teacherDtype, ['M', spec.vocab]);
      const zt = spec.teacherDtype === 'float32' ? raw : g.op('Cast', [raw], { to: 1 });
      const kept = g.op('Where', [keepCol, zt, g.scalar(0)]);
      const lt = g.op('LogSoftmax', [g.op('Div', [kept, T])], { axis: -1 });
      const pt = g.op('Exp', [lt]);
      return { distill: bucketDivergence(g, lt, s.lsT(), spec.divergence, spec.beta, pt), ...(forward ? { gradient: { scale: g.scalar(1), dense: pt } } : {}) };
    }
    case 'topk': {
      const index = g.input(`${p}topk_index`, 'int32', ['M', 'k']);
      const lt = g.input(`${p}teacher_logprobs`, 'float32', ['M', 'buckets']);
      const pt = g.op('Where', [keepCol, g.op('Exp', [lt]), g.scalar(0)]);
      const mass = reduce(g, 'ReduceSum', pt, [1], true);
      if (spec.tail === 'renormalize') {
        const ls = g.op('LogSoftmax', [gatherFlat(g, s.zsT, index)], { axis: -1 });
        const distill = bucketDivergence(g, lt, ls, spec.divergence, spec.beta);
        if (!forward) return { distill };
        const values = g.op('Sub', [g.op('Mul', [g.op('Exp', [ls]), mass]), pt]);
        return { distill, gradient: { sparse: { index, values } } };
      }
      // student log-probabilities at the ids straight from the log-softmax; its logsumexp back
      // from one entry per row (the label's), so no extra pass over [M, V] computes it
      const top = gatherFlat(g, s.lsT(), index);
      const lse = unsqueeze(g, g.op('Sub', [gatherFlat(g, s.zsT, s.labelIndex), gatherFlat(g, s.lsT(), s.labelIndex)]), [1]);
      const outside = logSumExp(g, withTopAt(g, s.zsT, index, NEG_BIG), [1], true);
      const ghost = g.op('Sub', [outside.lse, lse]);
      const distill = bucketDivergence(g, lt, g.op('Concat', [top, ghost], { axis: 1 }), spec.divergence, spec.beta);
      if (!forward) return { distill };
      const k = g.op('Shape', [index], { start: 1, end: 2 });
      const pTop = g.op('Slice', [pt, g.int64s([0]), k, g.int64s([1])]);
      const pGhost = g.op('Slice', [pt, k, g.int64s([Number.MAX_SAFE_INTEGER]), g.int64s([1])]);
      return {
        distill,
        gradient: { scale: mass, sparse: { index, values: g.op('Neg', [pTop]) }, ghost: { coef: g.op('Div', [pGhost, outside.sum]), exp: outside.exp } },
      };
    }
    case 'sampled':
      throw new Error('unreachable: sampled targets have no buckets');
  }
}

/**
 * d sum / d logits: keep (1 - alpha) (softmax(zs) - onehot(label)) + keep alpha T (d D / d zsT),
 * assembled as a few [M, V] passes (the softmax from the log-softmax already computed, one
 * multiply per dense term, one ScatterND adding every sparse entry into a copy).
 */
function closedFormGradient(g: GraphBuilder, spec: LossGraphSpec, logits: string, s: { ls1: string; lsT: () => string; keepCol: string; labelIndex: string }, d: DistillGradient): string {
  const keep = g.op('Cast', [s.keepCol], { to: 1 });
  const hard = spec.alpha < 1 ? g.op('Mul', [keep, g.scalar(1 - spec.alpha)]) : undefined;
  const soft = spec.alpha > 0 ? g.op('Mul', [keep, g.scalar(spec.alpha * spec.temperature)]) : undefined;
  // dense terms: coefficient [M, 1] times an [M, V] value
  const dense: [string, string][] = [];
  const sm1 = hard || (soft && spec.temperature === 1) ? g.op('Exp', [s.ls1]) : undefined;
  if (soft) {
    const smT = spec.temperature === 1 ? sm1! : g.op('Exp', [s.lsT()]);
    if (d.scale) dense.push([g.op('Mul', [soft, d.scale]), smT]);
    if (d.dense) dense.push([g.op('Neg', [soft]), d.dense]);
    if (d.ghost) dense.push([g.op('Neg', [g.op('Mul', [soft, d.ghost.coef])]), d.ghost.exp]);
  }
  if (hard) dense.push([hard, sm1!]);
  // same value, two coefficients: one multiply (T = 1: the CE and KD softmax terms)
  const merged = new Map<string, string>();
  for (const [coef, value] of dense) merged.set(value, merged.has(value) ? g.op('Add', [merged.get(value)!, coef]) : coef);
  const parts = [...merged].map(([value, coef]) => g.op('Mul', [value, coef]));
  // (no dense part: renormalized top-k at alpha 1; zeros, not logits * 0, which keeps a padding row's NaN)
  let grad = parts.length === 0 ? filledTensor(g, g.op('Shape', [logits]), 0) : parts.reduce((a, b) => g.op('Add', [a, b]));
  // sparse terms: -(1 - alpha) at the label, alpha T times the target values at their ids
  const index: string[] = [];
  const values: string[] = [];
  if (hard) {
    index.push(s.labelIndex);
    values.push(g.op('Neg', [flat(g, hard)]));
  }
  if (soft && d.sparse) {
    index.push(flat(g, d.sparse.index));
    values.push(flat(g, g.op('Mul', [d.sparse.values, soft])));
  }
  if (index.length > 0) {
    const at = unsqueeze(g, g.op('Cast', [index.length === 1 ? index[0]! : g.op('Concat', index, { axis: 0 })], { to: 7 }), [-1]);
    const added = g.op('ScatterND', [flat(g, grad), at, values.length === 1 ? values[0]! : g.op('Concat', values, { axis: 0 })], { reduction: 'add' });
    grad = g.op('Reshape', [added, g.op('Shape', [logits])]);
  }
  return grad;
}

/**
 * x [M, V] with `value` at the flat indices: one ScatterND over a copy (whose gradient zeroes
 * those positions), where a bool mask and Where took four passes over [M, V] and two more back.
 */
function withTopAt(g: GraphBuilder, x: string, index: string, value: number): string {
  const idx = unsqueeze(g, g.op('Cast', [index], { to: 7 }), [-1]);
  const fill = filledTensor(g, g.op('Shape', [index]), value);
  return g.op('Reshape', [g.op('ScatterND', [flat(g, x), idx, fill]), g.op('Shape', [x])]);
}

/**
 * Sampled targets, forward KL: sum_v q_v log q_v (host: sample_negentropy, duplicates merged)
 * minus sum_j q_j log p_student(id_j) at T; d D / d zsT = Q softmax(zsT) - q at the ids (Q = sum q).
 */
function sampledForwardKl(g: GraphBuilder, spec: LossGraphSpec, lsT: string): DistillTerms {
  const p = spec.prefix;
  const index = g.input(`${p}sample_index`, 'int32', ['M', 'n']);
  const q = g.input(`${p}sample_q`, 'float32', ['M', 'n']);
  const negEntropy = g.input(`${p}sample_negentropy`, 'float32', ['M']);
  const ls = gatherFlat(g, lsT, index);
  const distill = g.op('Sub', [negEntropy, reduce(g, 'ReduceSum', g.op('Mul', [q, ls]), [1], false)]);
  return { distill, gradient: { scale: reduce(g, 'ReduceSum', q, [1], true), sparse: { index, values: g.op('Neg', [q]) } } };
}

/** KL(p || q) per row with p the teacher (lp may be -Infinity): where p = 0 the difference is 0. */
function klFromTeacher(g: GraphBuilder, lp: string, lq: string, probs?: string): string {
  const p = probs ?? g.op('Exp', [lp]);
  const diff = g.op('Sub', [g.op('Where', [g.op('Greater', [p, g.scalar(0)]), lp, lq]), lq]);
  return reduce(g, 'ReduceSum', g.op('Mul', [p, diff]), [-1], false);
}

/** KL(p || q) per row with p the student (both finite). */
function klFromStudent(g: GraphBuilder, lp: string, lq: string): string {
  return reduce(g, 'ReduceSum', g.op('Mul', [g.op('Exp', [lp]), g.op('Sub', [lp, lq])]), [-1], false);
}

/** D(teacher, student) per row [M] (divergence.ts). */
function bucketDivergence(g: GraphBuilder, lt: string, ls: string, divergence: Divergence, beta: number, teacherProbs?: string): string {
  const reverse = (): string => klFromStudent(g, ls, g.op('Max', [lt, g.scalar(REVERSE_LOG_FLOOR)]));
  switch (divergence) {
    case 'forward_kl': return klFromTeacher(g, lt, ls, teacherProbs);
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
