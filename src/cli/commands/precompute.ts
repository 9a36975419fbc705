import type { Command } from 'commander';
import { loadRecipe } from '../../recipe/index.js';
import { precompute } from '../../precompute/index.js';
import { runCommand, type CommonFlags } from '../run.js';

export function registerPrecompute(program: Command): void {
  program
    .command('precompute')
    .description('run the ONNX teacher once over the dataset and cache its soft targets')
    .argument('<recipe>', 'YAML recipe')
    .argument('[overrides...]', 'key.path=value overrides, values parsed as YAML')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (file: string, overrides: string[], flags: CommonFlags) => {
      await runCommand(flags, async () => precompute(loadRecipe(file, overrides), { progress: true }), (s) =>
        s.hit
          ? `cache hit: ${s.cacheDir} (${s.rows} rows, ${s.shards} shards, ${formatBytes(s.bytes)}); no teacher ran`
          : `cached ${s.rows} rows in ${s.shards} shards (${formatBytes(s.bytes)}) at ${s.cacheDir}; ${Math.round(s.rowsPerSecond)} rows/s`);
    });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
