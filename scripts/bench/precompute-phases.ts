/**
 * Where precompute's time goes beside a plain session.run loop: both over the MNIST MLP
 * 784-1200-1200-10 and the bench:precompute batches (8,000 rows, shards of 1,000, calls of 500),
 * in interleaved rounds, each split at onnxruntime's first and last run into setup (plan, session,
 * for precompute also the cache and its threads), runs (first run's start to last run's end) and
 * after (the last shard's encode and writes, finishing the cache, releasing the session). The loop
 * runs without spinning, as precompute does, so the runs phase compares the teacher alone with
 * the teacher beside the writer.
 * Run: npm run bench:phases [-- --quick] [-- --format arrow]; writes bench/precompute-phases.json.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { precompute } from '../../src/precompute/index.js';
import { validateRecipe, type LoadedRecipe } from '../../src/recipe/index.js';
import { writeBenchTeachers } from './lib/bench-teachers.js';
import { benchArgs, scratchDir, writeJson } from './lib/cli.js';
import { spread, type Spread } from './lib/stats.js';
import { printTable } from './lib/table.js';
import { sessionRunLoop } from './lib/teacher-loop.js';

const args = benchArgs('precompute-phases');
const at = process.argv.indexOf('--format');
const format = at >= 0 ? process.argv[at + 1]! : 'parquet';
const rounds = args.quick ? 4 : 10;
const root = scratchDir('phases');
const { mnistTeacher } = writeBenchTeachers(root);

// every session.run in this process widens the current window
const window = { first: Infinity, last: 0 };
const proto = (ort.InferenceSession as unknown as { prototype: { run: (...a: unknown[]) => Promise<unknown> } }).prototype;
const run = proto.run;
proto.run = async function (this: unknown, ...a: unknown[]) {
  window.first = Math.min(window.first, performance.now());
  try {
    return await run.apply(this, a);
  } finally {
    window.last = Math.max(window.last, performance.now());
  }
};

let dirs = 0;
const loaded = (): LoadedRecipe => ({
  recipe: validateRecipe({
    teacher: { path: mnistTeacher, batch_size: 500 },
    dataset: { name: 'mnist', split: 'train' },
    targets: { kind: 'full', dtype: 'float32' },
    cache: { shard_rows: 1000, format, dir: path.join(root, `cache-${dirs++}`) },
  }),
  baseDir: root,
});

/** Runs `f` and splits its wall time at the first and last session.run. */
async function phases(f: () => Promise<unknown>): Promise<{ total: number; setup: number; runs: number; after: number }> {
  window.first = Infinity;
  window.last = 0;
  const t0 = performance.now();
  await f();
  const t1 = performance.now();
  return { total: t1 - t0, setup: window.first - t0, runs: window.last - window.first, after: t1 - window.last };
}

type Phases = Awaited<ReturnType<typeof phases>>;
const loop: Phases[] = [];
const pre: Phases[] = [];
const written: string[] = [];
for (let r = -1; r < rounds; r++) {
  const l = await phases(() => sessionRunLoop(loaded(), false, true));
  const p = await phases(async () => written.push((await precompute(loaded(), { onWarning: () => undefined })).cacheDir));
  // the first round warms up (thread start, dataset load)
  if (r >= 0) { loop.push(l); pre.push(p); }
}
for (const dir of written) rmSync(dir, { recursive: true, force: true });
rmSync(root, { recursive: true, force: true });

const parts = ['total', 'setup', 'runs', 'after'] as const;
const of = (xs: Phases[]): Record<string, Spread> => Object.fromEntries(parts.map((k) => [k, spread(xs.map((x) => x[k]))]));
const result = { format, rows: 8000, rounds, loop: of(loop), precompute: of(pre), ratioPerRound: spread(loop.map((x, i) => x.total / pre[i]!.total)) };
printTable(`precompute vs a no-spin session.run loop, MNIST MLP, ${format}: ms per phase, median (min-max) of ${rounds} interleaved rounds`,
  ['phase', 'session.run loop', 'precompute', 'difference (medians)'],
  parts.map((k) => {
    const a = result.loop[k]!;
    const b = result.precompute[k]!;
    return [k, `${a.median.toFixed(1)} (${a.min.toFixed(0)}-${a.max.toFixed(0)})`, `${b.median.toFixed(1)} (${b.min.toFixed(0)}-${b.max.toFixed(0)})`, (b.median - a.median).toFixed(1)];
  }));
console.log(`loop / precompute per round: median ${result.ratioPerRound.median.toFixed(2)} (${result.ratioPerRound.min.toFixed(2)}-${result.ratioPerRound.max.toFixed(2)})`);
writeJson(args.out, result);
console.log(`wrote ${path.relative(process.cwd(), args.out)}`);
