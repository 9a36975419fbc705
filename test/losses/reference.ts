/**
 * Independent float64 reference for the KD losses, in plain JS loops over probabilities.
 * It implements the documented rules (docs/losses.md) directly, not the tf code's log-space tricks.
 */
export type Div = 'forward_kl' | 'reverse_kl' | 'symmetric' | 'jsd';

export type RefTarget =
  | { kind: 'full'; logits: number[] }
  | { kind: 'topk'; ids: number[]; logits: number[]; lse: number; tail: 'ghost' | 'renormalize' }
  | { kind: 'sampled'; ids: number[]; counts: number[] };

export interface RefOptions {
  T: number;
  div: Div;
  beta?: number;
  alpha: number;
}

/** Smallest normal float32, the documented floor of teacher probabilities in reverse KL. */
const P_FLOOR = 2 ** -126;

export function softmax(z: number[]): number[] {
  let mx = -Infinity;
  for (const v of z) if (v > mx) mx = v;
  const e = z.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export function logSumExp(z: number[]): number {
  let mx = -Infinity;
  for (const v of z) if (v > mx) mx = v;
  if (mx === -Infinity) return -Infinity;
  let s = 0;
  for (const v of z) s += Math.exp(v - mx);
  return mx + Math.log(s);
}

function klP(p: number[], q: number[]): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * (Math.log(p[i]!) - Math.log(q[i]!));
  return s;
}

/** D between teacher probabilities p and student probabilities q over the same buckets. */
export function divergence(p: number[], q: number[], div: Div, beta = 0.5): number {
  const pf = p.map((v) => Math.max(v, P_FLOOR));
  switch (div) {
    case 'forward_kl': return klP(p, q);
    case 'reverse_kl': return klP(q, pf);
    case 'symmetric': return beta * klP(p, q) + (1 - beta) * klP(q, pf);
    case 'jsd': {
      const m = p.map((v, i) => 0.5 * v + 0.5 * q[i]!);
      return 0.5 * klP(p, m) + 0.5 * klP(q, m);
    }
  }
}

/** D(teacher_T, student_T) for one row, without T^2. */
export function distillRow(student: number[], target: RefTarget, T: number, div: Div, beta = 0.5): number {
  const V = student.length;
  const s = softmax(student.map((v) => v / T));
  if (target.kind === 'full') return divergence(softmax(target.logits.map((v) => v / T)), s, div, beta);
  if (target.kind === 'sampled') {
    const n = target.counts.reduce((a, b) => a + b, 0);
    const q = new Map<number, number>();
    target.ids.forEach((id, j) => { if (target.counts[j]! > 0) q.set(id, (q.get(id) ?? 0) + target.counts[j]! / n); });
    let kl = 0;
    for (const [id, qv] of q) kl += qv * (Math.log(qv) - Math.log(s[id]!));
    return kl;
  }
  const k = target.ids.length;
  if (target.tail === 'renormalize') {
    return divergence(softmax(target.logits.map((v) => v / T)), softmax(target.ids.map((id) => student[id]! / T)), div, beta);
  }
  // ghost: teacher tail mass at T=1, spread equally over the V - k other tokens, then tempered
  let top = 0;
  for (const z of target.logits) top += Math.exp(z - target.lse);
  // documented rule: a tail below 8 float32 ulps of |lse| is rounding noise, i.e. 0
  const tail = 1 - top < 8 * 2 ** -24 * Math.max(1, Math.abs(target.lse)) ? 0 : 1 - top;
  const bucketLogits = target.logits.map((z) => z / T);
  const ghost = k === V || tail === 0 ? -Infinity : Math.log(V - k) + (target.lse + Math.log(tail) - Math.log(V - k)) / T;
  const p = softmax([...bucketLogits, ghost]);
  const inTop = new Set(target.ids);
  let rest = 0;
  for (let v = 0; v < V; v++) if (!inTop.has(v)) rest += s[v]!;
  const q = [...target.ids.map((id) => s[id]!), rest];
  return divergence(p, q, div, beta);
}

/** The full KD loss, normalised by the number of unmasked rows (0 if none). */
export function kdLossRef(students: number[][], targets: RefTarget[], mask: number[], o: RefOptions, labels?: number[]): number {
  let sum = 0;
  let count = 0;
  students.forEach((row, m) => {
    if (!(mask[m]! > 0)) return;
    count++;
    let loss = o.alpha * o.T * o.T * distillRow(row, targets[m]!, o.T, o.div, o.beta);
    if (o.alpha < 1) loss += (1 - o.alpha) * (logSumExp(row) - row[labels![m]!]!);
    sum += loss;
  });
  return count === 0 ? 0 : sum / count;
}

/** Central-difference gradient of f at x (float64). */
export function numericGrad(f: (x: number[][]) => number, x: number[][], h = 1e-4): number[][] {
  return x.map((row, i) => row.map((_, j) => {
    const xp = x.map((r) => r.slice());
    const xm = x.map((r) => r.slice());
    xp[i]![j]! += h;
    xm[i]![j]! -= h;
    return (f(xp) - f(xm)) / (2 * h);
  }));
}

/** Deterministic normal draws for test inputs (Box-Muller over a small LCG). */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uni = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uni())) * Math.cos(2 * Math.PI * uni());
}

export function matrix(rows: number, cols: number, rnd: () => number, scale = 1): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rnd() * scale));
}

/** Ids of the k largest entries, in descending order. */
export function topIds(row: number[], k: number): number[] {
  return row.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, k).map(([, i]) => i);
}

/** How a test row's teacher targets are stored: full logits, top-k with either tail, or sampled ids. */
export type Form = 'full' | 'ghost' | 'renormalize' | 'sampled';

/** Float32-rounded copies, so the reference sees exactly the tensors' inputs. */
export const f32 = (m: number[][]) => m.map((r) => r.map((v) => Math.fround(v)));

/** Reference targets of each form from full teacher logits (sampled: a duplicate id and a zero-count pad). */
export function makeTargets(teacher: number[][], form: Form, k: number, rnd: () => number): RefTarget[] {
  return teacher.map((row) => {
    if (form === 'full') return { kind: 'full', logits: row };
    if (form === 'sampled') {
      // distinct ids, one duplicate and one zero-count padding entry with id -1
      const ids = topIds(row, 5);
      ids.push(ids[1]!);
      const counts = ids.map(() => 1 + Math.floor(Math.abs(rnd()) * 7));
      counts.push(0);
      ids.push(-1);
      return { kind: 'sampled', ids, counts };
    }
    const ids = topIds(row, k);
    return { kind: 'topk', ids, logits: ids.map((i) => row[i]!), lse: Math.fround(logSumExp(row)), tail: form };
  });
}
