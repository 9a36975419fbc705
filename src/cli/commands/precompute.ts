import type { Command } from 'commander';
import type { PrecomputeSummary } from '../../precompute/index.js';
import { runCommand, type CommonFlags } from '../run.js';

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
      await runCommand(flags, async () => {
        // loaded on demand: a bad flag or recipe is reported without loading the teacher runtime
        const { resolveWorker } = await import('../../precompute/distributed/env.js');
        const worker = resolveWorker(flags.worker);
        const { loadRecipe } = await import('../../recipe/index.js');
        const loaded = loadRecipe(file, overrides);
        const { precompute } = await import('../../precompute/index.js');
        return precompute(loaded, { progress: true, ...(worker ? { worker: { index: worker.index, count: worker.count } } : {}) });
      }, describe);
    });
}

function describe(s: PrecomputeSummary): string {
  if (s.hit) return `cache hit: ${s.cacheDir} (${s.rows} rows, ${s.shards} shards, ${formatBytes(s.bytes)}); no teacher ran`;
  const line = `cached ${s.rows} rows in ${s.shards} shards (${formatBytes(s.bytes)}) at ${s.cacheDir}; ${Math.round(s.rowsPerSecond)} rows/s`;
  const w = s.worker;
  if (!w) return line;
  const range = w.endShard > w.firstShard ? `shards ${w.firstShard}-${w.endShard - 1}` : 'no shards';
  return `worker ${w.index}/${w.count} (${range}): ${line}\n${w.merged ? `merged: ${s.cacheDir}/manifest.json is complete` : `not merged yet: ${w.mergeNote}`}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
