import type { MetricPoint, ReportInput, ReportModel } from '../../src/evaluate/report/index.js';
import { Rng } from '../../src/core/util/index.js';

/** Class labels of the fixture (MNIST-like digits). */
export const CLASS_LABELS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** A noisy decaying curve of n points from about `start` to about `end`. */
function curve(rng: Rng, n: number, start: number, end: number, noise: number): number[] {
  return Array.from({ length: n }, (_, i) => end + (start - end) * Math.exp((-4 * i) / n) + noise * (rng.next() - 0.5));
}

/** Confusion counts with roughly the given error rate per class, errors spread at random over the other classes. */
function confusion(rng: Rng, rates: number[]): number[][] {
  return rates.map((rate, t) => {
    const row = new Array<number>(rates.length).fill(0);
    const total = 950 + rng.int(100);
    const errors = Math.round(total * rate);
    for (let e = 0; e < errors; e++) row[(t + 1 + rng.int(rates.length - 1)) % rates.length]!++;
    row[t] = total - errors;
    return row;
  });
}

function model(rng: Rng, name: string, errorScale: number, params: number, latencyMs: number): ReportModel {
  const rates = CLASS_LABELS.map((_, c) => errorScale * (0.5 + (c % 4) * 0.35) * (0.8 + 0.4 * rng.next()));
  const conf = confusion(rng, rates);
  const perClassErrors = conf.map((row, t) => 1 - row[t]! / row.reduce((a, b) => a + b, 0));
  const wrong = conf.reduce((a, row, t) => a + row.reduce((x, y) => x + y, 0) - row[t]!, 0);
  const total = conf.flat().reduce((a, b) => a + b, 0);
  return {
    name,
    metrics: { 'test/error': wrong / total, 'test/accuracy': 1 - wrong / total, 'test/nll': 3 * errorScale + 0.05 },
    params,
    bytes: params * 4 + 1200,
    latencyMs,
    perClassErrors,
    confusion: conf,
  };
}

/** MNIST-like report: 2 runs x 50 train points (+10 evals), teacher + 2 students, 10 classes, a tradeoffs scatter. */
export function mnistLikeReport(): ReportInput {
  const rng = new Rng(7);
  const steps = Array.from({ length: 50 }, (_, i) => (i + 1) * 20);
  const evalSteps = steps.filter((_, i) => i % 5 === 4);
  const run = (name: string, kd: boolean, finalErr: number) => {
    const ce = curve(rng, 50, 2.3, 0.12 + finalErr, 0.08);
    const kdLoss = curve(rng, 50, 1.6, 0.2, 0.06);
    const train = steps.map((step, i): MetricPoint =>
      kd ? { step, loss: 0.5 * ce[i]! + 0.5 * kdLoss[i]!, ce_loss: ce[i]!, kd_loss: kdLoss[i]! } : { step, loss: ce[i]! },
    );
    const err = curve(rng, evalSteps.length, 0.4, finalErr, 0.01);
    const evals: MetricPoint[] = evalSteps.map((step, i) => ({ step, 'eval/error': err[i]!, 'eval/accuracy': 1 - err[i]! }));
    return { name, train, eval: evals };
  };
  return {
    title: 'MNIST distillation: teacher MLP-1200 → student MLP-64',
    subtitle: 'offline KD from cached full logits, T=4, alpha=0.5',
    notes: ['distillation closed 62% of the gap between baseline and teacher', 'latency measured single-threaded, batch 1'],
    headline: { metric: 'test/error', label: 'test error', lowerIsBetter: true },
    runs: [run('baseline', false, 0.045), run('distilled', true, 0.032)],
    models: [
      model(rng, 'teacher', 0.015, 2_395_210, 0.41),
      model(rng, 'baseline', 0.045, 50_890, 0.032),
      model(rng, 'distilled', 0.032, 50_890, 0.031),
    ],
    classLabels: CLASS_LABELS,
    tradeoffs: {
      title: 'Cache size vs fidelity per target kind',
      xName: 'bytes per token',
      yName: 'bits per byte',
      points: [
        { x: 1024, y: 2.01, label: 'full logits' },
        { x: 68, y: 2.03, label: 'top-k 8' },
        { x: 260, y: 2.015, label: 'top-k 32' },
        { x: 48, y: 2.09, label: 'sampled 16' },
      ],
    },
  };
}
