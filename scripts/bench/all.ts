/**
 * The whole benchmark: every section in its own process, one after another (never in parallel,
 * which would skew each other's timings), then bench/results.json with the machine, every
 * section's figures (median and spread of repeated runs) and the headline ratios.
 *   1. precompute vs session.run and cache bytes per kind (scripts/bench/precompute.ts)
 *   2. cache read throughput per target kind, Parquet vs Arrow (storage.ts)
 *   3. training throughput and GFLOP/s vs onnxruntime, wasm step profile, loader vs trainer (train.ts)
 *   4. scaling of precompute and one epoch at 1x/4x/16x rows (scaling.ts)
 *   5. parquet-wasm vs parquetjs-lite (parquet.ts)
 *   6. the shard writer alone vs the CPU teacher, and Parquet settings (writer.ts)
 * Run: npm run bench [-- --quick] [--skip-precompute (reuse bench/precompute.json)]
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runJsonScript } from './lib/child.js';
import { benchArgs, writeJson } from './lib/cli.js';
import { machineInfo } from './lib/machine.js';
import { printTable } from './lib/table.js';
import type { runParquetBench } from './parquet.js';
import type { runScalingBench } from './scaling.js';
import type { runStorageBench } from './storage.js';
import type { runTrainBench } from './train.js';
import type { runWriterBench } from './writer.js';

type Result<F extends (quick: boolean) => Promise<unknown>> = Awaited<ReturnType<F>>;

/** The parts of bench/precompute.json (written by precompute.ts) the headline reads. */
interface PrecomputeJson {
  throughput?: { case: string; format: string; precomputeRowsPerSecond: number; sessionRunRowsPerSecond: number; ratio: number; ratioVsNoSpin?: number }[];
  sizes?: { case: string; targets: string; format: string; bytesPerUnit: number }[];
  vocabRss?: VocabRss | VocabRss[];
}

/** One peak-RSS run of precompute.ts at a large vocabulary. */
interface VocabRss {
  rows: number;
  vocab: number;
  seqLen: number;
  maxRssBytes: number;
  fullLogitsBytes: number;
}

const args = benchArgs('results');
const skipPrecompute = process.argv.includes('--skip-precompute');
const here = path.dirname(new URL(import.meta.url).pathname);
const tmp = path.resolve('bench/tmp', `all-${process.pid}`);
const quickFlag = args.quick ? ['--quick'] : [];
const started = performance.now();
const machine = machineInfo();
console.log(`kennis bench${args.quick ? ' --quick' : ''}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverage.join(' ')}`);

const seconds: Record<string, number> = {};
const failures: Record<string, string> = {};
/** Runs one section; a failing section is recorded and the others still run (the exit code says so). */
async function section<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  console.log(`\n=== ${name} ===`);
  const t0 = performance.now();
  try {
    return await run();
  } catch (e) {
    failures[name] = (e as Error).message;
    console.log(`section ${name} FAILED: ${failures[name]}`);
    return undefined;
  } finally {
    seconds[name] = +((performance.now() - t0) / 1000).toFixed(1);
  }
}

const json = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
const child = <T>(script: string) => section(script, () => runJsonScript<T>(path.join(here, `${script}.ts`), quickFlag, path.join(tmp, `${script}.json`)));

const precompute = await section('precompute', async () => {
  const file = path.resolve('bench/precompute.json');
  if (skipPrecompute && existsSync(file)) {
    console.log('reusing bench/precompute.json (--skip-precompute)');
    return json<PrecomputeJson>(file);
  }
  // its own output file: another precompute.ts run must not overwrite this run's figures
  return runJsonScript<PrecomputeJson>(path.join(here, 'precompute.ts'), quickFlag, path.join(tmp, 'precompute.json'));
});
const storage = await child<Result<typeof runStorageBench>>('storage');
const train = await child<Result<typeof runTrainBench>>('train');
const scaling = await child<Result<typeof runScalingBench>>('scaling');
const parquet = await child<Result<typeof runParquetBench>>('parquet');
const writer = await child<Result<typeof runWriterBench>>('writer');

const versions = Object.fromEntries(['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-node', 'apache-arrow', 'parquet-wasm', 'parquetjs-lite']
  .map((p) => [p, json<{ version: string }>(path.resolve('node_modules', p, 'package.json')).version]));

/** The headline figures, each read from the section that measured it. */
function headline(): [string, string][] {
  const out: [string, string][] = [];
  for (const t of precompute?.throughput ?? []) {
    const noSpin = t.ratioVsNoSpin !== undefined ? `; ${t.ratioVsNoSpin.toFixed(2)} vs a no-spin session.run` : '';
    out.push([`precompute / session.run, ${t.case}, ${t.format}`, `${t.ratio.toFixed(2)} (${t.precomputeRowsPerSecond.toFixed(0)} vs ${t.sessionRunRowsPerSecond.toFixed(0)} rows/s${noSpin})`]);
  }
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  for (const v of [precompute?.vocabRss ?? []].flat()) {
    out.push([`precompute peak RSS, topk at V=${v.vocab}, T=${v.seqLen}, ${v.rows} rows`, `${mib(v.maxRssBytes)} MiB (the rows' full f32 logits alone: ${mib(v.fullLogitsBytes)} MiB)`]);
  }
  const size = (c: string, t: string) => precompute?.sizes?.find((s) => s.case.startsWith(c) && s.targets === t && s.format === 'parquet');
  const full = size('moby-dick', 'full f32');
  for (const t of ['topk k=32 f16', 'sampled n=32']) {
    const s = size('moby-dick', t);
    if (s && full) out.push([`cache bytes/token, ${t} (parquet)`, `${s.bytesPerUnit.toFixed(1)} B, ${(full.bytesPerUnit / s.bytesPerUnit).toFixed(0)}x smaller than full f32`]);
  }
  for (const [k, v] of Object.entries(storage?.parquetOverArrow ?? {})) if (/topk k=32|mnist topk/.test(k)) out.push([`loader read rows/s parquet / arrow, ${k}`, v.toFixed(2)]);
  for (const s of train?.steps ?? []) {
    out.push([`${s.backend} train ${s.case} b${s.batch}`, `${s.trainGflops.median.toFixed(2)} GFLOP/s (${s.trainGflopsPerCpuSecond.median.toFixed(2)} per CPU-s), ${s.rowsPerSecond.median.toFixed(0)} rows/s; ${(s.trainOverOnnx1Thread.median * 100).toFixed(1)}% of ort 1-thread inference GFLOP/s`]);
  }
  const mlps = (train?.steps ?? []).filter((s) => s.backend === 'wasm' && s.case.startsWith('mlp'));
  if (mlps.length) {
    const best = mlps.reduce((a, b) => (b.trainGflops.median > a.trainGflops.median ? b : a));
    out.push(['wasm MLP target >= 20 GFLOP/s', `best ${best.trainGflops.median.toFixed(2)} GFLOP/s (${best.case} b${best.batch}): ${best.trainGflops.median >= 20 ? 'met' : 'NOT met'}`]);
  }
  const lvt = (train?.steps ?? []).filter((s) => s.loaderOverTrainer);
  if (lvt.length) {
    const worst = lvt.reduce((a, b) => (b.loaderOverTrainer!.median < a.loaderOverTrainer!.median ? b : a));
    out.push(['loader / trainer rows/s (worst wasm case, target >= 20)', `${worst.loaderOverTrainer!.median.toFixed(1)} (${worst.case} b${worst.batch})`]);
  }
  for (const [stage, f] of Object.entries(scaling?.flatness ?? {})) {
    out.push([`scaling ${stage} 1x-16x rows`, `${f.setupSeconds.toFixed(1)} s + ${f.msPerRow.toFixed(3)} ms/row (R^2 ${f.r2.toFixed(3)}), peak RSS 16x/1x ${f.peakRss16xOver1x.toFixed(2)}`]);
  }
  // the widest encoder pool measured: what a machine with cores to spare gets
  for (const w of writer?.writer ?? []) {
    if (w.threads !== Math.max(...(writer?.writer ?? []).map((x) => x.threads))) continue;
    if (!/full f32|topk k=32/.test(w.targets) || w.layout === 'lists') continue;
    const steady = w.steadyWriterOverTeacher !== undefined ? `, ${w.steadyWriterOverTeacher.toFixed(1)} steady (open cache to last shard)` : '';
    out.push([`writer alone / CPU teacher rows/s, ${w.case}, ${w.targets}, ${w.format} (target >= 5)`, `${w.writerOverTeacher.toFixed(1)} wall (${w.writerRowsPerSecond.median.toFixed(0)} vs ${w.teacherRowsPerSecond.median.toFixed(0)} rows/s, ${w.threads} encoder threads)${steady}, ${w.cpuWriterOverTeacher.toFixed(1)} per CPU-second`]);
  }
  if (parquet) out.push(['parquetjs-lite / parquet-wasm (SNAPPY)', `write x${parquet.ratios.writeJsOverWasmSnappy!.toFixed(1)}, read x${parquet.ratios.readJsOverWasmSnappy!.toFixed(1)}, bytes x${parquet.ratios.bytesJsOverWasmSnappy!.toFixed(2)}`]);
  return out;
}

const summary = headline();
const total = +((performance.now() - started) / 1000).toFixed(1);
printTable(`headline figures (medians; full tables above)`, ['figure', 'value'], summary);
writeJson(args.out, {
  quick: args.quick, command: `npm run bench${args.quick ? ' -- --quick' : ''}`, startedAt: machine.date, loadAverageAtStart: machine.loadAverage,
  backends: train?.backends, failures, versions, loadAverageAtEnd: machineInfo().loadAverage, seconds: { ...seconds, total },
  headline: Object.fromEntries(summary), precompute, storage, train, scaling, parquet, writer,
});
rmSync(tmp, { recursive: true, force: true });
console.log(`\nwrote ${path.relative(process.cwd(), args.out)} in ${total} s (${Object.entries(seconds).map(([k, v]) => `${k} ${v} s`).join(', ')})`);
if (Object.keys(failures).length > 0) {
  console.log(`FAILED sections: ${Object.keys(failures).join(', ')}`);
  process.exitCode = 1;
}
