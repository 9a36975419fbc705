import { GraphBuilder } from '../../core/onnx/index.js';
import type { PlainTensor } from '../../core/runtime/index.js';
import type { OptimizerSettings } from '../trainer.js';

/**
 * The optimizer update of train/optim as one ONNX graph over all parameters, op for op the same
 * float32 arithmetic as the tfjs rules (adamw.ts, sgd.ts), so both backends take the same step:
 * every per-step scalar (gradient scale, bias corrections, lr) is folded on the host and fed.
 * Inputs `<name>`, `grad.<name>`, `<name>/<slot>`; outputs `new.<name>`, `new.<name>/<slot>`.
 */

/** AdamW constants of the tfjs trainer (train/optim/adamw.ts defaults). */
export const ADAMW = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** One trained parameter. */
export interface ParamInfo {
  name: string;
  shape: number[];
  /** Gets decoupled (adamw) or L2 (sgd) weight decay. */
  decayed: boolean;
}

/** Slot names per parameter, in the order the tfjs optimizers keep them (`<param>/<slot>` in the state). */
export function slotNames(o: Pick<OptimizerSettings, 'kind' | 'momentum'>): string[] {
  return o.kind === 'adamw' ? ['m', 'v'] : o.momentum !== 0 ? ['momentum'] : [];
}

/** Names of the scalar inputs of the update graph. */
const SCALARS = { adamw: ['c1', 'c2', 'a', 'b', 'decay'], sgd: ['gscale', 'lr'] } as const;

/** The update graph of `params`. */
export function updateGraph(params: readonly ParamInfo[], o: OptimizerSettings): Uint8Array {
  const g = new GraphBuilder({ name: `${o.kind}_update`, opset: 17 });
  // scalar inputs live under 'optimizer/' so no parameter name can clash with them
  const s = Object.fromEntries(SCALARS[o.kind].map((n) => [n, g.input(`optimizer/${n}`, 'float32', [])])) as Record<string, string>;
  const slots = slotNames(o);
  for (const p of params) {
    const param = g.input(p.name, 'float32', p.shape);
    const grad = g.input(`grad.${p.name}`, 'float32', p.shape);
    const slot = Object.fromEntries(slots.map((n) => [n, g.input(`${p.name}/${n}`, 'float32', p.shape)])) as Record<string, string>;
    const out = (name: string, value: string): void => { g.output(`new.${name}`, 'float32', p.shape, value); };
    if (o.kind === 'adamw') {
      const m = g.op('Add', [g.op('Mul', [slot.m!, g.scalar(ADAMW.beta1)]), g.op('Mul', [grad, s.c1!])]);
      const v = g.op('Add', [g.op('Mul', [slot.v!, g.scalar(ADAMW.beta2)]), g.op('Mul', [g.op('Mul', [grad, grad]), s.c2!])]);
      const decayed = p.decayed && o.weightDecay !== 0 ? g.op('Mul', [param, s.decay!]) : param;
      out(p.name, g.op('Sub', [decayed, g.op('Div', [m, g.op('Add', [g.op('Mul', [g.op('Sqrt', [v]), s.a!]), s.b!])])]));
      out(`${p.name}/m`, m);
      out(`${p.name}/v`, v);
    } else {
      let d = g.op('Mul', [grad, s.gscale!]);
      if (p.decayed && o.weightDecay !== 0) d = g.op('Add', [d, g.op('Mul', [param, g.scalar(o.weightDecay)])]);
      if (o.momentum !== 0) {
        d = g.op('Add', [g.op('Mul', [slot.momentum!, g.scalar(o.momentum)]), d]);
        out(`${p.name}/momentum`, d);
      }
      out(p.name, g.op('Sub', [param, g.op('Mul', [d, s.lr!])]));
    }
  }
  return g.toBytes();
}

/** The per-step scalars of the update graph and kernels (unprefixed names). */
export type UpdateScalars = { c1: number; c2: number; a: number; b: number; decay: number } | { gscale: number; lr: number };

/**
 * The scalars of step `t` (1-based) at learning rate `lr` with the gradient multiplied by
 * `gradScale`, as the tfjs rules fold them (rounded to float32, as the graph and kernels use
 * them). lr 0 leaves the parameters as they are (adamw: an infinite denominator makes the step
 * exactly 0; tfjs skips the assignment).
 */
export function updateScalars(o: OptimizerSettings, lr: number, t: number, gradScale: number): UpdateScalars {
  const f = Math.fround;
  if (o.kind === 'sgd') return { gscale: f(gradScale), lr: f(lr) };
  const { beta1, beta2, eps } = ADAMW;
  const c = { c1: f((1 - beta1) * gradScale), c2: f((1 - beta2) * gradScale * gradScale) };
  if (lr === 0) return { ...c, a: 1, b: Infinity, decay: 1 };
  const stepSize = lr / (1 - beta1 ** t);
  return { ...c, a: f(1 / (Math.sqrt(1 - beta2 ** t) * stepSize)), b: f(eps / stepSize), decay: f(1 - lr * o.weightDecay) };
}

/** updateScalars as the update graph's feeds. */
export function scalarFeeds(scalars: UpdateScalars): Record<string, PlainTensor> {
  return Object.fromEntries(Object.entries(scalars).map(([k, v]) => [`optimizer/${k}`, { type: 'float32', data: Float32Array.of(v), dims: [] } satisfies PlainTensor]));
}

/**
 * Gradient accumulation over micro-batches: `acc.<name>` + `grad.<name>` -> `sum.<name>`, and
 * `sumsq`, the squared global norm of the sums (for clipping).
 */
export function accumulateGraph(params: readonly ParamInfo[]): Uint8Array {
  const g = new GraphBuilder({ name: 'accumulate', opset: 17 });
  const sums = params.map((p) => g.output(`sum.${p.name}`, 'float32', p.shape, g.op('Add', [g.input(`acc.${p.name}`, 'float32', p.shape), g.input(`grad.${p.name}`, 'float32', p.shape)])));
  g.output('sumsq', 'float32', [], sumOfSquares(g, sums));
  return g.toBytes();
}

/** Sum of the squares of every element of `values` (a scalar). */
export function sumOfSquares(g: GraphBuilder, values: readonly string[]): string {
  // no axes: over every element
  const parts = values.map((v) => g.op('ReduceSumSquare', [v], { keepdims: 0 }));
  return parts.length === 1 ? parts[0]! : g.op('Sum', parts);
}
