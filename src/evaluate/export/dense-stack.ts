import { activation, matmulAdd, type Activation, type GraphBuilder } from '../../core/onnx/index.js';
import type { WeightMap } from '../../train/students/index.js';
import { addWeight } from './weights.js';

/** dense_0 .. dense_{count-1} on x: `act` after every layer but the last (the logits). */
export function denseStack(g: GraphBuilder, x: string, weights: WeightMap, count: number, act: Activation): string {
  let h = x;
  for (let i = 0; i < count; i++) {
    h = matmulAdd(g, h, addWeight(g, weights, `dense_${i}/kernel`), addWeight(g, weights, `dense_${i}/bias`));
    if (i < count - 1) h = activation(g, h, act);
  }
  return h;
}
