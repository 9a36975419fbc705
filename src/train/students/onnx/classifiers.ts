import { flatten, maxPool, reshape, transpose, type GraphBuilder } from '../../../core/onnx/index.js';
import type { CnnSpec, MlpSpec } from '../spec.js';
import { denseStack } from './dense-stack.js';
import type { StudentGraphOptions } from './dropout.js';
import type { WeightSource } from './weights.js';

/** mlp: x [N, inputs] -> (input dropout) dense_i with the spec's activation and dropout between layers -> logits [N, classes]. */
export function mlpGraph(g: GraphBuilder, spec: MlpSpec, w: WeightSource, x: string, opts: StudentGraphOptions = {}): string {
  const inputRate = spec.inputDropout ?? 0;
  const h = opts.dropout && inputRate > 0 ? opts.dropout(g, x, inputRate, ['batch', spec.inputs]) : x;
  return denseStack(g, h, w, [spec.inputs, ...spec.hidden, spec.classes], spec.activation, spec.dropout, opts, new Set(spec.linearHidden));
}

/**
 * cnn: x [N, H*W*C] (flat NHWC, as caches store images) -> NCHW -> per block Conv (stride 1,
 * pads (k-1)/2 = tfjs 'same' for odd k) + Relu, MaxPool (floor, like tfjs 'valid') -> back to
 * NHWC before Flatten, so dense_0's rows see the student's (h, w, c) order -> dense stack.
 */
export function cnnGraph(g: GraphBuilder, spec: CnnSpec, w: WeightSource, x: string, opts: StudentGraphOptions = {}): string {
  let [H, W, C] = spec.inputShape;
  let h = transpose(g, reshape(g, x, [-1, H, W, C]), [0, 3, 1, 2]);
  spec.conv.forEach((l, i) => {
    const p = (l.kernel - 1) / 2;
    h = g.op('Conv', [h, w.weight(g, `conv_${i}/kernel`, 'oihw'), w.weight(g, `conv_${i}/bias`)], {
      kernel_shape: [l.kernel, l.kernel], strides: [1, 1], pads: [p, p, p, p],
    });
    h = g.op('Relu', [h]);
    const pool = l.pool ?? 1;
    if (pool > 1) h = maxPool(g, h, { kernel: [pool, pool] });
    [H, W, C] = [Math.floor(H / pool), Math.floor(W / pool), l.filters];
  });
  h = flatten(g, transpose(g, h, [0, 2, 3, 1]), 1);
  return denseStack(g, h, w, [H * W * C, ...spec.dense, spec.classes], 'relu', spec.dropout ?? 0, opts);
}
