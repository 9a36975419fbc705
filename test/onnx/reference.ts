/** Float64 reference math for the ONNX tests, written independently of the graph builders. */
import type { GptConfig, GptWeights, Weight } from '../../src/core/onnx/index.js';

export type Mat = Float64Array[];

/** x [n, in] @ W [in, out] + b. */
export function affine(x: Mat, W: Weight, b?: Weight): Mat {
  const [inDim, outDim] = W.dims as [number, number];
  return x.map((row) => {
    const y = new Float64Array(outDim);
    for (let o = 0; o < outDim; o++) {
      let s = b ? b.data[o]! : 0;
      for (let i = 0; i < inDim; i++) s += row[i]! * W.data[i * outDim + o]!;
      y[o] = s;
    }
    return y;
  });
}

export const relu = (x: Mat): Mat => x.map((r) => r.map((v) => Math.max(0, v)));

/** Rows of a flat array. */
export function rows(data: ArrayLike<number>, width: number): Mat {
  const out: Mat = [];
  for (let i = 0; i < data.length; i += width) out.push(Float64Array.from(Array.prototype.slice.call(data, i, i + width) as number[]));
  return out;
}

export function logSumExp(row: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < row.length; i++) m = Math.max(m, row[i]!);
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i]! - m);
  return m + Math.log(s);
}

export function softmax(row: ArrayLike<number>, temperature = 1): Float64Array {
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! / temperature;
  const lse = logSumExp(out);
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(out[i]! - lse);
  return out;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topK(row: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b).slice(0, k);
}

/** Inverse-CDF draw: number of cdf entries below u, clamped to V-1. */
export function inverseCdf(probs: Float64Array, u: number): number {
  return inverseCdfAll(probs, [u])[0]!;
}

/** inverseCdf for several u at once: one float64 running sum, then a binary search per u. */
export function inverseCdfAll(probs: Float64Array, us: ArrayLike<number>): number[] {
  const cdf = new Float64Array(probs.length);
  let sum = 0;
  for (let i = 0; i < probs.length; i++) cdf[i] = sum += probs[i]!;
  return Array.from(us, (u) => {
    let lo = 0;
    let hi = cdf.length; // count of cdf entries < u, cdf being non-decreasing
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return Math.min(lo, probs.length - 1);
  });
}

/** True if drawing `id` for u is right up to tol: cdf[id-1] < u + tol and u - tol <= cdf[id] (id V-1 takes any larger u). */
export function drawWithinTolerance(probs: Float64Array, id: number, u: number, tol: number): boolean {
  let below = 0;
  for (let i = 0; i < id; i++) below += probs[i]!;
  const upTo = id === probs.length - 1 ? Infinity : below + probs[id]!;
  return below < u + tol && u - tol <= upTo;
}

/** erf: Maclaurin series for |x| < 3 (float64-accurate), Abramowitz & Stegun 7.1.26 beyond (|error| < 1.5e-7). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (1 + 0.3275911 * a);
  const poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return Math.sign(x) * (1 - poly * Math.exp(-a * a));
}

export const geluErf = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));
export const geluTanh = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

function layerNorm(x: Mat, gamma: Weight, beta: Weight, eps: number): Mat {
  return x.map((r) => {
    const mean = r.reduce((a, v) => a + v, 0) / r.length;
    const variance = r.reduce((a, v) => a + (v - mean) ** 2, 0) / r.length;
    return r.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * gamma.data[i]! + beta.data[i]!);
  });
}

/** GPT forward for one sequence: logits [T][V]. mask[j] = 0 hides key j. */
export function gptForward(w: GptWeights, cfg: GptConfig, ids: number[], mask: number[]): Mat {
  const d = w.wte.dims[1]!;
  const T = ids.length;
  const H = cfg.heads;
  const dh = d / H;
  const act = cfg.activation === 'gelu' ? geluErf : cfg.activation === 'relu' ? (v: number) => Math.max(0, v) : geluTanh;
  let h: Mat = ids.map((id, t) => Float64Array.from({ length: d }, (_, j) => w.wte.data[id * d + j]! + w.wpe.data[t * d + j]!));
  for (const b of w.blocks) {
    const x = layerNorm(h, b.ln1.gamma, b.ln1.beta, cfg.eps ?? 1e-5);
    const q = affine(x, b.attn.q.W, b.attn.q.b);
    const k = affine(x, b.attn.k.W, b.attn.k.b);
    const v = affine(x, b.attn.v.W, b.attn.v.b);
    const ctx: Mat = Array.from({ length: T }, () => new Float64Array(d));
    for (let hd = 0; hd < H; hd++) {
      for (let i = 0; i < T; i++) {
        const s = Array.from({ length: T }, (_, j) => {
          if (j > i || mask[j] === 0) return -1e9;
          let dot = 0;
          for (let c = 0; c < dh; c++) dot += q[i]![hd * dh + c]! * k[j]![hd * dh + c]!;
          return dot / Math.sqrt(dh);
        });
        const p = softmax(s);
        for (let j = 0; j < T; j++) for (let c = 0; c < dh; c++) ctx[i]![hd * dh + c]! += p[j]! * v[j]![hd * dh + c]!;
      }
    }
    const attnOut = affine(ctx, b.attn.o.W, b.attn.o.b);
    h = h.map((r, i) => r.map((val, j) => val + attnOut[i]![j]!));
    const m = affine(layerNorm(h, b.ln2.gamma, b.ln2.beta, cfg.eps ?? 1e-5), b.mlp.fc.W, b.mlp.fc.b).map((r) => r.map(act));
    const mlpOut = affine(m, b.mlp.proj.W, b.mlp.proj.b);
    h = h.map((r, i) => r.map((val, j) => val + mlpOut[i]![j]!));
  }
  const hf = layerNorm(h, w.lnF.gamma, w.lnF.beta, cfg.eps ?? 1e-5);
  const V = w.wte.dims[0]!;
  return hf.map((r) => Float64Array.from({ length: V }, (_, t) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += r[j]! * w.wte.data[t * d + j]!;
    return s;
  }));
}

/** Max |a - b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
