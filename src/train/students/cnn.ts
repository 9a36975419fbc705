import * as tf from '@tensorflow/tfjs';
import { TrainError } from '../../core/errors/index.js';
import { conv2dSame, dense, dropout } from '../nn/index.js';
import { dropoutStream, param, type ForwardOptions } from './forward.js';
import type { ParamDef, Params } from './params.js';
import type { CnnSpec } from './spec.js';

interface ConvGeom { h: number; w: number; cin: number; cout: number; k: number; pool: number }

/** Per conv block: input size, channels, kernel, pool; and the flattened width after the last block. */
function geometry(spec: CnnSpec): { convs: ConvGeom[]; flat: number } {
  let [h, w, c] = spec.inputShape;
  const convs = spec.conv.map((l) => {
    const g = { h, w, cin: c, cout: l.filters, k: l.kernel, pool: l.pool ?? 1 };
    h = Math.floor(h / g.pool);
    w = Math.floor(w / g.pool);
    c = l.filters;
    return g;
  });
  return { convs, flat: h * w * c };
}

/** conv_i/kernel [k,k,cin,cout] (HWIO), conv_i/bias [cout]; then dense_j/kernel [in,out], dense_j/bias [out], output last. */
export function cnnParamDefs(spec: CnnSpec): ParamDef[] {
  const { convs, flat } = geometry(spec);
  const defs: ParamDef[] = [];
  convs.forEach((g, i) => {
    defs.push(
      { name: `conv_${i}/kernel`, shape: [g.k, g.k, g.cin, g.cout], init: { kind: 'heUniform', fanIn: g.k * g.k * g.cin } },
      { name: `conv_${i}/bias`, shape: [g.cout], init: { kind: 'zeros' } },
    );
  });
  const w = [flat, ...spec.dense, spec.classes];
  for (let j = 0; j + 1 < w.length; j++) {
    const [fanIn, fanOut] = [w[j]!, w[j + 1]!];
    const init = j + 2 < w.length ? { kind: 'heUniform' as const, fanIn } : { kind: 'glorotUniform' as const, fanIn, fanOut };
    defs.push({ name: `dense_${j}/kernel`, shape: [fanIn, fanOut], init }, { name: `dense_${j}/bias`, shape: [fanOut], init: { kind: 'zeros' } });
  }
  return defs;
}

/**
 * Per block: relu(conv2d(h, kernel, stride 1, 'same') + bias), then maxPool(pool, stride pool, 'valid')
 * if pool > 1; flatten NHWC row-major (h, w, c); relu dense layers with dropout; linear output layer.
 */
export function cnnForward(spec: CnnSpec, seed: number, params: Params, inputs: tf.Tensor, options: ForwardOptions): tf.Tensor2D {
  const [H, W, C] = spec.inputShape;
  const per = inputs.shape.slice(1).reduce((a, b) => a * b, 1);
  if (inputs.rank < 2 || per !== H * W * C) {
    throw new TrainError(`student cnn expects inputs [B,${H},${W},${C}] or [B,${H * W * C}], got [${inputs.shape}]; set student.inputShape`);
  }
  const B = inputs.shape[0]!;
  const rate = spec.dropout ?? 0;
  const stream = dropoutStream(seed, options, rate > 0);
  return tf.tidy(() => {
    let x = tf.reshape(tf.cast(inputs, 'float32'), [B, H, W, C]) as tf.Tensor4D;
    spec.conv.forEach((l, i) => {
      x = conv2dSame(x, param(params, `conv_${i}/kernel`), param(params, `conv_${i}/bias`), { activation: 'relu', inputGrad: i > 0 });
      const p = l.pool ?? 1;
      if (p > 1) x = tf.maxPool(x, p, p, 'valid');
    });
    let h = tf.reshape(x, [B, x.size / B]) as tf.Tensor2D;
    const n = spec.dense.length;
    for (let j = 0; j <= n; j++) {
      const last = j === n;
      h = dense(h, param(params, `dense_${j}/kernel`), param(params, `dense_${j}/bias`), { activation: last ? 'linear' : 'relu', inputGrad: j > 0 || spec.conv.length > 0 });
      if (!last) h = dropout(h, rate, stream);
    }
    return h;
  });
}

/** Forward FLOPs per sample: 2*H*W*k*k*cin*cout per conv (at its input resolution) + 2*in*out per dense. */
export function cnnFlops(spec: CnnSpec): number {
  const { convs, flat } = geometry(spec);
  let f = convs.reduce((s, g) => s + 2 * g.h * g.w * g.k * g.k * g.cin * g.cout, 0);
  const w = [flat, ...spec.dense, spec.classes];
  for (let j = 0; j + 1 < w.length; j++) f += 2 * w[j]! * w[j + 1]!;
  return f;
}
