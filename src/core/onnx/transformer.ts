import { KennisError } from '../errors/index.js';
import type { GraphBuilder } from './builder.js';
import { dense, embedding, layerNorm, reshape, transpose, weight, type Weight } from './layers.js';
import { cast, unsqueeze } from './ops.js';

/** A dense layer's weights: W [in, out], optional b [out]. */
export interface DenseWeights {
  /** Kernel [in, out]. */
  W: Weight;
  /** Bias [out]. */
  b?: Weight;
}

/** LayerNorm scale and shift, each [d]. */
export interface LayerNormWeights {
  /** Scale [d]. */
  gamma: Weight;
  /** Shift [d]. */
  beta: Weight;
}

/** Multi-head self-attention projections, each [d, d]. */
export interface AttentionWeights {
  /** Query projection. */
  q: DenseWeights;
  /** Key projection. */
  k: DenseWeights;
  /** Value projection. */
  v: DenseWeights;
  /** Output projection. */
  o: DenseWeights;
}

/** One pre-norm GPT block. */
export interface GptBlockWeights {
  /** LayerNorm before attention. */
  ln1: LayerNormWeights;
  /** Attention projections. */
  attn: AttentionWeights;
  /** LayerNorm before the MLP. */
  ln2: LayerNormWeights;
  /** MLP: fc [d, hidden] then proj [hidden, d]. */
  mlp: { fc: DenseWeights; proj: DenseWeights };
}

/** Weights of a small GPT. */
export interface GptWeights {
  /** Token embeddings [V, d]. */
  wte: Weight;
  /** Learned position embeddings [maxSeq, d]. */
  wpe: Weight;
  /** Transformer blocks. */
  blocks: GptBlockWeights[];
  /** Final LayerNorm. */
  lnF: LayerNormWeights;
  /** Output projection [d, V]; omitted: tied to wte (logits = h @ wte^T). */
  head?: Weight;
}

/** GPT hyper-parameters that are not implied by the weight shapes. */
export interface GptConfig {
  /** Attention heads (must divide d). */
  heads: number;
  /** LayerNorm epsilon (default 1e-5). */
  eps?: number;
  /** MLP activation (default 'gelu_tanh', GPT-2's). */
  activation?: 'gelu' | 'gelu_tanh' | 'relu';
}

// Large finite negative instead of -inf so fully masked rows give a uniform softmax, not NaN.
const MASKED = -1e9;

/**
 * Causal multi-head self-attention on x [B, T, d]. `bias` is an additive score bias that
 * broadcasts to [B, H, T, T] (causal and padding masks).
 */
export function causalSelfAttention(g: GraphBuilder, x: string, w: AttentionWeights, heads: number, bias: string, hint = 'attn'): string {
  const d = w.q.W.dims[1]!;
  if (d % heads !== 0) throw new KennisError(`attention '${hint}' expected heads to divide d=${d}, got heads=${heads}`);
  const dh = d / heads;
  const split = (t: string, perm: number[]): string => transpose(g, reshape(g, t, [0, 0, heads, dh]), perm);
  const q = split(dense(g, x, w.q.W, w.q.b, 'linear', `${hint}.q`), [0, 2, 1, 3]); // [B,H,T,dh]
  const kT = split(dense(g, x, w.k.W, w.k.b, 'linear', `${hint}.k`), [0, 2, 3, 1]); // [B,H,dh,T]
  const v = split(dense(g, x, w.v.W, w.v.b, 'linear', `${hint}.v`), [0, 2, 1, 3]);
  const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, kT]), g.scalar(1 / Math.sqrt(dh))]), bias]);
  const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]); // [B,H,T,dh]
  const merged = reshape(g, transpose(g, ctx, [0, 2, 1, 3]), [0, 0, d]);
  return dense(g, merged, w.o.W, w.o.b, 'linear', `${hint}.o`);
}

/** Positions 0..T-1 (int64 [T]) for ids [B, T]. */
function positions(g: GraphBuilder, ids: string): string {
  const seq = g.op('Gather', [g.op('Shape', [ids]), g.scalar(1, 'int64', 'seq_axis')], { axis: 0 });
  return g.op('Range', [g.scalar(0, 'int64', 'zero'), seq, g.scalar(1, 'int64', 'one')], {}, { name: 'positions' });
}

/** Additive attention bias [B?, 1, T, T]: -1e9 above the diagonal and, with a mask [B, T], at padded keys. */
function attentionBias(g: GraphBuilder, pos: string, attentionMask?: string): string {
  const future = g.op('Less', [unsqueeze(g, pos, [1]), unsqueeze(g, pos, [0])]); // [T,T]: key j > query i
  const causal = g.op('Where', [future, g.scalar(MASKED), g.scalar(0)], {}, { name: 'causal_bias' });
  if (!attentionMask) return causal;
  const keep = cast(g, attentionMask, 'float32'); // [B,T], 1 = attend
  const pad = g.op('Mul', [g.op('Sub', [g.scalar(1), keep]), g.scalar(MASKED)]);
  return g.op('Add', [causal, unsqueeze(g, pad, [1, 2])], {}, { name: 'attention_bias' }); // [B,1,T,T]
}

/**
 * A GPT-2-style decoder: token + learned position embeddings, pre-norm blocks of causal
 * self-attention and an MLP, final LayerNorm, logits [B, T, V]. ids are int64 [B, T];
 * attentionMask (int64 [B, T], 1 = real token) masks padded keys like Hugging Face models.
 */
export function gpt(g: GraphBuilder, ids: string, w: GptWeights, cfg: GptConfig, attentionMask?: string, hint = 'gpt'): string {
  const eps = cfg.eps ?? 1e-5;
  const pos = positions(g, ids);
  const wte = weight(g, w.wte, `${hint}.wte`);
  let h = g.op('Add', [g.op('Gather', [wte, ids], { axis: 0 }), embedding(g, pos, w.wpe, `${hint}.wpe`)]);
  const bias = attentionBias(g, pos, attentionMask);
  w.blocks.forEach((b, i) => {
    const p = `${hint}.h${i}`;
    h = g.op('Add', [h, causalSelfAttention(g, layerNorm(g, h, b.ln1.gamma, b.ln1.beta, eps, `${p}.ln1`), b.attn, cfg.heads, bias, `${p}.attn`)]);
    const m = layerNorm(g, h, b.ln2.gamma, b.ln2.beta, eps, `${p}.ln2`);
    const fc = dense(g, m, b.mlp.fc.W, b.mlp.fc.b, cfg.activation ?? 'gelu_tanh', `${p}.mlp.fc`);
    h = g.op('Add', [h, dense(g, fc, b.mlp.proj.W, b.mlp.proj.b, 'linear', `${p}.mlp.proj`)]);
  });
  h = layerNorm(g, h, w.lnF.gamma, w.lnF.beta, eps, `${hint}.ln_f`);
  if (w.head) return dense(g, h, w.head, undefined, 'linear', `${hint}.head`);
  // tied head: Transpose of a constant, folded by onnxruntime at load, keeps one copy in the file
  return g.op('MatMul', [h, g.op('Transpose', [wte], { perm: [1, 0] })]);
}
