/**
 * Float64 statistics of logits [P, V] (P positions, row-major), computed in JS per batch so that
 * no log-softmax tensor is materialised. Cost is O(P*V) exp() per pass: negligible for V = 256;
 * at V = 50257 it is ~100k exp() per position and model (a few ms), so budget minutes per 100k tokens.
 */

/** Per-position log-sum-exp and top-1 index (first maximum on ties). */
export interface RowStats {
  /** log(sum_v exp(logit_v)), float64. */
  lse: Float64Array;
  /** argmax_v logit_v. */
  argmax: Int32Array;
}

/** log-sum-exp and argmax of every row of `logits`. */
export function rowStats(logits: ArrayLike<number>, V: number): RowStats {
  const P = logits.length / V;
  const lse = new Float64Array(P);
  const argmax = new Int32Array(P);
  for (let p = 0; p < P; p++) {
    const o = p * V;
    let best = 0;
    let max = logits[o]!;
    for (let v = 1; v < V; v++) if (logits[o + v]! > max) { max = logits[o + v]!; best = v; }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[o + v]! - max);
    lse[p] = max + Math.log(sum);
    argmax[p] = best;
  }
  return { lse, argmax };
}

/** Sum over positions of KL(ref || cur) = sum_v p_ref (log p_ref - log p_cur), nats. */
export function klSum(ref: ArrayLike<number>, refStats: RowStats, cur: ArrayLike<number>, curStats: RowStats, V: number): number {
  let total = 0;
  for (let p = 0; p < refStats.lse.length; p++) {
    const o = p * V;
    const lr = refStats.lse[p]!;
    const lc = curStats.lse[p]!;
    let kl = 0;
    for (let v = 0; v < V; v++) {
      const logPr = ref[o + v]! - lr;
      kl += Math.exp(logPr) * (logPr - (cur[o + v]! - lc));
    }
    total += kl;
  }
  return total;
}
