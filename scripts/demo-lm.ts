/**
 * LLM-style distillation end to end with a real 32k tokenizer (`npm run demo:lm`): the gpt teacher
 * kennis trained on moby-dick tokenized with the Llama 2 tokenizer (data/teachers/lm-llama2-teacher.onnx,
 * built by scripts/make-lm-llama2-teacher.ts when missing) -> small gpt students at EQUAL steps from
 *   baseline          hard next-token labels only (alpha = 0)
 *   full              all 32,000 logits (float16)
 *   topk-ghost        top-k logits + exact logsumexp, tail mass in a ghost bucket
 *   topk-renormalize  the same cache, renormalized over the k ids
 *   sampled           n draws per position from the teacher, as ids + counts
 * over several seeds; exports each student, scores all with `kennis eval` on the test split
 * (bits per byte over the decoded bytes of the scored tokens, top-1 agreement and KL to the
 * teacher), and writes <out>/report.html and <out>/results.json with the bytes per token of each
 * cache. Every stage is its own process (src/experiment runStage). `--recipe recipes/lm-topk.yaml`
 * runs the same comparison on the byte-level teacher.
 *
 *   npx tsx scripts/demo-lm.ts [--seeds 3] [--steps 60] [--parallel 2] [--out runs/lm-llama2] [--set key=value ...] [--eval-limit n] [--reuse] [--validation]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { coresPerProcess } from '../src/train/backend/index.js';
import { readManifest, type CacheInfo, type Manifest } from '../src/cache/index.js';
import type { ModelEval } from '../src/evaluate/eval/index.js';
import { readRun, runStage } from '../src/experiment/index.js';
import type { PrecomputeSummary } from '../src/precompute/index.js';
import { datasetSpecOfSection, loadRecipe } from '../src/recipe/index.js';
import { writeReport, type ReportModel } from '../src/evaluate/report/index.js';
import type { TrainSummary } from '../src/train/index.js';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    steps: { type: 'string' },
    parallel: { type: 'string', default: '2' },
    out: { type: 'string', default: 'runs/lm-llama2' },
    recipe: { type: 'string', default: 'recipes/lm-llama2.yaml' },
    /** Overrides applied to every stage, e.g. --set dataset.limit=32. */
    set: { type: 'string', multiple: true, default: [] },
    /** Score only the first n test windows (default: the whole test split). */
    'eval-limit': { type: 'string' },
    /** Reuse a finished student (summary.json + student.onnx) instead of training it again. */
    reuse: { type: 'boolean', default: false },
    /** Also cache the validation split, so each run reports validation bits per byte (a full cache of it is another ~8 MB per window). */
    validation: { type: 'boolean', default: false },
  },
});
const seeds = Array.from({ length: Number(args.seeds) }, (_, i) => i + 1);
const common = [...args.set!, ...(args.steps ? [`train.max_steps=${args.steps}`] : [])];
const outDir = resolve(args.out!);
const started = performance.now();
const log = (m: string) => process.stderr.write(`demo-lm: ${m}\n`);
const loaded = loadRecipe(args.recipe!, common);
const teacherPath = resolve(loaded.baseDir, loaded.recipe.teacher.path);

// 0. the 32k teacher is ~37 MB, so it is built (by kennis, ~20 min) rather than committed
if (!existsSync(teacherPath) && teacherPath.endsWith('lm-llama2-teacher.onnx')) {
  log(`${teacherPath} is missing: building it with scripts/make-lm-llama2-teacher.ts`);
  const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/make-lm-llama2-teacher.ts', '--out', teacherPath], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) throw new Error(`scripts/make-lm-llama2-teacher.ts failed (exit ${built.status})`);
}

/** Soft targets a cache holds. */
type TargetKind = 'full' | 'topk' | 'sampled';
const TARGETS: Record<TargetKind, string[]> = {
  full: ['targets.kind=full', 'targets.dtype=float16'],
  topk: ['targets.kind=topk'],
  sampled: ['targets.kind=sampled'],
};

/** One student configuration; all share the student, budget and seeds. */
interface Variant { name: string; cache: TargetKind; overrides: string[]; targets: string }
const t = loaded.recipe.targets;
const VARIANTS: Variant[] = [
  { name: 'baseline', cache: 'topk', overrides: ['distill.alpha=0'], targets: 'labels only' },
  { name: 'full', cache: 'full', overrides: [], targets: 'all logits, float16' },
  { name: 'topk-ghost', cache: 'topk', overrides: ['distill.tail=ghost'], targets: `top-${t.k} + logsumexp, ghost tail` },
  { name: 'topk-renormalize', cache: 'topk', overrides: ['distill.tail=renormalize'], targets: `top-${t.k}, renormalized` },
  { name: 'sampled', cache: 'sampled', overrides: [], targets: `${t.samples} sampled ids + counts` },
];

/** Uncompressed bytes per token of the soft targets alone (inputs and labels excluded). */
function targetBytesPerToken(m: Manifest): number {
  const t = m.targets;
  const id = t.idDtype === 'uint8' ? 1 : t.idDtype === 'uint16' ? 2 : 4;
  const value = t.valueDtype === 'float16' ? 2 : 4;
  if (t.kind === 'topk') return t.k! * (id + value) + 4;
  if (t.kind === 'sampled') return t.samples! * (id + (t.samples! <= 255 ? 1 : 2));
  return t.vocab * value;
}

// 1. the teacher runs once per target kind and split; training never loads it
const caches = {} as Record<TargetKind, { summary: PrecomputeSummary; info: CacheInfo; targetBytes: number }>;
for (const kind of Object.keys(TARGETS) as TargetKind[]) {
  const overrides = [...common, ...TARGETS[kind]];
  const summary = await runStage(`precompute ${kind}`, { stage: 'precompute', recipe: args.recipe!, overrides });
  if (args.validation) await runStage(`precompute ${kind} validation`, { stage: 'precompute', recipe: args.recipe!, overrides: [...overrides, 'dataset.split=validation'] });
  const info = await runStage(`cache info ${kind}`, { stage: 'cache-info', dir: summary.cacheDir });
  caches[kind] = { summary, info, targetBytes: targetBytesPerToken(await readManifest(summary.cacheDir)) };
  log(`${kind} cache: ${summary.rows} rows, ${info.bytesPerToken!.toFixed(1)} bytes/token on disk, ${caches[kind].targetBytes} bytes/token of raw targets ` +
    `(full float32 logits: ${info.fullFloat32BytesPerRow / info.seqLen!}); teacher next-token accuracy ${info.teacherAccuracy?.toFixed(4)}; ${summary.seconds.toFixed(0)} s`);
}

// 2. every variant x seed at equal steps, `parallel` students at a time, each exported to ONNX
// (the demo owns its run directories: a rerun without --reuse replaces them)
interface Trained { variant: Variant; seed: number; dir: string; summary: TrainSummary; onnx: string }
const limit = pLimit(Number(args.parallel));
// the parallel trainers share the cores out
const threads = `train.threads=${coresPerProcess(Number(args.parallel))}`;
const trained: Trained[] = await Promise.all(seeds.flatMap((seed) => VARIANTS.map((variant) => limit(async (): Promise<Trained> => {
  const dir = join(outDir, variant.name, `seed-${seed}`);
  const onnx = join(dir, 'student.onnx');
  const label = `${variant.name} seed ${seed}`;
  if (args.reuse && existsSync(join(dir, 'summary.json')) && existsSync(onnx)) {
    return { variant, seed, dir, onnx, summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as TrainSummary };
  }
  const overrides = [threads, ...common, ...TARGETS[variant.cache], ...variant.overrides, `student.seed=${seed}`, `train.seed=${seed}`, `output.dir=${dir}`];
  const summary = await runStage(label, { stage: 'train', recipe: args.recipe!, overrides, overwrite: true });
  await runStage(`export ${label}`, { stage: 'export', run: dir });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  log(`${label}: ${summary.steps} steps in ${summary.seconds.toFixed(0)} s${summary.finalEval ? `, validation ${summary.finalEval.bits_per_byte?.toFixed(4)} bits/byte` : ''}`);
  return { variant, seed, dir, onnx, summary };
}))));

// 3. one eval pass over the test split: the teacher first, so agreement and KL are to the teacher
const ds = loaded.recipe.dataset;
// the whole test split unless --eval-limit (dataset.limit sizes the training caches only)
const { limit: _trainRows, ...testSection } = ds;
const testSpec = datasetSpecOfSection({ ...testSection, ...(args['eval-limit'] ? { limit: Number(args['eval-limit']) } : {}) }, loaded.baseDir, 'test');
const evaluation = await runStage('eval', { stage: 'eval', models: [teacherPath, ...trained.map((t) => t.onnx)], options: { dataset: testSpec, repeats: 3 } });
const [teacherEval, ...studentEvals] = evaluation.models as [ModelEval, ...ModelEval[]];

// 4. mean ± std over seeds
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const rows = VARIANTS.map((variant) => {
  const mine = trained.map((t, i) => ({ t, e: studentEvals[i]! })).filter(({ t }) => t.variant === variant);
  const bpb = mine.map(({ e }) => e.bitsPerByte!);
  const agreement = mine.map(({ e }) => e.agreement);
  const kl = mine.map(({ e }) => e.klToReference);
  const cache = caches[variant.cache];
  const baseline = variant.name === 'baseline';
  return {
    name: variant.name, targets: variant.targets, overrides: variant.overrides,
    targetBytesPerToken: baseline ? 0 : cache.targetBytes, cacheBytesPerToken: cache.info.bytesPerToken!,
    bitsPerByte: { mean: mean(bpb), std: std(bpb) }, agreement: { mean: mean(agreement), std: std(agreement) }, klToTeacher: { mean: mean(kl), std: std(kl) },
    parameters: mine[0]!.e.parameters, fileBytes: mine[0]!.e.fileBytes, latencyMs: mean(mine.map(({ e }) => e.latencyMsPerSample)),
    trainSeconds: mean(mine.map(({ t }) => t.summary.seconds)), steps: mine[0]!.t.summary.steps, tokensPerRun: mine[0]!.t.summary.tokens,
    seeds: mine.map(({ t, e }) => ({ seed: t.seed, bitsPerByte: e.bitsPerByte!, agreement: e.agreement, klToTeacher: e.klToReference, validationBitsPerByte: t.summary.finalEval?.bits_per_byte, dir: t.dir })),
  };
});
const base = rows[0]!;
const best = rows.slice(1).reduce((a, b) => (b.bitsPerByte.mean < a.bitsPerByte.mean ? b : a));
const teacherBpb = teacherEval.bitsPerByte!;
const gain = base.bitsPerByte.mean - best.bitsPerByte.mean;
const gapClosed = gain / (base.bitsPerByte.mean - teacherBpb);
const fullBytes = caches.topk.info.fullFloat32BytesPerRow / caches.topk.info.seqLen!;
const pm = (s: { mean: number; std: number }, d = 4) => `${s.mean.toFixed(d)} ± ${s.std.toFixed(d)}`;
const headline = `Equal steps (${base.steps} x ${base.tokensPerRun / base.steps} tokens), ${seeds.length} seed(s): best distilled (${best.name}) ${best.bitsPerByte.mean.toFixed(4)} vs baseline ${base.bitsPerByte.mean.toFixed(4)} bits/byte on the test split ` +
  `(${gain >= 0 ? '-' : '+'}${Math.abs(gain).toFixed(4)}, ${(100 * gapClosed).toFixed(0)}% of the gap to the teacher's ${teacherBpb.toFixed(4)}).`;
// Anshumann et al. 2025: sampled targets at a small fraction of the full cache's size match full-logit KD
const row = (name: string) => rows.find((r) => r.name === name)!;
const sampledVsFull = {
  diskBytesRatio: caches.sampled.info.bytesPerToken! / caches.full.info.bytesPerToken!,
  targetBytesRatio: caches.sampled.targetBytes / caches.full.targetBytes,
  relativeBitsPerByte: row('sampled').bitsPerByte.mean / row('full').bitsPerByte.mean - 1,
};
const claims = {
  gapClosedAtLeast25: gapClosed >= 0.25,
  sampledAtMostTenthOfFull: sampledVsFull.diskBytesRatio <= 0.1,
  sampledWithin1PercentOfFull: Math.abs(sampledVsFull.relativeBitsPerByte) <= 0.01,
};
const claim = `Sampled vs full: ${(100 * sampledVsFull.diskBytesRatio).toFixed(2)}% of the full cache's bytes/token on disk, ` +
  `${(100 * sampledVsFull.relativeBitsPerByte).toFixed(2)}% bits/byte relative to the full-logit student: ` +
  `${claims.sampledWithin1PercentOfFull && claims.sampledAtMostTenthOfFull ? 'reproduced' : 'not reproduced'} (claim: <= 1/10 the bytes, within 1%).`;

// 5. results.json, report.html, the table
mkdirSync(outDir, { recursive: true });
const results = {
  teacher: { file: teacherPath, bitsPerByte: teacherBpb, parameters: teacherEval.parameters, fileBytes: teacherEval.fileBytes },
  dataset: { name: ds.name, seqLen: ds.seq_len, evalSplit: 'test', positions: evaluation.positions },
  student: loaded.recipe.student, distill: { alpha: loaded.recipe.distill.alpha, temperature: loaded.recipe.distill.temperature },
  train: { steps: base.steps, batchSize: loaded.recipe.train.batch_size, lr: loaded.recipe.train.lr },
  fullFloat32BytesPerToken: fullBytes, seeds, variants: rows,
  caches: Object.fromEntries((Object.keys(caches) as TargetKind[]).map((k) => [k, {
    dir: caches[k].summary.cacheDir, rows: caches[k].summary.rows, diskBytes: caches[k].info.bytes, diskBytesPerToken: caches[k].info.bytesPerToken, targetBytesPerToken: caches[k].targetBytes,
  }])),
  best: best.name, gainBitsPerByte: gain, gapClosed, headline, sampledVsFull, claims, claim,
  command: `npx tsx scripts/demo-lm.ts --recipe ${args.recipe} --seeds ${seeds.length} --parallel ${args.parallel}${args.steps ? ` --steps ${args.steps}` : ''}` +
    `${args['eval-limit'] ? ` --eval-limit ${args['eval-limit']}` : ''}${args.validation ? ' --validation' : ''}${args.reuse ? ' --reuse' : ''}${args.set!.map((s) => ` --set ${s}`).join('')} --out ${args.out}`,
  seconds: Math.round((performance.now() - started) / 1000),
};
writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
const toModel = (r: typeof rows[number]): ReportModel => ({
  name: r.name, params: r.parameters, bytes: r.fileBytes, latencyMs: r.latencyMs,
  metrics: { bits_per_byte: r.bitsPerByte.mean, bits_per_byte_std: r.bitsPerByte.std, agreement: r.agreement.mean, kl_to_teacher: r.klToTeacher.mean, target_bytes_per_token: r.targetBytesPerToken },
});
const report = join(outDir, 'report.html');
writeReport(report, {
  title: `kennis: LLM-style distillation on ${ds.name} (${ds.tokenizer ?? 'bytes'}, V = ${caches.topk.info.vocab ?? ''})`,
  subtitle: `teacher ${loaded.recipe.teacher.path} (${teacherEval.parameters.toLocaleString('en-US')} parameters); gpt students d_model ${loaded.recipe.student?.d_model}, ${loaded.recipe.student?.layers} layers; ` +
    `alpha ${loaded.recipe.distill.alpha}, T ${loaded.recipe.distill.temperature}; curves of seed ${seeds[0]}`,
  notes: [
    headline,
    claim,
    ...rows.map((r) => `${r.name} (${r.targets}, ${r.targetBytesPerToken} target bytes/token, ${r.cacheBytesPerToken.toFixed(1)} on disk): ${pm(r.bitsPerByte)} bits/byte, agreement ${pm(r.agreement)}.`),
    `Full float32 logits would take ${fullBytes} bytes/token; caches on disk (ZSTD Parquet, with input_ids and labels): ` +
      (Object.keys(caches) as TargetKind[]).map((k) => `${k} ${caches[k].info.bytesPerToken!.toFixed(1)}`).join(', ') + ' bytes/token.',
  ],
  headline: { metric: 'bits_per_byte', label: 'test bits per byte', lowerIsBetter: true },
  runs: VARIANTS.map((v) => readRun(v.name, trained.find((t) => t.variant === v && t.seed === seeds[0])!.dir)),
  models: [{ name: 'teacher', params: teacherEval.parameters, bytes: teacherEval.fileBytes, latencyMs: teacherEval.latencyMsPerSample, metrics: { bits_per_byte: teacherBpb, agreement: 1, kl_to_teacher: 0 } }, ...rows.map(toModel)],
  tradeoffs: {
    title: 'Soft-target bytes per token vs test bits per byte', xName: 'raw target bytes per token', yName: 'test bits per byte',
    points: rows.map((r) => ({ x: r.targetBytesPerToken, y: r.bitsPerByte.mean, label: r.name })),
  },
});
const table = [
  ['student', 'targets', 'target B/token', 'cache B/token on disk', 'test bits/byte', 'agreement', 'KL to teacher'],
  ['teacher', '-', '-', '-', teacherBpb.toFixed(4), '-', '-'],
  ...rows.map((r) => [r.name, r.targets, String(r.targetBytesPerToken), r.name === 'baseline' ? '-' : r.cacheBytesPerToken.toFixed(1), pm(r.bitsPerByte), pm(r.agreement), pm(r.klToTeacher, 3)]),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
console.log(table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n'));
console.log(`\n${headline}\n${claim}\nfull float32 logits: ${fullBytes} bytes/token. report: ${report}\nresults: ${join(outDir, 'results.json')} (${results.seconds} s)`);
