import { KennisError } from '../errors/index.js';

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major, float64): Householder reduction to
 * tridiagonal form, then the implicit QL algorithm (tred2 / tql2 of EISPACK, as in JAMA).
 * Returns eigenvalues in descending order and the matching orthonormal eigenvectors as the
 * rows of `vectors` (row i = eigenvector i), so later products read them contiguously.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new KennisError(`symmetricEigen expected ${n * n} values for a ${n}x${n} matrix, got ${a.length}`);
  const V = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // both steps work on the transpose of the transform, so each inner loop reads contiguous rows
  tred2(V, d, e, n);
  const Vt = V;
  tql2(Vt, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y]! - d[x]!);
  const values = Float64Array.from(order, (i) => d[i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(Vt.subarray(src * n, src * n + n), dst * n));
  return { values, vectors };
}

/** A thin SVD A = U diag(S) Vᵀ of an m x n matrix (k = min(m, n)), or its leading k triplets; singular values descending. */
export interface Svd {
  /** Rows of A. */
  m: number;
  /** Columns of A. */
  n: number;
  /** Singular values kept. */
  k: number;
  /** Left singular vectors, row-major m x k. */
  U: Float64Array;
  /** Singular values, descending. */
  S: Float64Array;
  /** Right singular vectors, row-major n x k. */
  V: Float64Array;
}

/**
 * Thin SVD of a row-major m x n matrix in float64, via the eigen-decomposition of the smaller
 * Gram matrix (AᵀA or AAᵀ): V from its eigenvectors, σ = sqrt(λ), U = A V / σ. Because each U
 * column times σ is A v exactly, U diag(S) Vᵀ = A V Vᵀ = A at full rank even where a tiny σ is
 * imprecise. With `rank`, only the leading `rank` triplets (the best rank-`rank` approximation).
 * Cost: one Gram product (m n min(m,n)), one eigen-decomposition (~4 min(m,n)^3), U in m n rank.
 */
export function svd(a: ArrayLike<number>, m: number, n: number, rank = Math.min(m, n)): Svd {
  if (a.length !== m * n) throw new KennisError(`svd expected ${m * n} values for a ${m}x${n} matrix, got ${a.length}`);
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= Math.min(m, n))) throw new KennisError(`svd rank must be an integer in 1..${Math.min(m, n)} for a ${m}x${n} matrix, got ${rank}`);
  if (n > m) {
    const t = svd(transpose(Float64Array.from(a), m, n), n, m, rank);
    return { m, n, k: t.k, U: t.V, S: t.S, V: t.U };
  }
  const A = Float64Array.from(a);
  const G = new Float64Array(n * n);
  for (let r = 0; r < m; r++) {
    const row = A.subarray(r * n, r * n + n);
    for (let i = 0; i < n; i++) {
      const x = row[i]!;
      if (x === 0) continue;
      const gi = i * n;
      for (let j = i; j < n; j++) G[gi + j] = G[gi + j]! + x * row[j]!;
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) G[i * n + j] = G[j * n + i]!;
  const { values, vectors } = symmetricEigen(G, n);
  // only the leading `rank` triplets are formed: U = A V costs m n k
  const k = rank;
  const S = Float64Array.from(values.subarray(0, k), (l) => Math.sqrt(Math.max(0, l)));
  const V = transpose(vectors.subarray(0, k * n), k, n); // n x k, column i = eigenvector i
  const U = new Float64Array(m * k);
  for (let r = 0; r < m; r++) {
    const row = A.subarray(r * n, r * n + n);
    for (let i = 0; i < k; i++) {
      if (!(S[i]! > 0)) continue; // a zero singular value: A v = 0, so its U column contributes nothing
      const v = vectors.subarray(i * n, i * n + n);
      let s = 0;
      for (let j = 0; j < n; j++) s += row[j]! * v[j]!;
      U[r * k + i] = s / S[i]!;
    }
  }
  return { m, n, k, U, S, V };
}

/** The first `rank` singular triplets of an SVD (the best rank-`rank` approximation, Eckart–Young). */
export function truncateSvd(s: Svd, rank: number): Svd {
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= s.k)) throw new KennisError(`truncateSvd rank must be an integer in 1..${s.k} for a ${s.m}x${s.n} matrix, got ${rank}`);
  const take = (M: Float64Array, rows: number): Float64Array => {
    const out = new Float64Array(rows * rank);
    for (let r = 0; r < rows; r++) out.set(M.subarray(r * s.k, r * s.k + rank), r * rank);
    return out;
  };
  return { m: s.m, n: s.n, k: rank, U: take(s.U, s.m), S: s.S.slice(0, rank), V: take(s.V, s.n) };
}

/** Row-major transpose of a rows x cols matrix. */
function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  return t;
}

/**
 * Householder tridiagonalization (JAMA's tred2 with every V[r][c] read as V[c][r], so its inner
 * loops run along rows): on return V holds the transpose of the orthogonal transform, d the
 * diagonal, e the subdiagonal (in e[1..]). The input is symmetric, so reading it transposed is free.
 */
function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[j * n + i - 1]!;
        V[j * n + i] = 0;
        V[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[i * n + j] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[j * n + k]! * d[k]!;
          e[k] = e[k]! + V[j * n + k]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[j * n + k] = V[j * n + k]! - (f * e[k]! + g * d[k]!);
        d[j] = V[j * n + i - 1]!;
        V[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[i * n + n - 1] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[(i + 1) * n + k]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[(i + 1) * n + k]! * V[j * n + k]!;
        for (let k = 0; k <= i; k++) V[j * n + k] = V[j * n + k]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[(i + 1) * n + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[j * n + n - 1]!;
    V[j * n + n - 1] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); Vt (the transpose of tred2's V) accumulates the rotations in its rows. */
function tql2(Vt: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new KennisError(`symmetric eigen-decomposition did not converge for eigenvalue ${l} of ${n}; the matrix holds NaN or Inf`);
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const a = i * n;
          const b = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const vb = Vt[b + k]!;
            const va = Vt[a + k]!;
            Vt[b + k] = s * va + c * vb;
            Vt[a + k] = c * va - s * vb;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
