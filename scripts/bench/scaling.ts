/**
 * Scaling: precompute and one training epoch at 1x, 4x and 16x rows (MNIST train split, first
 * 500/2000/8000 rows; --quick 125/2000), each run in its own process so its peak RSS
 * (VmHWM at exit) is its own. Shards and the shuffle buffer are 1x rows, so every scale streams
 * full shards through a full buffer. Time should be setup + rows x a constant (a straight line,
 * R^2 near 1) and peak RSS flat: the pipeline never holds the dataset's targets in memory.
 * Run: npx tsx scripts/bench/scaling.ts [--quick] [--out bench/scaling.json]
 */
import path from 'node:path';
import { rmSync } from 'node:fs';
import { mnistTeacher } from './lib/caches.js';
import { runJsonScript } from './lib/child.js';
import { isMain, runSection, scratchDir } from './lib/cli.js';
import { SCALE_STUDENT, SCALE_TRAIN, type ScaleRun } from './lib/scale-config.js';
import { fmt, spread, type Spread } from './lib/stats.js';
import { printTable } from './lib/table.js';

/** Figures of one stage at one scale. */
export interface ScalePoint {
  stage: ScaleRun['stage'];
  /** 1, 4 or 16. */
  scale: number;
  rows: number;
  /** Whole run (setup included) over its rows. */
  msPerRow: Spread;
  peakRssMiB: Spread;
}

/** Least-squares line seconds = setup + rows * perRow through a stage's median run times. */
export interface ScaleFit {
  /** Fixed cost (s): process setup, teacher / student creation, the first step's kernel compilation. */
  setupSeconds: number;
  /** Slope in ms per row: what each row costs once the run is going. */
  msPerRow: number;
  /** Coefficient of determination: 1 = time grows exactly linearly in rows (a flat per-row cost). */
  r2: number;
  /** Peak RSS at 16x over peak RSS at 1x. */
  peakRss16xOver1x: number;
}

function fit(points: readonly ScalePoint[]): ScaleFit {
  const xs = points.map((p) => p.rows);
  const ys = points.map((p) => (p.msPerRow.median * p.rows) / 1000);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const [mx, my] = [mean(xs), mean(ys)];
  const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const setup = my - slope * mx;
  const ssRes = ys.reduce((a, y, i) => a + (y - setup - slope * xs[i]!) ** 2, 0);
  const ssTot = ys.reduce((a, y) => a + (y - my) ** 2, 0);
  const rss = (s: number) => points.find((p) => p.scale === s)!.peakRssMiB.median;
  return { setupSeconds: setup, msPerRow: slope * 1000, r2: 1 - ssRes / ssTot, peakRss16xOver1x: rss(16) / rss(1) };
}

const CHILD = path.join(path.dirname(new URL(import.meta.url).pathname), 'lib', 'scale-child.ts');

/** Runs every scale `reps` times, alternating scales so drifting load hits them alike. */
export async function runScalingBench(quick: boolean): Promise<{ points: ScalePoint[]; flatness: Record<ScaleRun['stage'], ScaleFit>; settings: Record<string, unknown> }> {
  const root = scratchDir('scaling');
  const base = quick ? 125 : 500;
  // quick: the two ends only (every point is two fresh processes, ~4 s each to start)
  const scales = quick ? [1, 16] : [1, 4, 16];
  const reps = quick ? 1 : 2;
  const teacher = mnistTeacher(root);
  const runs = new Map<string, ScaleRun[]>();
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const scale of scales) {
        rmSync(path.join(root, 'cache'), { recursive: true, force: true });
        const args = ['--limit', String(base * scale), '--root', root, '--teacher', teacher, '--shard-rows', String(base), '--shuffle', String(base)];
        for (const stage of ['precompute', 'train'] as const) {
          const r = await runJsonScript<ScaleRun>(CHILD, [stage, ...args], path.join(root, `${stage}.json`));
          runs.set(`${stage} ${scale}`, [...(runs.get(`${stage} ${scale}`) ?? []), r]);
        }
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const points: ScalePoint[] = [...runs].map(([key, rs]) => ({
    stage: rs[0]!.stage, scale: Number(key.split(' ')[1]), rows: rs[0]!.rows,
    msPerRow: spread(rs.map((r) => (1000 * r.seconds) / r.rows)), peakRssMiB: spread(rs.map((r) => r.peakRssBytes / 2 ** 20)),
  }));
  const flatness = {
    precompute: fit(points.filter((p) => p.stage === 'precompute')),
    train: fit(points.filter((p) => p.stage === 'train')),
  };
  return { points, flatness, settings: { baseRows: base, scales, reps, targets: 'topk k=8 f16 parquet', shardRows: base, shuffleBuffer: base, student: SCALE_STUDENT, train: SCALE_TRAIN } };
}

/** Prints the scaling table. */
export function printScaling(r: Awaited<ReturnType<typeof runScalingBench>>): void {
  printTable('scaling: each run in its own process; ms per row and peak RSS (VmHWM) should stay flat',
    ['stage', 'scale', 'rows', 'ms/row (whole run)', 'peak RSS MiB'],
    r.points.map((p) => [p.stage, `${p.scale}x`, p.rows, fmt(p.msPerRow, 3), fmt(p.peakRssMiB, 0)]));
  for (const [stage, f] of Object.entries(r.flatness)) {
    console.log(`${stage}: time = ${f.setupSeconds.toFixed(2)} s setup + ${f.msPerRow.toFixed(3)} ms/row (R^2 ${f.r2.toFixed(4)}), peak RSS 16x/1x = ${f.peakRss16xOver1x.toFixed(2)}`);
  }
}

if (isMain(import.meta.url)) await runSection('scaling', runScalingBench, printScaling);
