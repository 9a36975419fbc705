/**
 * Scaling: precompute and one training epoch at 1x, 4x and 16x rows (MNIST train split, first
 * 500/2000/8000 rows; --quick 125/500/2000), each run in its own process so its peak RSS
 * (VmHWM at exit) is its own. Time per row and peak RSS should stay flat as rows grow: the
 * pipeline streams shards and never holds the dataset's targets in memory.
 * Run: npx tsx scripts/bench/scaling.ts [--quick] [--out bench/scaling.json]
 */
import path from 'node:path';
import { rmSync } from 'node:fs';
import { mnistTeacher } from './lib/caches.js';
import { runJsonScript } from './lib/child.js';
import { benchArgs, scratchDir, writeJson } from './lib/cli.js';
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
  /** (time at this scale - time at the previous scale) / (rows added): the per-row cost without setup. */
  marginalMsPerRow?: number;
  peakRssMiB: Spread;
}

const CHILD = path.join(path.dirname(new URL(import.meta.url).pathname), 'lib', 'scale-child.ts');

/** Runs every scale `reps` times, alternating scales so drifting load hits them alike. */
export async function runScalingBench(quick: boolean): Promise<{ points: ScalePoint[]; flatness: Record<string, { msPerRow16xOver1x: number; marginal16xOver4x: number; peakRss16xOver1x: number }>; settings: Record<string, unknown> }> {
  const root = scratchDir('scaling');
  const base = quick ? 125 : 500;
  const scales = [1, 4, 16];
  const reps = quick ? 1 : 2;
  const teacher = mnistTeacher(root);
  const runs = new Map<string, ScaleRun[]>();
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const scale of scales) {
        rmSync(path.join(root, 'cache'), { recursive: true, force: true });
        const args = ['--limit', String(base * scale), '--root', root, '--teacher', teacher, '--shard-rows', String(base)];
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
  for (const p of points) {
    const prev = points.find((q) => q.stage === p.stage && q.scale === p.scale / 4);
    if (prev) p.marginalMsPerRow = (p.msPerRow.median * p.rows - prev.msPerRow.median * prev.rows) / (p.rows - prev.rows);
  }
  const flatness: Record<string, { msPerRow16xOver1x: number; marginal16xOver4x: number; peakRss16xOver1x: number }> = {};
  for (const stage of ['precompute', 'train'] as const) {
    const at = (s: number) => points.find((p) => p.stage === stage && p.scale === s)!;
    flatness[stage] = {
      msPerRow16xOver1x: at(16).msPerRow.median / at(1).msPerRow.median, marginal16xOver4x: at(16).marginalMsPerRow! / at(4).marginalMsPerRow!, peakRss16xOver1x: at(16).peakRssMiB.median / at(1).peakRssMiB.median };
  }
  return { points, flatness, settings: { baseRows: base, scales, reps, targets: 'topk k=8 f16 parquet', shardRows: base, student: SCALE_STUDENT, train: SCALE_TRAIN } };
}

/** Prints the scaling table. */
export function printScaling(r: Awaited<ReturnType<typeof runScalingBench>>): void {
  printTable('scaling: each run in its own process; ms per row and peak RSS (VmHWM) should stay flat',
    ['stage', 'scale', 'rows', 'ms/row (whole run)', 'marginal ms/row', 'peak RSS MiB'],
    r.points.map((p) => [p.stage, `${p.scale}x`, p.rows, fmt(p.msPerRow, 3), p.marginalMsPerRow?.toFixed(3) ?? '-', fmt(p.peakRssMiB, 0)]));
  for (const [stage, f] of Object.entries(r.flatness)) {
    console.log(`${stage}: ms/row 16x/1x = ${f.msPerRow16xOver1x.toFixed(2)}, marginal ms/row 16x/4x = ${f.marginal16xOver4x.toFixed(2)}, peak RSS 16x/1x = ${f.peakRss16xOver1x.toFixed(2)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = benchArgs('scaling');
  const r = await runScalingBench(args.quick);
  printScaling(r);
  writeJson(args.out, { quick: args.quick, ...r });
  console.log(`\nwrote ${path.relative(process.cwd(), args.out)}`);
}
