import { activation, attr, cast, matmulAdd, reshape, transpose, unsqueeze, type GraphBuilder } from '../../../core/onnx/index.js';
import { ATTENTION_MASK_VALUE, LAYER_NORM_EPSILON } from '../../nn/index.js';
import type { GptSpec } from '../spec.js';
import type { StudentGraphOptions } from './dropout.js';
import type { WeightSource } from './weights.js';

/**
 * gpt, following train/students/README.md: ids [B, T] (int64 or int32) and an optional
 * attention_mask int64 [B, T] (1 = real token, as Hugging Face causal-LM exports take them;
 * absent: causal only, as the student trains) -> logits [B, T, V]. Pre-LN blocks, fused qkv,
 * q scaled by 1/sqrt(dh) before q·kᵀ, exact erf GELU, learned positions 0..T-1, LayerNorm eps
 * 1e-5, lm_head without bias (tiedHead: tok_emb transposed). Dropout sites in the tfjs order:
 * embeddings, then per block attention probabilities, attention residual, mlp residual.
 */
export function gptGraph(g: GraphBuilder, spec: GptSpec, w: WeightSource, ids: string, mask?: string, opts: StudentGraphOptions = {}): string {
  const { dModel: D, heads: H } = spec;
  const dh = D / H;
  const rate = spec.dropout ?? 0;
  const drop = (x: string, shape: (number | 'batch' | 'seq')[]): string => (opts.dropout && rate > 0 ? opts.dropout(g, x, rate, shape) : x);
  const weight = (name: string): string => w.weight(g, name);
  const tokTable = weight('tok_emb/table');
  const pos = g.op('Range', [g.scalar(0, 'int64', 'zero'), g.op('Gather', [g.op('Shape', [ids]), g.scalar(1, 'int64', 'seq_axis')], { axis: 0 }), g.scalar(1, 'int64', 'one')], {}, { name: 'positions' });
  let h = g.op('Add', [g.op('Gather', [tokTable, ids], { axis: 0 }), g.op('Gather', [weight('pos_emb/table'), pos], { axis: 0 })]);
  h = drop(h, ['batch', 'seq', D]);
  const bias = attentionBias(g, pos, mask);
  const ln = (x: string, p: string): string =>
    g.op('LayerNormalization', [x, weight(`${p}/gamma`), weight(`${p}/beta`)], { axis: -1, epsilon: attr.float(LAYER_NORM_EPSILON) }, { name: p });
  const heads = (x: string, perm: number[]): string => transpose(g, reshape(g, x, [0, 0, H, dh]), perm);
  for (let i = 0; i < spec.layers; i++) {
    const b = `block_${i}`;
    const qkv = matmulAdd(g, ln(h, `${b}/ln_1`), weight(`${b}/attn/qkv/kernel`), weight(`${b}/attn/qkv/bias`));
    const [q, k, v] = g.node('Split', [qkv], 3, { axis: -1 }, { name: `${b}/attn/split` }) as [string, string, string];
    const qh = g.op('Mul', [heads(q, [0, 2, 1, 3]), g.scalar(1 / Math.sqrt(dh))]); // [B,H,T,dh]
    const scores = g.op('Add', [g.op('MatMul', [qh, heads(k, [0, 2, 3, 1])]), bias]); // [B,H,T,T]
    const probs = drop(g.op('Softmax', [scores], { axis: -1 }), ['batch', H, 'seq', 'seq']);
    const ctx = g.op('MatMul', [probs, heads(v, [0, 2, 1, 3])]);
    const merged = reshape(g, transpose(g, ctx, [0, 2, 1, 3]), [0, 0, D]); // head-major features
    h = g.op('Add', [h, drop(matmulAdd(g, merged, weight(`${b}/attn/proj/kernel`), weight(`${b}/attn/proj/bias`)), ['batch', 'seq', D])]);
    const fc = activation(g, matmulAdd(g, ln(h, `${b}/ln_2`), weight(`${b}/mlp/fc/kernel`), weight(`${b}/mlp/fc/bias`)), 'gelu');
    h = g.op('Add', [h, drop(matmulAdd(g, fc, weight(`${b}/mlp/proj/kernel`), weight(`${b}/mlp/proj/bias`)), ['batch', 'seq', D])]);
  }
  h = ln(h, 'ln_f');
  // tied: a Transpose of a constant, which onnxruntime folds at load, so the file keeps one copy
  const head = spec.tiedHead ? g.op('Transpose', [tokTable], { perm: [1, 0] }) : weight('lm_head/kernel');
  return g.op('MatMul', [h, head]);
}

/**
 * Additive score bias: 0 where key j may be seen from query i (j <= i and, with a mask,
 * mask[b][j] = 1), else ATTENTION_MASK_VALUE; [T, T] without a mask, [B, 1, T, T] with one.
 */
function attentionBias(g: GraphBuilder, pos: string, mask: string | undefined): string {
  const past = g.op('LessOrEqual', [unsqueeze(g, pos, [0]), unsqueeze(g, pos, [1])]); // [T,T]: j <= i
  const allowed = mask === undefined ? past : g.op('And', [past, unsqueeze(g, cast(g, mask, 'bool'), [1, 2])]); // [B,1,1,T]
  return g.op('Where', [allowed, g.scalar(0), g.scalar(ATTENTION_MASK_VALUE)], {}, { name: 'attention_bias' });
}
