import { attr } from '../attributes.js';
import type { GradContext, GradientRule } from './context.js';

/** dy * f'(x) for unary elementwise ops, as a function of the context. */
const unary = (local: (c: GradContext) => string): GradientRule => (c) => [c.op('Mul', [c.dy, local(c)])];

/** Gradient of a broadcasting binary op: each local gradient is summed back to its input's shape. */
const binary = (da: ((c: GradContext) => string) | undefined, db: ((c: GradContext) => string) | undefined): GradientRule => (c) => [
  c.needs(0) && da ? c.reduceTo(da(c), c.x(0), c.y()) : undefined,
  c.needs(1) && db ? c.reduceTo(db(c), c.x(1), c.y()) : undefined,
];

/** dy where cond holds (or where it does not), else 0: dy times the mask as floats (onnxruntime's Where with a scalar branch is several times slower). */
const where = (c: GradContext, cond: string, keepWhenTrue: boolean): string =>
  c.op('Mul', [c.dy, c.toFloat(keepWhenTrue ? cond : c.op('Not', [cond]))]);

/** The axes a reduction node reduces: an input name, constant values, or 'all'. */
function reducedAxes(c: GradContext): string | number[] | 'all' {
  const fromAttr = c.attr<number[] | undefined>('axes', undefined);
  if (fromAttr) return fromAttr;
  if (c.x(1)) return c.x(1);
  return 'all';
}

/**
 * A reduction's output (or its gradient) with the reduced axes back as size-1 axes (with
 * keepdims=0 they are re-inserted), so it broadcasts against the input.
 */
function keptDims(c: GradContext, v: string): string {
  const axes = reducedAxes(c);
  return c.attr('keepdims', 1) === 0 && axes !== 'all' ? c.op('Unsqueeze', [v, typeof axes === 'string' ? axes : c.ints(axes)]) : v;
}

/** The rule of a reduction from its local gradient, given dy with the reduced axes kept (broadcasting against x). */
function reductionRule(local: (c: GradContext, dyKept: string) => string): GradientRule {
  return (c) => {
    if (reducedAxes(c) === 'all' && c.attr('noop_with_empty_axes', 0) === 1) return [c.dy];
    return [local(c, keptDims(c, c.dy))];
  };
}

const expandLikeInput = (c: GradContext, v: string): string => c.op('Expand', [v, c.op('Shape', [c.x(0)])]);

/** Sum over a softmax axis with keepdims, for Softmax/LogSoftmax (opset >= 13 semantics: one axis). */
const sumOverAxis = (c: GradContext, v: string): string => c.reduceSum(v, [c.attr('axis', -1)], true);

function matmulRule(c: GradContext): (string | undefined)[] {
  const [a, b] = [c.x(0), c.x(1)];
  const ra = c.facts.rank(a), rb = c.facts.rank(b);
  let da: string | undefined, db: string | undefined;
  if (c.needs(0)) {
    if (rb === 1) da = c.op('Mul', [c.op('Unsqueeze', [c.dy, c.ints([-1])]), b]);
    // B without batch dims: dY @ B^T already has A's shape
    else if (rb === 2) da = c.op('MatMul', [c.dy, c.op('Transpose', [b], { perm: [1, 0] })]);
    else if (ra === 1) throw c.error('has no gradient rule in kennis for a 1-D first input times a batched second input; reshape the vector to 2-D');
    else da = c.reduceTo(c.op('MatMul', [c.dy, c.transposeLast2(b)]), a, c.y());
  }
  if (c.needs(1)) {
    if (ra === 1 && rb === 2) db = c.op('Mul', [c.op('Unsqueeze', [a, c.ints([-1])]), c.op('Unsqueeze', [c.dy, c.ints([0])])]);
    else if (rb === 1) db = c.reduceTo(c.op('Mul', [a, c.op('Unsqueeze', [c.dy, c.ints([-1])])]), b, a);
    else if (rb === 2 && ra === 2) db = c.op('Gemm', [a, c.dy], { transA: 1 });
    else if (rb === 2) {
      // sum over every batch dim at once: A as [-1, K], dY as [-1, N]
      const flat = (v: string): string => {
        const last = c.facts.dims(v)?.at(-1);
        return c.reshape(v, typeof last === 'number' ? c.ints([-1, last]) : c.op('Concat', [c.ints([-1]), c.dimsOf(v, -1)], { axis: 0 }));
      };
      db = c.op('Gemm', [flat(a), flat(c.dy)], { transA: 1 });
    } else db = c.reduceTo(c.op('MatMul', [c.transposeLast2(a), c.dy]), b, c.y());
  }
  return [da, db];
}

/** Y = alpha A' B' + beta C, with A' = transA ? A^T : A and B' likewise. */
function gemmRule(c: GradContext): (string | undefined)[] {
  const [a, b, cIn] = [c.x(0), c.x(1), c.x(2)];
  const alpha = c.attr('alpha', 1), beta = c.attr('beta', 1);
  const transA = c.attr('transA', 0), transB = c.attr('transB', 0);
  const gemm = (p: string, q: string, tA: number, tB: number): string => c.op('Gemm', [p, q], { alpha: attr.float(alpha), transA: tA, transB: tB });
  return [
    c.needs(0) ? (transA ? gemm(b, c.dy, transB, 1) : gemm(c.dy, b, 0, transB ? 0 : 1)) : undefined,
    c.needs(1) ? (transB ? gemm(c.dy, a, 1, transA) : gemm(a, c.dy, transA ? 0 : 1, 0)) : undefined,
    c.needs(2) ? c.reduceTo(beta === 1 ? c.dy : c.op('Mul', [c.dy, c.scalar(beta)]), cIn, c.y()) : undefined,
  ];
}

/** Max/Min (variadic, broadcasting): the gradient goes to every input equal to the result (ties each get it). */
const selectRule: GradientRule = (c) => (c.node.input ?? []).map((x, i) =>
  c.needs(i) ? c.reduceTo(where(c, c.op('Equal', [x, c.y()]), true), x, c.y()) : undefined);

/** Rules for elementwise math, reductions, softmax and matrix products. */
export const MATH_RULES: Record<string, GradientRule> = {
  Add: binary((c) => c.dy, (c) => c.dy),
  Sub: binary((c) => c.dy, (c) => c.op('Neg', [c.dy])),
  Mul: binary((c) => c.op('Mul', [c.dy, c.x(1)]), (c) => c.op('Mul', [c.dy, c.x(0)])),
  Div: binary(
    (c) => c.op('Div', [c.dy, c.x(1)]),
    (c) => c.op('Neg', [c.op('Mul', [c.dy, c.op('Div', [c.y(), c.x(1)])])]),
  ),
  Pow: binary(
    (c) => {
      const p = c.facts.elemType(c.x(1)) === c.floatType || c.facts.elemType(c.x(1)) === undefined ? c.x(1) : c.toFloat(c.x(1));
      return c.op('Mul', [c.dy, c.op('Mul', [p, c.op('Pow', [c.x(0), c.op('Sub', [p, c.scalar(1)])])])]);
    },
    (c) => c.op('Mul', [c.dy, c.op('Mul', [c.y(), c.op('Log', [c.x(0)])])]),
  ),
  Sum: (c) => (c.node.input ?? []).map((x, i) => (c.needs(i) ? c.reduceTo(c.dy, x, c.y()) : undefined)),
  Mean: (c) => {
    const share = c.op('Mul', [c.dy, c.scalar(1 / (c.node.input ?? []).length)]);
    return (c.node.input ?? []).map((x, i) => (c.needs(i) ? c.reduceTo(share, x, c.y()) : undefined));
  },
  Max: selectRule,
  Min: selectRule,
  Neg: (c) => [c.op('Neg', [c.dy])],
  Identity: (c) => [c.dy],
  Relu: (c) => [where(c, c.op('Greater', [c.x(0), c.scalar(0)]), true)],
  LeakyRelu: (c) => [c.op('Where', [c.op('Greater', [c.x(0), c.scalar(0)]), c.dy, c.op('Mul', [c.dy, c.scalar(c.attr('alpha', 0.01))])])],
  Abs: unary((c) => c.op('Sign', [c.x(0)])),
  Tanh: unary((c) => c.op('Sub', [c.scalar(1), c.op('Mul', [c.y(), c.y()])])),
  Sigmoid: unary((c) => c.op('Mul', [c.y(), c.op('Sub', [c.scalar(1), c.y()])])),
  Erf: unary((c) => c.op('Mul', [c.scalar(2 / Math.sqrt(Math.PI)), c.op('Exp', [c.op('Neg', [c.op('Mul', [c.x(0), c.x(0)])])])])),
  Exp: unary((c) => c.y()),
  Sin: unary((c) => c.op('Cos', [c.x(0)])),
  Cos: unary((c) => c.op('Neg', [c.op('Sin', [c.x(0)])])),
  Softplus: unary((c) => c.op('Sigmoid', [c.x(0)])),
  Elu: (c) => {
    // x > 0: 1, else alpha e^x = y + alpha
    const below = c.op('Add', [c.y(), c.scalar(c.attr('alpha', 1))]);
    return [c.op('Mul', [c.dy, c.op('Where', [c.op('Greater', [c.x(0), c.scalar(0)]), c.scalar(1), below])])];
  },
  Log: (c) => [c.op('Div', [c.dy, c.x(0)])],
  Sqrt: (c) => [c.op('Div', [c.op('Mul', [c.dy, c.scalar(0.5)]), c.y()])],
  Reciprocal: (c) => [c.op('Neg', [c.op('Mul', [c.dy, c.op('Mul', [c.y(), c.y()])])])],
  Softmax: (c) => [c.op('Mul', [c.y(), c.op('Sub', [c.dy, sumOverAxis(c, c.op('Mul', [c.dy, c.y()]))])])],
  LogSoftmax: (c) => [c.op('Sub', [c.dy, c.op('Mul', [c.op('Exp', [c.y()]), sumOverAxis(c, c.dy)])])],
  Clip: (c) => {
    const [x, lo, hi] = [c.x(0), c.x(1), c.x(2)];
    if (c.needs(1) || c.needs(2)) throw c.error('has no gradient rule in kennis for its min/max inputs; make them constants');
    let inside: string | undefined;
    if (lo) inside = c.op('GreaterOrEqual', [x, lo]);
    if (hi) {
      const below = c.op('LessOrEqual', [x, hi]);
      inside = inside ? c.op('And', [inside, below]) : below;
    }
    return [inside ? where(c, inside, true) : c.dy];
  },
  Where: (c) => [
    undefined,
    c.needs(1) ? c.reduceTo(where(c, c.x(0), true), c.x(1), c.y()) : undefined,
    c.needs(2) ? c.reduceTo(where(c, c.x(0), false), c.x(2), c.y()) : undefined,
  ],
  Cast: (c) => [c.op('Cast', [c.dy], { to: c.facts.elemType(c.x(0)) ?? c.floatType })],
  ReduceSum: reductionRule(expandLikeInput),
  ReduceMean: reductionRule((c, dy) => {
    const count = c.toFloat(c.op('Div', [c.op('Size', [c.x(0)]), c.op('Size', [c.y()])]));
    return expandLikeInput(c, c.op('Div', [dy, count]));
  }),
  ReduceLogSumExp: reductionRule((c, dy) => c.op('Mul', [dy, c.op('Exp', [c.op('Sub', [c.x(0), keptDims(c, c.y())])])])),
  ReduceSumSquare: reductionRule((c, dy) => c.op('Mul', [dy, c.op('Mul', [c.x(0), c.scalar(2)])])),
  ReduceMax: reductionRule(extremumGrad),
  ReduceMin: reductionRule(extremumGrad),
  MatMul: matmulRule,
  Gemm: gemmRule,
};

/** ReduceMax/ReduceMin: the gradient is shared equally by the elements equal to the extremum. */
function extremumGrad(c: GradContext, dy: string): string {
  const mask = c.toFloat(c.op('Equal', [c.x(0), keptDims(c, c.y())]));
  const axes = reducedAxes(c);
  const count = axes === 'all'
    ? c.op('ReduceSum', [mask], { keepdims: 1 })
    : c.reduceSum(mask, axes, true);
  return c.op('Mul', [mask, c.op('Div', [dy, count])]);
}
