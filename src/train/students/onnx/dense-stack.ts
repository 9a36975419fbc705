import { activation, matmulAdd, type Activation, type GraphBuilder } from '../../../core/onnx/index.js';
import type { StudentGraphOptions } from './dropout.js';
import type { WeightSource } from './weights.js';

/**
 * dense_0 .. dense_{count-1} on x [batch, widths[0]]: `act` after every layer but the last (the
 * logits), then dropout at `rate`; widths[i + 1] is layer i's output width (for the mask shape).
 * Layers in `linear` (mlp linearHidden) get neither.
 */
export function denseStack(g: GraphBuilder, x: string, w: WeightSource, widths: readonly number[], act: Activation, rate = 0, opts: StudentGraphOptions = {}, linear: ReadonlySet<number> = new Set()): string {
  let h = x;
  const count = widths.length - 1;
  for (let i = 0; i < count; i++) {
    h = matmulAdd(g, h, w.weight(g, `dense_${i}/kernel`), w.weight(g, `dense_${i}/bias`));
    if (i === count - 1) break;
    if (linear.has(i)) continue;
    h = activation(g, h, act);
    if (opts.dropout && rate > 0) h = opts.dropout(g, h, rate, ['batch', widths[i + 1]!]);
  }
  return h;
}
