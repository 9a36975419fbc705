import * as tf from '@tensorflow/tfjs';
import { TrainError } from '../../core/errors/index.js';
import { dense, dropout, gelu } from '../nn/index.js';
import { dropoutStream, param, type ForwardOptions } from './forward.js';
import type { ParamDef, Params } from './params.js';
import type { MlpSpec } from './spec.js';

/** Layer widths input side first: [inputs, ...hidden, classes]. */
function widths(spec: MlpSpec): number[] {
  return [spec.inputs, ...spec.hidden, spec.classes];
}

/** dense_i/kernel [in,out] and dense_i/bias [out] for i = 0..hidden.length (the last is the output layer). */
export function mlpParamDefs(spec: MlpSpec): ParamDef[] {
  const w = widths(spec);
  const linear = new Set(spec.linearHidden);
  const defs: ParamDef[] = [];
  for (let i = 0; i + 1 < w.length; i++) {
    const [fanIn, fanOut] = [w[i]!, w[i + 1]!];
    const hidden = i + 2 < w.length;
    // a linear bottleneck feeds no ReLU, so it takes Glorot like the output layer
    const init = hidden && !linear.has(i) && spec.activation !== 'tanh' ? { kind: 'heUniform' as const, fanIn } : { kind: 'glorotUniform' as const, fanIn, fanOut };
    defs.push({ name: `dense_${i}/kernel`, shape: [fanIn, fanOut], init }, { name: `dense_${i}/bias`, shape: [fanOut], init: { kind: 'zeros' } });
  }
  return defs;
}

/**
 * logits = dense_n(...drop(act(dense_0(drop_in(x))))...), dense_i(h) = h·kernel + bias.
 * x is [B, inputs] float32 (any [B, ...] with `inputs` values per row is flattened row-major).
 */
export function mlpForward(spec: MlpSpec, seed: number, params: Params, inputs: tf.Tensor, options: ForwardOptions): tf.Tensor2D {
  const per = inputs.shape.slice(1).reduce((a, b) => a * b, 1);
  if (inputs.rank < 2 || per !== spec.inputs) {
    throw new TrainError(`student mlp expects inputs [B,${spec.inputs}], got [${inputs.shape}]; set student.inputs to the feature count`);
  }
  const stream = dropoutStream(seed, options, spec.dropout > 0 || (spec.inputDropout ?? 0) > 0);
  return tf.tidy(() => {
    let h = dropout(tf.reshape(tf.cast(inputs, 'float32'), [inputs.shape[0]!, spec.inputs]) as tf.Tensor2D, spec.inputDropout ?? 0, stream);
    const n = spec.hidden.length;
    const linear = new Set(spec.linearHidden);
    for (let i = 0; i <= n; i++) {
      // the output layer and linear bottlenecks: no activation, no dropout
      const plain = i === n || linear.has(i);
      const relu = !plain && spec.activation === 'relu';
      h = dense(h, param(params, `dense_${i}/kernel`), param(params, `dense_${i}/bias`), { activation: relu ? 'relu' : 'linear', inputGrad: i > 0 });
      if (plain) continue;
      if (spec.activation === 'gelu') h = gelu(h);
      else if (spec.activation === 'tanh') h = tf.tanh(h);
      h = dropout(h, spec.dropout, stream);
    }
    return h;
  });
}

/** Forward FLOPs per sample: 2 * sum(in * out) over the layers. */
export function mlpFlops(spec: MlpSpec): number {
  const w = widths(spec);
  let f = 0;
  for (let i = 0; i + 1 < w.length; i++) f += 2 * w[i]! * w[i + 1]!;
  return f;
}
