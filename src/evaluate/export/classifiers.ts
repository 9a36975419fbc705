import { flatten, hwioToOihw, maxPool, reshape, transpose, type GraphBuilder } from '../../core/onnx/index.js';
import type { CnnSpec, MlpSpec, WeightMap } from '../../train/students/index.js';
import { denseStack } from './dense-stack.js';
import { addWeight } from './weights.js';

/** mlp: x [N, inputs] -> dense_i with the spec's activation between layers -> logits [N, classes]. */
export function mlpGraph(g: GraphBuilder, spec: MlpSpec, weights: WeightMap, x: string): string {
  return denseStack(g, x, weights, spec.hidden.length + 1, spec.activation);
}

/**
 * cnn: x [N, H*W*C] (flat NHWC, as caches store images) -> NCHW -> per block Conv (stride 1,
 * pads (k-1)/2 = tfjs 'same' for odd k) + Relu, MaxPool (floor, like tfjs 'valid') -> back to
 * NHWC before Flatten, so dense_0's rows see the student's (h, w, c) order -> dense stack.
 */
export function cnnGraph(g: GraphBuilder, spec: CnnSpec, weights: WeightMap, x: string): string {
  const [H, W, C] = spec.inputShape;
  let h = transpose(g, reshape(g, x, [-1, H, W, C]), [0, 3, 1, 2]);
  spec.conv.forEach((l, i) => {
    const kernel = addWeight(g, weights, `conv_${i}/kernel`, (w) => {
      const o = hwioToOihw({ data: w.data, dims: w.shape });
      return { data: o.data, shape: o.dims };
    });
    const p = (l.kernel - 1) / 2;
    h = g.op('Conv', [h, kernel, addWeight(g, weights, `conv_${i}/bias`)], {
      kernel_shape: [l.kernel, l.kernel], strides: [1, 1], pads: [p, p, p, p],
    });
    h = g.op('Relu', [h]);
    const pool = l.pool ?? 1;
    if (pool > 1) h = maxPool(g, h, { kernel: [pool, pool] });
  });
  h = flatten(g, transpose(g, h, [0, 2, 3, 1]), 1);
  return denseStack(g, h, weights, spec.dense.length + 1, 'relu');
}
