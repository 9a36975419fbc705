import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { positiveInt } from '../options.js';
import { runCommand, stderrReporter, type CommonFlags } from '../run.js';

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('train a grid of students from one cache (key=v1,v2,... axes), export and score each, write results.md/.json and report.html')
    .argument('<recipe>', 'YAML recipe')
    .argument('[grid...]', 'key.path=v1,v2,... (an axis) or key.path=value (for every cell); values parsed as YAML')
    .option('--seeds <n>', 'train every grid point with seeds 1..n', positiveInt)
    .option('--parallel <n>', 'students trained at once', positiveInt)
    .option('--overwrite', 'retrain cells whose directory holds a run of other settings')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (file: string, grid: string[], flags: CommonFlags & { seeds?: number; parallel?: number; overwrite?: boolean }) => {
      await runCommand(flags, (api) => api.sweep(file, grid, {
        onLog: stderrReporter.onLog, ...(flags.seeds ? { seeds: flags.seeds } : {}), ...(flags.parallel ? { parallel: flags.parallel } : {}), overwrite: flags.overwrite ?? false,
      }), (s) => [
        readFileSync(s.table, 'utf8').trimEnd(), '',
        `${s.cells.length} students (${s.cells.filter((c) => c.reused).length} reused from an earlier run) in ${s.seconds.toFixed(0)} s`,
        `results: ${s.table}, ${s.results}; report: ${s.report}`,
      ].join('\n'));
    });
}
