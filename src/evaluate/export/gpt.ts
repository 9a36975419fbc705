import { activation, attr, cast, matmulAdd, reshape, transpose, unsqueeze, type GraphBuilder } from '../../core/onnx/index.js';
import { ATTENTION_MASK_VALUE, LAYER_NORM_EPSILON } from '../../train/nn/index.js';
import type { GptSpec, WeightMap } from '../../train/students/index.js';
import { addWeight } from './weights.js';

/**
 * gpt, following src/students/README.md: ids int64 [B, T] and attention_mask int64 [B, T]
 * (1 = real token, as Hugging Face causal-LM exports take them) -> logits [B, T, V].
 * Pre-LN blocks, fused qkv, q scaled by 1/sqrt(dh) before q·kᵀ, exact erf GELU, learned
 * positions 0..T-1, LayerNorm eps 1e-5, lm_head without bias (tiedHead: tok_emb transposed).
 */
export function gptGraph(g: GraphBuilder, spec: GptSpec, weights: WeightMap, ids: string, mask: string): string {
  const { dModel: D, heads: H } = spec;
  const dh = D / H;
  const w = (name: string): string => addWeight(g, weights, name);
  const tokTable = w('tok_emb/table');
  const pos = g.op('Range', [g.scalar(0, 'int64', 'zero'), g.op('Gather', [g.op('Shape', [ids]), g.scalar(1, 'int64', 'seq_axis')], { axis: 0 }), g.scalar(1, 'int64', 'one')], {}, { name: 'positions' });
  let h = g.op('Add', [g.op('Gather', [tokTable, ids], { axis: 0 }), g.op('Gather', [w('pos_emb/table'), pos], { axis: 0 })]);
  const bias = attentionBias(g, pos, mask);
  const ln = (x: string, p: string): string =>
    g.op('LayerNormalization', [x, w(`${p}/gamma`), w(`${p}/beta`)], { axis: -1, epsilon: attr.float(LAYER_NORM_EPSILON) }, { name: p });
  const heads = (x: string, perm: number[]): string => transpose(g, reshape(g, x, [0, 0, H, dh]), perm);
  for (let i = 0; i < spec.layers; i++) {
    const b = `block_${i}`;
    const qkv = matmulAdd(g, ln(h, `${b}/ln_1`), w(`${b}/attn/qkv/kernel`), w(`${b}/attn/qkv/bias`));
    const [q, k, v] = g.node('Split', [qkv], 3, { axis: -1 }, { name: `${b}/attn/split` }) as [string, string, string];
    const qh = g.op('Mul', [heads(q, [0, 2, 1, 3]), g.scalar(1 / Math.sqrt(dh))]); // [B,H,T,dh]
    const scores = g.op('Add', [g.op('MatMul', [qh, heads(k, [0, 2, 3, 1])]), bias]); // [B,H,T,T]
    const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), heads(v, [0, 2, 1, 3])]);
    const merged = reshape(g, transpose(g, ctx, [0, 2, 1, 3]), [0, 0, D]); // head-major features
    h = g.op('Add', [h, matmulAdd(g, merged, w(`${b}/attn/proj/kernel`), w(`${b}/attn/proj/bias`))]);
    const fc = activation(g, matmulAdd(g, ln(h, `${b}/ln_2`), w(`${b}/mlp/fc/kernel`), w(`${b}/mlp/fc/bias`)), 'gelu');
    h = g.op('Add', [h, matmulAdd(g, fc, w(`${b}/mlp/proj/kernel`), w(`${b}/mlp/proj/bias`))]);
  }
  h = ln(h, 'ln_f');
  // tied: a Transpose of a constant, which onnxruntime folds at load, so the file keeps one copy
  const head = spec.tiedHead ? g.op('Transpose', [tokTable], { perm: [1, 0] }) : w('lm_head/kernel');
  return g.op('MatMul', [h, head]);
}

/**
 * Additive score bias [B, 1, T, T]: 0 where key j may be seen from query i (j <= i and
 * mask[b][j] = 1), else ATTENTION_MASK_VALUE, exactly the student's causal mask when the mask is all ones.
 */
function attentionBias(g: GraphBuilder, pos: string, mask: string): string {
  const past = g.op('LessOrEqual', [unsqueeze(g, pos, [0]), unsqueeze(g, pos, [1])]); // [T,T]: j <= i
  const real = unsqueeze(g, cast(g, mask, 'bool'), [1, 2]); // [B,1,1,T]
  const allowed = g.op('And', [past, real]);
  return g.op('Where', [allowed, g.scalar(0), g.scalar(ATTENTION_MASK_VALUE)], {}, { name: 'attention_bias' });
}
