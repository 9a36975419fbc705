import type { Command } from 'commander';
import type { PrecomputeSummary } from '../../index.js';
import { runCommand, stderrReporter, type Api, type CommonFlags } from '../run.js';

interface PrecomputeFlags extends CommonFlags {
  /** `i/n`, or `auto` to read the worker from Kubernetes / Slurm variables. */
  worker?: string;
}

export function registerPrecompute(program: Command): void {
  program
    .command('precompute')
    .description('run the ONNX teacher once over the dataset and cache its soft targets')
    .argument('<recipe>', 'YAML recipe')
    .argument('[overrides...]', 'key.path=value overrides, values parsed as YAML')
    .option('--worker <i/n|auto>', 'compute only worker i of n\'s range of shards (0-based) into the shared cache dir; auto: from JOB_COMPLETION_INDEX + KENNIS_WORKER_COUNT or SLURM_ARRAY_TASK_ID/COUNT/MIN (see docs/distributed.md)')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (file: string, overrides: string[], flags: PrecomputeFlags) => {
      await runCommand(flags, async (api) => {
                const { loadRecipe, precompute, resolveWorker } = api;
        const worker = resolveWorker(flags.worker);
        const loaded = loadRecipe(file, overrides);
        return precompute(loaded, { onWarning: stderrReporter.onWarning, progress: true, ...(worker ? { worker: { index: worker.index, count: worker.count } } : {}) });
      }, describe);
    });
}

function describe(s: PrecomputeSummary, api: Api): string {
  if (s.hit) return `cache hit: ${s.cacheDir} (${s.rows} rows, ${s.shards} shards, ${api.formatBytes(s.bytes)}); no teacher ran`;
  const line = `cached ${s.rows} rows in ${s.shards} shards (${api.formatBytes(s.bytes)}) at ${s.cacheDir}; ${Math.round(s.rowsPerSecond)} rows/s`;
  const w = s.worker;
  if (!w) return line;
  const range = w.endShard > w.firstShard ? `shards ${w.firstShard}-${w.endShard - 1}` : 'no shards';
  return `worker ${w.index}/${w.count} (${range}): ${line}\n${w.merged ? `merged: ${s.cacheDir}/manifest.json is complete` : `not merged yet: ${w.mergeNote}`}`;
}
