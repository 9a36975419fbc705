import * as tf from '@tensorflow/tfjs';
import { TrainError } from '../../core/errors/index.js';
import { causalSelfAttention, dense, dropout, embedding, gelu, layerNorm } from '../nn/index.js';
import { dropoutStream, param, type ForwardOptions } from './forward.js';
import type { ParamDef, Params } from './params.js';
import type { GptSpec } from './spec.js';

/** GPT-2 initialisation scale. */
const INIT_STD = 0.02;

function hiddenWidth(spec: GptSpec): number {
  return Math.round((spec.mlpRatio ?? 4) * spec.dModel);
}

/**
 * tok_emb/table [V,D], pos_emb/table [T,D]; per block i: block_i/ln_1/{gamma,beta} [D],
 * block_i/attn/qkv/{kernel [D,3D], bias [3D]}, block_i/attn/proj/{kernel [D,D], bias [D]},
 * block_i/ln_2/{gamma,beta}, block_i/mlp/fc/{kernel [D,F], bias [F]}, block_i/mlp/proj/{kernel [F,D], bias [D]};
 * ln_f/{gamma,beta}; lm_head/kernel [D,V] unless tiedHead.
 */
export function gptParamDefs(spec: GptSpec): ParamDef[] {
  const { vocab: V, dModel: D, seqLen: T, layers: L } = spec;
  const F = hiddenWidth(spec);
  const normal = { kind: 'normal' as const, std: INIT_STD };
  // GPT-2 scales the residual projections by 1/sqrt(2L) so the residual stream's variance stays put.
  const residual = { kind: 'normal' as const, std: INIT_STD / Math.sqrt(2 * L) };
  const zeros = { kind: 'zeros' as const };
  const ln = (p: string): ParamDef[] => [
    { name: `${p}/gamma`, shape: [D], init: { kind: 'ones' } },
    { name: `${p}/beta`, shape: [D], init: zeros },
  ];
  const defs: ParamDef[] = [
    { name: 'tok_emb/table', shape: [V, D], init: normal },
    { name: 'pos_emb/table', shape: [T, D], init: normal },
  ];
  for (let i = 0; i < L; i++) {
    const b = `block_${i}`;
    defs.push(
      ...ln(`${b}/ln_1`),
      { name: `${b}/attn/qkv/kernel`, shape: [D, 3 * D], init: normal },
      { name: `${b}/attn/qkv/bias`, shape: [3 * D], init: zeros },
      { name: `${b}/attn/proj/kernel`, shape: [D, D], init: residual },
      { name: `${b}/attn/proj/bias`, shape: [D], init: zeros },
      ...ln(`${b}/ln_2`),
      { name: `${b}/mlp/fc/kernel`, shape: [D, F], init: normal },
      { name: `${b}/mlp/fc/bias`, shape: [F], init: zeros },
      { name: `${b}/mlp/proj/kernel`, shape: [F, D], init: residual },
      { name: `${b}/mlp/proj/bias`, shape: [D], init: zeros },
    );
  }
  defs.push(...ln('ln_f'));
  if (!spec.tiedHead) defs.push({ name: 'lm_head/kernel', shape: [D, V], init: normal });
  return defs;
}

/**
 * Pre-LayerNorm causal transformer, ids [B,T] int32 (T <= seqLen) -> logits [B,T,V]:
 *   h = drop(tok_emb[ids] + pos_emb[0..T-1])
 *   per block: h = h + drop(attn(ln_1(h)));  h = h + drop(mlp(ln_2(h))),  mlp(u) = gelu(u·fc + b)·proj + b
 *   logits = ln_f(h)·lm_head   (tiedHead: ln_f(h)·transpose(tok_emb)), no output bias.
 */
export function gptForward(spec: GptSpec, seed: number, params: Params, inputs: tf.Tensor, options: ForwardOptions): tf.Tensor3D {
  if (inputs.rank !== 2 || inputs.dtype !== 'int32' || inputs.shape[1]! > spec.seqLen) {
    throw new TrainError(`student gpt expects int32 token ids [B,T] with T <= ${spec.seqLen}, got ${inputs.dtype} [${inputs.shape}]; set student.seqLen`);
  }
  const [B, T] = inputs.shape as [number, number];
  const { dModel: D, vocab: V, heads } = spec;
  checkIds(inputs, V);
  const rate = spec.dropout ?? 0;
  const stream = dropoutStream(seed, options, rate > 0);
  return tf.tidy(() => {
    const tok = embedding(tf.reshape(inputs, [B * T]) as tf.Tensor1D, param(params, 'tok_emb/table'));
    const posTable = param<tf.Rank.R2>(params, 'pos_emb/table');
    const pos = T === spec.seqLen ? posTable : tf.slice(posTable, [0, 0], [T, D]);
    let h = tf.reshape(tf.add(tf.reshape(tok, [B, T, D]), pos), [B * T, D]) as tf.Tensor2D;
    h = dropout(h, rate, stream);
    for (let i = 0; i < spec.layers; i++) {
      const p = <R extends tf.Rank>(n: string): tf.Tensor<R> => param<R>(params, `block_${i}/${n}`);
      const a = layerNorm(h, p('ln_1/gamma'), p('ln_1/beta'));
      const attn = causalSelfAttention(a, { qkvKernel: p('attn/qkv/kernel'), qkvBias: p('attn/qkv/bias'), projKernel: p('attn/proj/kernel'), projBias: p('attn/proj/bias') }, {
        batch: B, seqLen: T, heads, dropout: rate, stream,
      });
      h = tf.add(h, dropout(attn, rate, stream));
      const m = layerNorm(h, p('ln_2/gamma'), p('ln_2/beta'));
      const mlp = dense(gelu(dense(m, p('mlp/fc/kernel'), p('mlp/fc/bias'))), p('mlp/proj/kernel'), p('mlp/proj/bias'));
      h = tf.add(h, dropout(mlp, rate, stream));
    }
    h = layerNorm(h, param(params, 'ln_f/gamma'), param(params, 'ln_f/beta'));
    const head = spec.tiedHead ? tf.transpose(param<tf.Rank.R2>(params, 'tok_emb/table')) : param<tf.Rank.R2>(params, 'lm_head/kernel');
    return tf.reshape(dense(h, head), [B, T, V]) as tf.Tensor3D;
  });
}

/** gatherND does not bounds-check on wasm, so an id >= V would read another row silently. */
function checkIds(ids: tf.Tensor, V: number): void {
  checkTokenIds(ids.dataSync(), V);
}

/** Throws a TrainError naming the first token id outside [0, V). */
export function checkTokenIds(d: ArrayLike<number>, V: number): void {
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v < 0 || v >= V) {
      throw new TrainError(`student gpt got token id ${v} at position ${i}, outside vocab ${V}; set student.vocab to the tokenizer's vocabulary size`);
    }
  }
}

/**
 * Forward FLOPs per sample = one sequence of seqLen tokens: per block 2*T*(3D² + D² + 2*D*F)
 * for the projections plus 2*2*T²*D for the scores and P·v (computed in full, the mask does not
 * skip work), plus 2*T*D*V for the head. Embedding lookups, norms and softmax are not counted.
 */
export function gptFlops(spec: GptSpec): number {
  const { seqLen: T, dModel: D, vocab: V, layers: L } = spec;
  const F = hiddenWidth(spec);
  return L * (2 * T * (4 * D * D + 2 * D * F) + 4 * T * T * D) + 2 * T * D * V;
}
